import Testing
import SparrowEmulator
import SparrowPlanner

/// Microbenchmarks that take the number of cycles the target description predicts:
/// a dependent FPU chain, L1 bank conflicts between cores, and DMA transfers alone
/// and overlapped with computation. Each program stores its `mcycle` differences in
/// `result`, read back from memory.
@Suite struct CycleModelTests {
    static let timing = Target.Timing()

    static let preamble = """
    #include <stdint.h>
    #define REG(o) (*(volatile uint32_t *)(0x1A000000u + (o)))
    volatile uint32_t result[16];
    static inline uint32_t cycles(void) { uint32_t c; __asm__ volatile("csrr %0, mcycle" : "=r"(c)); return c; }
    static uint32_t hart(void) { uint32_t h; __asm__ volatile("csrr %0, mhartid" : "=r"(h)); return h; }
    """

    /// Runs a program on `target` and returns `result` and the machine.
    static func run(_ c: String, target: Target = RV32.target, start: String = RV32.start) throws -> ([UInt32], Machine) {
        let elf = try RV32.build(c: preamble + c, start: start)
        let image = try ELFImage(elf)
        let m = Machine(target: target)
        try m.load(image)
        guard case .exited(0) = m.run(limit: 10_000_000) else { throw RV32.Failure(description: "did not exit with 0") }
        let base = image.symbols["result"]!.address
        let bytes = m.read(base, count: 64)!
        let words = stride(from: 0, to: 64, by: 4).map { k in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[k + $1]) << (8 * $1) } }
        return (words, m)
    }

    /// N dependent fmadd.s take N × the FMA latency (each waits for the previous
    /// result); N independent ones issue one per cycle. The first block ends with an
    /// `mcycle` read that does not wait for the chain: 64 fmadds then read after
    /// 63 × L + 2 cycles; the second block of 128 starts L − 1 cycles after that read
    /// and is read 127 × L + 1 cycles after its start: 128 × L in all.
    @Test func dependentFPUChainTakesTheLatency() throws {
        let (r, m) = try Self.run("""
        int main(void) {
          uint32_t t0 = cycles();
          __asm__ volatile(".rept 64\\n fmadd.s fa0, fa0, fa1, fa2\\n .endr" ::: "fa0");
          uint32_t t1 = cycles();
          __asm__ volatile(".rept 128\\n fmadd.s fa0, fa0, fa1, fa2\\n .endr" ::: "fa0");
          uint32_t t2 = cycles();
          __asm__ volatile(".rept 128\\n fmadd.s fa3, fa1, fa1, fa2\\n .endr" ::: "fa3");
          uint32_t t3 = cycles();
          result[0] = t1 - t0; result[1] = t2 - t1; result[2] = t3 - t2;
          return 0;
        }
        """)
        let l = UInt32(Self.timing.fpFused)
        print("[CycleModelTests] FMA chain: 64 → \(r[0]), 128 → \(r[1]) cycles (latency \(l)); 128 independent → \(r[2])")
        #expect(r[0] == 63 * l + 2)
        #expect(r[1] == 128 * l)
        #expect(r[2] == 128 + 1)
        #expect(m.counters(core: 0)[.fpuStalls] == UInt64(63 * (l - 1) + (l - 2) + 127 * (l - 1)))
    }

    /// Four cores, released together by the barrier, each load 100 words: from one L1
    /// bank the bank serves one access per cycle, so the last core finishes after
    /// 4 × 100 cycles (give or take the cycle of an `mcycle` read and a slot taken
    /// early at a window's end) and the cores lose 600 cycles or more to conflicts; from four
    /// banks each core takes 100 cycles and none conflicts.
    @Test(arguments: [true, false]) func bankConflictsSerializeOneBank(_ sameBank: Bool) throws {
        var target = RV32.target
        target.cores = 4
        target.stackBytes = 4096
        let (r, m) = try Self.run("""
        static volatile uint32_t words[64];
        int main(void) {
          uint32_t id = hart(), t0, t1;
          REG(24) = 4;
          volatile uint32_t *p = &words[\(sameBank ? "0" : "id")];
          (void)REG(0x50);
          __asm__ volatile("csrr %0, mcycle\\n .rept 100\\n lw t0, 0(%2)\\n .endr\\n csrr %1, mcycle"
                           : "=&r"(t0), "=&r"(t1) : "r"(p) : "t0");
          result[id] = t1 - t0;
          (void)REG(0x50);
          if (id != 0) { for (;;) __asm__ volatile("wfi"); }
          return 0;
        }
        """, target: target, start: RV32.multicoreStart)
        let conflicts = (0..<4).reduce(UInt64(0)) { $0 + m.counters(core: $1)[.bankConflictStalls] }
        print("[CycleModelTests] 4 cores × 100 loads, \(sameBank ? "one bank" : "four banks"): cycles per core \(r[0..<4]), conflict stalls \(conflicts)")
        if sameBank {
            // At a window's end a core can take a slot or two of the next window early.
            #expect(r[0..<4].max()! >= 400 && r[0..<4].max()! <= 403)
            #expect(conflicts >= 600)
        } else {
            #expect(r[0..<4].allSatisfy { $0 == 101 })
            #expect(conflicts == 0)
        }
    }

    /// A transfer takes the set-up plus its bytes over the bandwidth: doubling it adds
    /// bytes / bandwidth cycles; work issued while it runs is hidden until it is done.
    @Test func dmaTakesSetupPlusBytesOverBandwidth() throws {
        let (r, _) = try Self.run("""
        static uint32_t src[2048], dst[2048];
        __attribute__((noinline)) static uint32_t transfer(uint32_t bytes, int work) {
          uint32_t t0 = cycles();
          REG(0x40) = (uint32_t)(uintptr_t)src; REG(0x44) = (uint32_t)(uintptr_t)dst; REG(0x48) = bytes;
          if (work == 1) __asm__ volatile(".rept 200\\n addi t1, t1, 1\\n .endr" ::: "t1");
          if (work == 2) __asm__ volatile(".rept 2000\\n addi t1, t1, 1\\n .endr" ::: "t1");
          (void)REG(0x54);
          return cycles() - t0;
        }
        int main(void) {
          result[0] = transfer(2048, 0); result[1] = transfer(4096, 0);
          result[2] = transfer(4096, 1); result[3] = transfer(4096, 2);
          return 0;
        }
        """)
        let t = Self.timing
        print("[CycleModelTests] DMA 2 KB → \(r[0]), 4 KB → \(r[1]), with 200 ALU → \(r[2]), with 2000 ALU → \(r[3]) cycles")
        #expect(r[1] - r[0] == UInt32(2048 / t.dmaBytesPerCycle))
        let transfer = UInt32(t.dmaSetup + 4096 / t.dmaBytesPerCycle)
        #expect(r[1] >= transfer && r[1] <= transfer + 12)  // plus the few instructions that program it
        #expect(r[2] >= r[1] && r[2] <= r[1] + 4)  // 200 cycles of work hidden under 522 cycles of transfer
        #expect(r[3] >= 2000 && r[3] <= 2000 + 16)  // the transfer hidden under the work
    }
}
