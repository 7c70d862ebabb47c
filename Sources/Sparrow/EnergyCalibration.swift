import Foundation

/// The energy model's calibration against a chip's published efficiency.
///
/// A peak-rate matrix-multiply inner loop (a 4 × 4 register block: 8 word loads
/// from L1 and 16 multiply-add or dot-product instructions per iteration, on every
/// core) runs in the emulator for each kind of arithmetic the target has, and its
/// operations per joule are compared with the chip's published figure
/// (`Target.efficiency`). ``Measurement/solvedPicojoules`` is the per-instruction
/// energy of the arithmetic class that makes the kernel land exactly on the figure,
/// everything else of the model held fixed: how the target files' `fp32`,
/// `fp16_simd` and `simd` energies were set (docs/target-format.md).
public enum EnergyCalibration {
    /// One kernel's measurement.
    public struct Measurement: Codable, Sendable {
        /// The kind of arithmetic measured: a `Target.Arithmetic` raw value (`fp32`, `fp16`, `int8`).
        public var arithmetic: String
        /// Measured efficiency in operations per second per watt (operations per
        /// joule; a multiply-add counts 2), with the target's current energy model.
        ///
        /// Plain ops/s/W, not giga: divide by 1e9 to compare with ``published``.
        public var opsPerWatt: Double
        /// The chip's published efficiency for this arithmetic, as the target file gives
        /// it (`Target.efficiency`, in GOPS/W or GFLOPS/W); nil if none is known.
        public var published: Double?
        /// The energy per instruction of the arithmetic class, in pJ, that would land the
        /// kernel exactly on ``published`` with the rest of the energy model unchanged;
        /// nil without a published figure.
        public var solvedPicojoules: Double?
        /// Cycles of the whole program (start-up, both barriers and the loop on every core).
        public var cycles: UInt64
        /// Operations the arithmetic instructions did, on all cores (a multiply-add counts 2).
        public var operations: Double
        /// Energy of the whole program in µJ, every core and the DMA.
        public var microjoules: Double
    }

    static let iterations = 200

    /// The energy counter and operations per instruction of each arithmetic kind.
    static func instruction(_ a: Target.Arithmetic) -> (counter: Counter, opsPerInstruction: Double, path: WritableKeyPath<Target.Energy, Double>) {
        switch a {
        case .fp32: return (.fp32, 2, \.fp32)
        case .fp16: return (.fp16SIMD, 4, \.fp16SIMD)
        case .int8: return (.simd, 8, \.simd)
        }
    }

    /// Whether the target's cores execute the kernel of `a`.
    static func supports(_ t: Target, _ a: Target.Arithmetic) -> Bool {
        let isa = ([t.march] + t.extensions).joined(separator: "_")
        switch a {
        case .fp32: return t.hasFPU
        case .fp16: return t.hasFPU && isa.contains("xfvec")
        case .int8: return isa.contains("xcvsimd")
        }
    }

    /// The inner loop's 16 multiply-adds of `a`: accumulators 0–15 from operands a0–a3 × b0–b3.
    static func body(_ a: Target.Arithmetic) -> String {
        var lines: [String] = []
        for i in 0..<4 {
            for j in 0..<4 {
                switch a {
                case .fp32: lines.append("fmadd.s f\(i * 4 + j), f\(16 + i), f\(20 + j), f\(i * 4 + j)")
                case .fp16: lines.append(".insn r 0x33, 2, 0x48, f\(i * 4 + j), f\(16 + i), f\(20 + j)")
                case .int8: lines.append("cv.sdotsp.b x\([5, 6, 7, 28, 29, 30, 31, 9, 20, 21, 22, 23, 24, 25, 26, 27][i * 4 + j]), x\(10 + i), x\(14 + j)")
                }
            }
        }
        let load = a == .int8 ? "lw" : "flw"
        let regs = a == .int8 ? (0..<8).map { "x\(10 + $0)" } : (0..<8).map { "f\(16 + $0)" }
        let loads = (0..<8).map { "\(load) \(regs[$0]), \(4 * $0)(s2)" }
        return (loads + lines).map { "    \($0)\n" }.joined()
    }

