import Foundation
import Testing
import SparrowEmulator

/// Accesses a real MCU would fault on (or silently corrupt) stop the run with a
/// report naming the core, pc, instruction and address.
@Suite struct FaultTests {
    static func fault(_ body: String) throws -> EmulatorFault {
        let elf = try RV32.build(c: "#include <stdint.h>\nint main(void) {\n\(body)\nreturn 0;\n}\n")
        let m = Machine(target: RV32.target)
        try m.load(try ELFImage(elf))
        m.describeAddress = { $0 >= 0x2000_0000 && $0 < 0x2010_0000 ? "flash" : nil }
        guard case .fault(let f) = m.run(limit: 1_000_000) else { throw RV32.Failure(description: "the program did not fault") }
        return f
    }

    @Test func writeOutsideEveryRegion() throws {
        let f = try Self.fault("*(volatile uint32_t *)0x30000010u = 1;")
        #expect(f.kind == .outOfBounds && f.address == 0x3000_0010 && f.core == 0)
        #expect(f.description.contains("0x30000010"))
    }

    @Test func writeToFlash() throws {
        let f = try Self.fault("*(volatile uint32_t *)0x20000100u = 1;")
        #expect(f.kind == .writeToFlash && f.address == 0x2000_0100 && f.location == "flash")
        #expect(f.pc >= 0x2000_0000 && f.instruction != 0)
    }

    @Test func misalignedLoad() throws {
        let f = try Self.fault("volatile uint32_t x = *(volatile uint32_t *)0x10000002u; (void)x;")
        #expect(f.kind == .misaligned && f.address == 0x1000_0002)
    }

    @Test func illegalInstruction() throws {
        let f = try Self.fault("__asm__ volatile(\".word 0xffffffff\");")
        #expect(f.kind == .illegalInstruction && f.instruction == 0xFFFF_FFFF)
    }

    /// Encodings of extensions the target lacks decode as illegal.
    @Test func disabledExtensionIsIllegal() throws {
        var noFloat = RV32.target
        noFloat.march = "rv32imc"
        let elf = try RV32.build(c: "int main(void) { volatile float a = 1.5f; return (int)(a * 2.0f); }")
        let m = Machine(target: noFloat)
        try m.load(try ELFImage(elf))
        guard case .fault(let f) = m.run(limit: 1_000_000) else { Issue.record("expected a fault"); return }
        #expect(f.kind == .illegalInstruction)
    }
}
