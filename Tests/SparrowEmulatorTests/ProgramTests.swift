import Foundation
import Testing
import SparrowEmulator

@Suite struct ProgramTests {
    @Test func integerProgramRuns() throws {
        let elf = try RV32.build(c: """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static void put(char c) { REG(4) = (unsigned)c; }
        static void putu(uint32_t v) { char b[12]; int i = 0; do { b[i++] = (char)('0' + v % 10); v /= 10; } while (v); while (i) put(b[--i]); }
        int main(void) {
          volatile uint32_t acc = 1;
          for (int i = 1; i < 200; i++) acc = acc * 2654435761u + (uint32_t)i / 3u - (uint32_t)(i % 7) + (acc >> 7);
          putu(acc); put('\\n');
          return (int)(acc & 0x7f);
        }
        """)
        let r = try RV32.run(elf)
        var acc: UInt32 = 1
        for i in 1..<200 { acc = acc &* 2654435761 &+ UInt32(i) / 3 &- UInt32(i % 7) &+ (acc >> 7) }
        #expect(r.console == "\(acc)\n")
        #expect(r.code == Int32(acc & 0x7f))
    }
}
