import Testing
import SparrowEmulator

/// Single instructions and short sequences written in assembly (so the encodings,
/// including compressed forms, are exactly the ones named), checked against
/// values worked out by hand from the RISC-V specification.
@Suite struct InstructionTests {
    /// Runs `asm` (which leaves its result in a0) and returns a0.
    static func result(_ asm: String, march: String = "rv32imfc_zfh") throws -> UInt32 {
        let source = """
        #include <stdint.h>
        int main(void) {
          uint32_t out;
          __asm__ volatile(
        \(asm.split(separator: "\n").map { "    \"\($0)\\n\"" }.joined(separator: "\n"))
            "    mv %0, a0\\n" : "=r"(out) : : "ra", "a0", "a1", "a2", "a3", "a4", "a5", "t0", "t1", "t2", "ft0", "ft1", "ft2", "memory");
          *(volatile uint32_t *)0x10008000u = out;
          return 0;
        }
        """
        let r = try RV32.run(try RV32.build(c: source, flags: ["-O1"], march: march))
        return r.machine.read(0x1000_8000, count: 4).map { UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16 | UInt32($0[3]) << 24 } ?? 0
    }

    @Test func compressedForms() throws {
        // c.li, c.addi, c.slli, c.srai, c.srli, c.andi with negative immediates.
        #expect(try Self.result("c.li a0, -7\nc.addi a0, 3") == UInt32(bitPattern: -4))
        #expect(try Self.result("c.li a0, -16\nc.srai a0, 2") == UInt32(bitPattern: -4))
        #expect(try Self.result("c.li a0, -16\nc.srli a0, 28") == 0xF)
        #expect(try Self.result("c.li a0, 1\nc.slli a0, 31") == 0x8000_0000)
        #expect(try Self.result("c.li a0, -1\nc.andi a0, -32") == UInt32(bitPattern: -32))
        // c.lui with a negative immediate, c.mv, c.add, c.sub, c.xor, c.or, c.and.
        #expect(try Self.result("c.lui a0, 0xfffff\nc.addi a0, 1") == 0xFFFF_F001)
        #expect(try Self.result("c.li a1, 9\nc.mv a0, a1\nc.add a0, a1\nc.li a2, 5\nc.sub a0, a2") == 13)
        #expect(try Self.result("c.li a0, 12\nc.li a1, 10\nc.xor a0, a1") == 6)
        #expect(try Self.result("c.li a0, 12\nc.li a1, 10\nc.or a0, a1") == 14)
        #expect(try Self.result("c.li a0, 12\nc.li a1, 10\nc.and a0, a1") == 8)
        // c.addi16sp / c.addi4spn / c.swsp / c.lwsp / c.sw / c.lw round trip through the stack.
        #expect(try Self.result("mv t0, sp\nc.addi16sp sp, -32\nc.li a1, 27\nc.swsp a1, 12(sp)\nc.lwsp a0, 12(sp)\nc.addi4spn a2, sp, 16\nc.sw a0, 0(a2)\nc.lw a0, 0(a2)\nc.addi16sp sp, 32\nsub a0, a0, sp\nadd a0, a0, t0") == 27)
        // c.beqz / c.bnez / c.j, and c.jal-free jumps: count down from 5.
        #expect(try Self.result("c.li a0, 0\nc.li a1, 5\n1: c.addi a0, 2\nc.addi a1, -1\nc.bnez a1, 1b\nc.beqz a1, 2f\nc.li a0, 0\n2:") == 10)
        // c.jalr / c.jr through a computed address.
        #expect(try Self.result("la t0, 1f\nc.li a0, 3\nc.jalr t0\nc.addi a0, 4\nj 2f\n1: c.addi a0, 10\nc.jr ra\n2:") == 17)
    }

    @Test func integerEdgeCases() throws {
        #expect(try Self.result("li a1, 7\nli a2, 0\ndiv a0, a1, a2") == 0xFFFF_FFFF)
        #expect(try Self.result("li a1, 7\nli a2, 0\nrem a0, a1, a2") == 7)
        #expect(try Self.result("li a1, 0x80000000\nli a2, -1\ndiv a0, a1, a2") == 0x8000_0000)
        #expect(try Self.result("li a1, 0x80000000\nli a2, -1\nrem a0, a1, a2") == 0)
        #expect(try Self.result("li a1, -1\nli a2, -1\nmulhu a0, a1, a2") == 0xFFFF_FFFE)
        #expect(try Self.result("li a1, -1\nli a2, -1\nmulhsu a0, a1, a2") == 0xFFFF_FFFF)
        #expect(try Self.result("li a1, -8\nli a2, 33\nsra a0, a1, a2") == UInt32(bitPattern: -4))  // shift amount mod 32
        #expect(try Self.result("li a1, 0x80\nsb a1, -4(sp)\nlb a0, -4(sp)") == 0xFFFF_FF80)
        #expect(try Self.result("li a1, 0x8001\nsh a1, -4(sp)\nlhu a0, -4(sp)") == 0x8001)
        #expect(try Self.result("auipc a0, 0\nauipc a1, 0\nsub a0, a1, a0") == 4)
        #expect(try Self.result("li a1, -5\nsltiu a0, a1, 3") == 0)
        #expect(try Self.result("li a1, -5\nslti a0, a1, 3") == 1)
    }