    /// The program: every core runs `iterations` of the loop between two barriers.
    static func program(_ a: Target.Arithmetic, _ t: Target) -> (c: String, start: String, link: String) {
        let c = """
        #include <stdint.h>
        #define REG(o) (*(volatile uint32_t *)(\(String(format: "0x%08Xu", t.peripherals)) + (o)))
        static uint32_t operands[\(8 * t.cores)];
        void kernel(const uint32_t *p, int n);
        int main(void) {
          uint32_t id;
          __asm__ volatile("csrr %0, mhartid" : "=r"(id));
          REG(24) = \(t.cores);
          (void)REG(0x50);
          kernel(operands + 8 * id, \(iterations));
          (void)REG(0x50);
          if (id != 0) for (;;) __asm__ volatile("wfi");
          return 0;
        }
        """
        let start = """
            .section .text.start, "ax"
            .global _start
        _start:
            csrr t0, mhartid
            la sp, __stack_top
            li t1, \(t.stackBytes)
        0:  beqz t0, 1f
            sub sp, sp, t1
            addi t0, t0, -1
            j 0b
        1:  li t1, 0x2000
            csrs mstatus, t1
            call main
            li t1, \(String(format: "0x%08X", t.peripherals))
            sw a0, 0(t1)
        2:  j 2b

            .text
            .global kernel
        kernel:                 # a0: operands, a1: iterations (s2, s3 saved: the loop uses them)
            addi sp, sp, -48
            sw s2, 0(sp)
            sw s3, 4(sp)
            sw s1, 8(sp)
            sw s4, 12(sp)
            sw s5, 16(sp)
            sw s6, 20(sp)
            sw s7, 24(sp)
            sw s8, 28(sp)
            sw s9, 32(sp)
            sw s10, 36(sp)
            sw s11, 40(sp)
            mv s2, a0
            mv s3, a1
        3:
        \(body(a))    addi s3, s3, -1
            bnez s3, 3b
            lw s2, 0(sp)
            lw s3, 4(sp)
            lw s1, 8(sp)
            lw s4, 12(sp)
            lw s5, 16(sp)
            lw s6, 20(sp)
            lw s7, 24(sp)
            lw s8, 28(sp)
            lw s9, 32(sp)
            lw s10, 36(sp)
            lw s11, 40(sp)
            addi sp, sp, 48
            ret
        """
        let link = """
        OUTPUT_ARCH(riscv)
        ENTRY(_start)
        MEMORY {
          FLASH (rx) : ORIGIN = \(String(format: "0x%08X", t.flash.origin)), LENGTH = \(t.flash.bytes)
          L1 (rw) : ORIGIN = \(String(format: "0x%08X", t.l1.origin)), LENGTH = \(t.l1.bytes)
        }
        SECTIONS {
          .text : { KEEP(*(.text.start)) *(.text .text.*) } > FLASH
          .rodata : { *(.rodata .rodata.*) } > FLASH
          .bss (NOLOAD) : { *(.bss .bss.* .sbss .sbss.* COMMON) } > L1
          __stack_top = ORIGIN(L1) + LENGTH(L1);
        }
        """
        return (c, start, link)
    }

    /// Builds the calibration kernel for one kind of arithmetic and measures it in the emulator.
    ///
    /// Writes the program to a fresh folder in the temporary directory, which is
    /// removed afterwards. Does not check that the target supports `a` (``measureAll(on:compiler:)`` does).
    ///
    /// - Parameters:
    ///   - a: The arithmetic kind; the target's cores must execute it (FP32 needs an
    ///     FPU, FP16 also `xfvec`, INT8 `xcvsimd`).
    ///   - t: The target: its ISA, memories, core count, clock and energy model.
    ///   - compiler: A clang that targets `riscv32-unknown-elf` and links with lld.
    /// - Returns: The measurement, and the solved class energy if the target publishes an efficiency for `a`.
    /// - Throws: `ExportError.build` when the compiler fails or the kernel exits
    ///   with a non-zero code; `LoadError` for an image the emulator cannot load;
    ///   `EmulatorFault` when it faults (e.g. an instruction the target lacks); file errors
    ///   from writing the sources.
    public static func measure(_ a: Target.Arithmetic, on t: Target, compiler: String) throws -> Measurement {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-energy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = program(a, t)
        try p.c.write(to: dir.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        try p.start.write(to: dir.appendingPathComponent("start.S"), atomically: true, encoding: .utf8)
        try p.link.write(to: dir.appendingPathComponent("link.ld"), atomically: true, encoding: .utf8)
        _ = try runTool(compiler, ["--target=riscv32-unknown-elf", "-march=\(t.march)", "-mabi=\(t.mabi)", "-mno-relax", "-O2", "-ffreestanding",
                                   "-nostdlib", "-fuse-ld=lld", "-Wl,-T,link.ld", "start.S", "main.c", "-o", "kernel.elf"], in: dir)
        let machine = Machine(target: t)
        try machine.load(try ELFImage([UInt8](try Data(contentsOf: dir.appendingPathComponent("kernel.elf")))))
        switch machine.run(limit: 100_000_000) {
        case .exited(0): break
        case .exited(let code): throw ExportError.build("the calibration kernel exited with \(code)")
        case .fault(let f): throw f
        }
        let counters = machine.counters.aligned()
        let (counter, opsPerInstruction, path) = instruction(a)
        let count = Double(counters.cores.reduce(0) { $0 + $1[counter] })
        let operations = count * opsPerInstruction
        let joules = counters.picojoules(t.energy) * 1e-12
        let seconds = Double(counters.cycles) / Double(t.clockHz)
        var solved: Double?
        if let published = t.efficiency[a] {
            var zero = t.energy
            zero[keyPath: path] = 0
            let fixed = counters.picojoules(zero)
            solved = (operations / (published * 1e9) * 1e12 - fixed) / count
        }
        return Measurement(arithmetic: a.rawValue, opsPerWatt: operations / seconds / (joules / seconds), published: t.efficiency[a],
                           solvedPicojoules: solved, cycles: counters.cycles, operations: operations, microjoules: joules * 1e6)
    }

    /// Measures every kind of arithmetic the target's cores execute, in `Target.Arithmetic` order.
    ///
    /// - Parameters:
    ///   - t: The target.
    ///   - compiler: A clang that targets `riscv32-unknown-elf` and links with lld.
    /// - Returns: One measurement per supported kind (empty if the target has none).
    /// - Throws: What ``measure(_:on:compiler:)`` throws, for the first kind that fails.
    public static func measureAll(on t: Target, compiler: String) throws -> [Measurement] {
        try Target.Arithmetic.allCases.filter { supports(t, $0) }.map { try measure($0, on: t, compiler: compiler) }
    }
}
