import Foundation
import SparrowEmulator
import SparrowExport
import SparrowPlanner

/// Compiles C (and optional assembly) for rv32 with the toolchain's clang into a
/// freestanding image with a minimal start-up, and runs it in the emulator.
enum RV32 {
    static let clang = toolchainClang() ?? "clang"

    static let target = Target(
        name: "test", summary: "test cluster", cores: 1, clockHz: 100_000_000, march: "rv32imfc_zfh", mabi: "ilp32f",
        flash: .init(origin: 0x2000_0000, bytes: 1 << 20), l2: .init(origin: 0x1C00_0000, bytes: 1 << 16),
        l1: .init(origin: 0x1000_0000, bytes: 1 << 16), l1Banks: 16, stackBytes: 8192, peripherals: 0x1A00_0000)

    static let linkerScript = """
    OUTPUT_ARCH(riscv)
    ENTRY(_start)
    MEMORY {
      FLASH (rx) : ORIGIN = 0x20000000, LENGTH = 1M
      L2 (rw) : ORIGIN = 0x1C000000, LENGTH = 64K
      L1 (rw) : ORIGIN = 0x10000000, LENGTH = 64K
    }
    SECTIONS {
      .text : { KEEP(*(.text.start)) *(.text .text.*) } > FLASH
      .rodata : { *(.rodata .rodata.* .srodata .srodata.*) } > FLASH
      .data : ALIGN(16) { __data_start = .; *(.data .data.* .sdata .sdata.*) . = ALIGN(16); __data_end = .; } > L1 AT > FLASH
      __data_load = LOADADDR(.data);
      .bss (NOLOAD) : ALIGN(16) { __bss_start = .; *(.bss .bss.* .sbss .sbss.* COMMON) . = ALIGN(16); __bss_end = .; } > L1
      __stack_top = ORIGIN(L1) + LENGTH(L1);
    }
    """

    static let start = """
        .section .text.start, "ax"
        .global _start
    _start:
        la sp, __stack_top
        li t1, 0x2000
        csrs mstatus, t1
        la t1, __data_load
        la t2, __data_start
        la t3, __data_end
    1:  bgeu t2, t3, 2f
        lw t4, 0(t1)
        sw t4, 0(t2)
        addi t1, t1, 4
        addi t2, t2, 4
        j 1b
    2:  la t2, __bss_start
        la t3, __bss_end
    3:  bgeu t2, t3, 4f
        sw zero, 0(t2)
        addi t2, t2, 4
        j 3b
    4:  call main
        li t1, 0x1A000000
        sw a0, 0(t1)
    5:  j 5b
    """

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Builds `source` (C) for rv32 with `flags`, returns the ELF bytes.
    /// Start-up for several cores: each takes its own 4 KB stack below the top of L1;
    /// only core 0 initialises .data and .bss, the others go straight to main.
    static let multicoreStart = start.replacingOccurrences(of: "    la sp, __stack_top\n", with: """
        la sp, __stack_top
        csrr t0, mhartid
        slli t0, t0, 12
        sub sp, sp, t0
        bnez t0, 4f

    """)

    static func build(c source: String, flags: [String] = ["-O2"], march: String = "rv32imfc_zfh", start: String = start) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-rv32-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try source.write(to: dir.appendingPathComponent("prog.c"), atomically: true, encoding: .utf8)
        try start.write(to: dir.appendingPathComponent("start.S"), atomically: true, encoding: .utf8)
        try linkerScript.write(to: dir.appendingPathComponent("link.ld"), atomically: true, encoding: .utf8)
        let args = ["--target=riscv32-unknown-elf", "-march=\(march)", "-mabi=ilp32f", "-mno-relax", "-ffreestanding", "-nostdlib",
                    "-fuse-ld=lld", "-Wl,-T,link.ld", "-ffp-contract=off", "-fno-math-errno", "start.S", "prog.c", "-o", "prog.elf"] + flags
        let p = Process()
        p.executableURL = URL(fileURLWithPath: clang)
        p.arguments = args
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "clang failed:\n\(out)") }
        return [UInt8](try Data(contentsOf: dir.appendingPathComponent("prog.elf")))
    }

    /// Runs an image to its exit; returns the exit code and the console output.
    static func run(_ elf: [UInt8], target: Target = target) throws -> (code: Int32, console: String, machine: Machine) {
        let m = Machine(target: target)
        try m.load(try ELFImage(elf))
        switch m.run(limit: 500_000_000) {
        case .exited(let code): return (code, String(decoding: m.console, as: UTF8.self), m)
        case .fault(let f): throw Failure(description: "fault: \(f)\nconsole: \(String(decoding: m.console, as: UTF8.self))")
        }
    }
}
