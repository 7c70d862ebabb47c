import Testing
import SparrowEmulator
import SparrowPlanner

/// The cluster's DMA engine and event-unit barrier, driven from C on several cores.
@Suite struct PlatformTests {
    static let fourCores: Target = {
        var t = RV32.target
        t.cores = 4
        t.stackBytes = 4096
        return t
    }()

    /// Every core starts in main with its own stack (the test start-up gives one stack; cores offset theirs).
    static let preamble = """
    #include <stdint.h>
    #define REG(o) (*(volatile uint32_t *)(0x1A000000u + (o)))
    static uint32_t hart(void) { uint32_t h; __asm__ volatile("csrr %0, mhartid" : "=r"(h)); return h; }
    """

    @Test func dmaCopiesBetweenMemories() throws {
        let elf = try RV32.build(c: Self.preamble + """
        static const uint32_t table[8] = {1, 2, 3, 5, 8, 13, 21, 34};   /* flash */
        static uint32_t l1[8];                                            /* L1 (.bss) */
        int main(void) {
          volatile uint32_t *l2 = (volatile uint32_t *)0x1C000100u;
          REG(0x40) = (uint32_t)(uintptr_t)table; REG(0x44) = 0x1C000100u; REG(0x48) = sizeof table;   /* flash -> L2 */
          REG(0x40) = 0x1C000100u; REG(0x44) = (uint32_t)(uintptr_t)l1; REG(0x48) = sizeof table;     /* L2 -> L1 */
          while (REG(0x4C) != 0) {}
          uint32_t sum = 0;
          for (int i = 0; i < 8; i++) sum += l1[i] * (uint32_t)(i + 1) + l2[i];
          return (int)sum;
        }
        """)
        let r = try RV32.run(elf)
        let t: [UInt32] = [1, 2, 3, 5, 8, 13, 21, 34]
        #expect(r.code == Int32(t.enumerated().reduce(0) { $0 + $1.element * UInt32($1.offset + 1) + $1.element }))
        #expect(r.machine.dmaTransfers == 2 && r.machine.dmaBytes == 64)
    }

    @Test func dmaToFlashFaults() throws {
        let elf = try RV32.build(c: Self.preamble + """
        int main(void) { REG(0x40) = 0x1C000000u; REG(0x44) = 0x20000000u; REG(0x48) = 16; for (volatile int i = 0; i < 10; i++) {} return 0; }
        """)
        let m = Machine(target: RV32.target)
        try m.load(try ELFImage(elf))
        guard case .fault(let f) = m.run(limit: 100_000) else { Issue.record("expected a fault"); return }
        #expect(f.kind == .writeToFlash && f.address == 0x2000_0000)
    }

    /// Four cores each add their id into a shared counter, meet at the barrier, and
    /// core 0 checks that every addition happened before it left the barrier.
    @Test func barrierWaitsForTheWholeTeam() throws {
        let elf = try RV32.build(c: Self.preamble + """
        static volatile uint32_t counter;
        static volatile uint32_t ready;
        int main(void) {
          uint32_t id = hart();
          if (id == 0) { REG(24) = 4; ready = 1; } else { while (!ready) {} }
          for (volatile int spin = 0; spin < 200 * (int)id; spin++) {}   /* arrive at different times */
          counter += id + 1;     /* cores run one at a time in the emulator: no lost update */
          (void)REG(0x50);
          if (id != 0) { for (;;) __asm__ volatile("wfi"); }
          return (int)counter;   /* 1 + 2 + 3 + 4 */
        }
        """, start: RV32.multicoreStart)
        let m = Machine(target: Self.fourCores)
        try m.load(try ELFImage(elf))
        switch m.run(limit: 10_000_000) {
        case .exited(let code): #expect(code == 10)
        case .fault(let f): Issue.record("fault: \(f)")
        }
    }
}