    @Test func csrsAndFloatingPointState() throws {
        #expect(try Self.result("csrr a0, mhartid") == 0)
        #expect(try Self.result("csrr a0, misa") & (1 << 5 | 1 << 12 | 1 << 2) == (1 << 5 | 1 << 12 | 1 << 2))
        // fflags accumulate: 1/3 is inexact (NX = 1), 1/0 divides by zero (DZ = 8).
        #expect(try Self.result("csrw fflags, zero\nli a1, 1\nfcvt.s.w ft0, a1\nli a1, 3\nfcvt.s.w ft1, a1\nfdiv.s ft2, ft0, ft1\nfmv.w.x ft1, zero\nfdiv.s ft2, ft0, ft1\ncsrr a0, fflags") == 9)
        // Static rounding mode in the instruction: 2/3 rounded toward zero vs up differ by one ulp.
        #expect(try Self.result("li a1, 2\nfcvt.s.w ft0, a1\nli a1, 3\nfcvt.s.w ft1, a1\nfdiv.s ft2, ft0, ft1, rtz\nfdiv.s ft0, ft0, ft1, rup\nfmv.x.w a0, ft0\nfmv.x.w a1, ft2\nsub a0, a0, a1") == 1)
        // Dynamic rounding from frm (csrwi frm, 2 = round down): −2/3 rounds away from zero.
        #expect(try Self.result("csrwi frm, 2\nli a1, -2\nfcvt.s.w ft0, a1\nli a1, 3\nfcvt.s.w ft1, a1\nfdiv.s ft2, ft0, ft1\ncsrwi frm, 1\nfdiv.s ft0, ft0, ft1\ncsrwi frm, 0\nfmv.x.w a0, ft2\nfmv.x.w a1, ft0\nsub a0, a0, a1") == 1)
        // fcsr = frm << 5 | fflags.
        #expect(try Self.result("csrwi fflags, 0x11\ncsrwi frm, 3\ncsrr a0, fcsr\ncsrwi frm, 0") == 3 << 5 | 0x11)
        // fcvt.w.s of NaN gives the largest integer and raises invalid.
        #expect(try Self.result("li a1, 0x7fc00000\nfmv.w.x ft0, a1\nfcvt.w.s a0, ft0, rtz") == 0x7FFF_FFFF)
    }

    @Test func halfPrecisionAndNaNBoxing() throws {
        // 1.5h + 2.25h = 3.75h (0x4380), read back boxed: the upper half is all ones.
        #expect(try Self.result("li a1, 0x3e00\nfmv.h.x ft0, a1\nli a1, 0x4080\nfmv.h.x ft1, a1\nfadd.h ft2, ft0, ft1\nfmv.x.w a0, ft2") == 0xFFFF_4380)
        // An improperly boxed value (fmv.w.x of a small integer) reads as the canonical NaN.
        #expect(try Self.result("li a1, 0x3c00\nfmv.w.x ft0, a1\nfadd.h ft2, ft0, ft0\nfmv.x.h a0, ft2") == 0x7E00)
        // fcvt.h.s rounds, fcvt.s.h is exact: 1/3 → 0x3555 → 0x3EAAA000.
        #expect(try Self.result("li a1, 0x3eaaaaab\nfmv.w.x ft0, a1\nfcvt.h.s ft1, ft0\nfcvt.s.h ft2, ft1\nfmv.x.w a0, ft2") == 0x3EAA_A000)
        // Half overflow: 65504 + 65504 → +inf with overflow|inexact.
        #expect(try Self.result("csrw fflags, zero\nli a1, 0x7bff\nfmv.h.x ft0, a1\nfadd.h ft1, ft0, ft0\ncsrr a0, fflags") == 5)
        // fmv.x.h sign-extends.
        #expect(try Self.result("li a1, 0xbc00\nfmv.h.x ft0, a1\nfmv.x.h a0, ft0") == 0xFFFF_BC00)
    }
}
