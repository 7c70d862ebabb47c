import Foundation
import Testing
@testable import SparrowEmulator
import SparrowPlanner

/// CORE-V (CV32E40P v2) custom extensions: programs using the cv.* instructions
/// through inline assembly run in the emulator, and their results are compared
/// with values computed here from the documented semantics (CV32E40P user
/// manual). Operands are edge cases plus seeded random words (the seed is printed;
/// set XCV_SEED to reproduce a run).
@Suite struct XcvTests {
    static let march = "rv32imfc_zfh_xcvalu_xcvmac_xcvbi_xcvmem_xcvsimd"
    static var target: Target {
        var t = RV32.target
        t.march = march
        return t
    }

    // MARK: Operands

    static let seed: UInt64 = {
        let s = ProcessInfo.processInfo.environment["XCV_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("XcvTests: random operands with seed \(s) (set XCV_SEED=\(s) to reproduce)")
        return s
    }()

    /// Edge cases (sign boundaries of words, halves and bytes; small shift amounts) and seeded random words.
    static let operands: [UInt32] = {
        var v: [UInt32] = [0, 1, 2, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0x0000_7FFF, 0x0000_8000, 0x8000_7FFF, 0x7F7F_8080,
                           0x8080_7F7F, 0x01FF_7F80, 0xFFFF_8000, 0x1234_5678, 0xDEAD_BEEF, 15, 16, 31, 32, 33]
        var state = seed
        for _ in 0..<6 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            v.append(UInt32(truncatingIfNeeded: z ^ (z >> 31)))
        }
        return v
    }()

    // MARK: Harness

    /// One instruction under test: its assembly (%0 = rd, %1 = a, %2 = b), whether rd
    /// is also an input (initialised to c), and the expected rd from (a, b, c).
    struct Case {
        var asm: String
        var accumulates = false
        var expected: (UInt32, UInt32, UInt32) -> UInt32
    }

    /// Runs every case for every pair of operands (a, b) with c a third operand, and
    /// compares each result with the case's expectation.
    static func check(_ cases: [Case]) throws {
        let values = operands.map { String(format: "0x%08xu", $0) }.joined(separator: ", ")
        var body = ""
        for k in cases {
            if k.accumulates {
                body += "    r = c; __asm__ volatile(\"\(k.asm)\" : \"+r\"(r) : \"r\"(a), \"r\"(b)); emit(r);\n"
            } else {
                body += "    __asm__ volatile(\"\(k.asm)\" : \"=r\"(r) : \"r\"(a), \"r\"(b)); emit(r);\n"
            }
        }
        let source = """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static void emit(uint32_t v) { REG(4) = v; REG(4) = v >> 8; REG(4) = v >> 16; REG(4) = v >> 24; }
        static const uint32_t v[] = {\(values)};
        #define N (sizeof v / sizeof v[0])
        int main(void) {
          for (unsigned i = 0; i < N; i++) for (unsigned j = 0; j < N; j++) {
            uint32_t a = v[i], b = v[j], c = v[(i * 7 + j * 3 + 1) % N], r;
        \(body)  }
          return 0;
        }
        """
        let (code, _, machine) = try RV32.run(try RV32.build(c: source, march: march), target: target)
        #expect(code == 0)
        let bytes = machine.console
        let n = operands.count
        #expect(bytes.count == n * n * cases.count * 4)
        guard bytes.count == n * n * cases.count * 4 else { return }
        var index = 0, failures = 0
        for i in 0..<n {
            for j in 0..<n {
                let a = operands[i], b = operands[j], c = operands[(i * 7 + j * 3 + 1) % n]
                for k in cases {
                    let got = littleEndian(bytes, index)
                    index += 4
                    let want = k.expected(a, b, c)
                    if got != want {
                        failures += 1
                        if failures <= 20 {
                            Issue.record(Comment(rawValue: String(format: "%@ with a=0x%08x b=0x%08x c=0x%08x: got 0x%08x, expected 0x%08x (seed %llu)",
                                                                  k.asm, a, b, c, got, want, seed)))
                        }
                    }
                }
            }
        }
        #expect(failures == 0)
    }

    // MARK: Reference semantics

    // MARK: Xcvalu

    @Test func aluMatchesTheManual() throws {
        var cases: [Case] = [
            Case(asm: "cv.abs %0, %1") { a, _, _ in word(abs(s32(a))) },
            Case(asm: "cv.sle %0, %1, %2") { a, b, _ in s32(a) <= s32(b) ? 1 : 0 },
            Case(asm: "cv.slet %0, %1, %2") { a, b, _ in s32(a) <= s32(b) ? 1 : 0 },
            Case(asm: "cv.sleu %0, %1, %2") { a, b, _ in a <= b ? 1 : 0 },
            Case(asm: "cv.min %0, %1, %2") { a, b, _ in word(min(s32(a), s32(b))) },
            Case(asm: "cv.minu %0, %1, %2") { a, b, _ in min(a, b) },
            Case(asm: "cv.max %0, %1, %2") { a, b, _ in word(max(s32(a), s32(b))) },
            Case(asm: "cv.maxu %0, %1, %2") { a, b, _ in max(a, b) },
            Case(asm: "cv.exths %0, %1") { a, _, _ in word(lane(a, 0, 16, signed: true)) },
            Case(asm: "cv.exthz %0, %1") { a, _, _ in a & 0xFFFF },
            Case(asm: "cv.extbs %0, %1") { a, _, _ in word(lane(a, 0, 8, signed: true)) },
            Case(asm: "cv.extbz %0, %1") { a, _, _ in a & 0xFF },
            Case(asm: "cv.clipr %0, %1, %2") { a, b, _ in
                let hi = Int(b & 0x7FFF_FFFF), v = s32(a)
                return word(v <= -(hi + 1) ? -(hi + 1) : v >= hi ? hi : v)
            },
            Case(asm: "cv.clipur %0, %1, %2") { a, b, _ in
                let hi = Int(b & 0x7FFF_FFFF), v = s32(a)
                return word(v <= 0 ? 0 : v >= hi ? hi : v)
            },
        ]
        for n in [0, 1, 2, 5, 8, 16, 31] {
            // 2^(n-1) with n = 0 read as 1/2: bounds -1 and 0.
            let hi = n == 0 ? 0 : (1 << (n - 1)) - 1, lo = n == 0 ? -1 : -(1 << (n - 1))
            cases.append(Case(asm: "cv.clip %0, %1, \(n)") { a, _, _ in
                let v = s32(a)
                return word(v <= lo ? lo : v >= hi ? hi : v)
            })
            cases.append(Case(asm: "cv.clipu %0, %1, \(n)") { a, _, _ in
                let v = s32(a)
                return word(v <= 0 ? 0 : v >= hi ? hi : v)
            })
        }
        for (name, sub, unsigned, round) in [("addn", false, false, false), ("addun", false, true, false), ("addrn", false, false, true),
                                             ("addurn", false, true, true), ("subn", true, false, false), ("subun", true, true, false),
                                             ("subrn", true, false, true), ("suburn", true, true, true)] {
            for n in [0, 1, 3, 15, 16, 31] {
                cases.append(Case(asm: "cv.\(name) %0, %1, %2, \(n)") { a, b, _ in
                    let s = (sub ? a &- b : a &+ b) &+ (round ? roundConstant(n) : 0)
                    return shiftRight(s, n, arithmetic: !unsigned)
                })
            }
            // Register forms: rd = (rd +/- rs1 [+ round]) >> rs2[4:0].
            cases.append(Case(asm: "cv.\(name)r %0, %1, %2", accumulates: true) { a, b, c in
                let n = Int(b & 31)
                let s = (sub ? c &- a : c &+ a) &+ (round ? roundConstant(n) : 0)
                return shiftRight(s, n, arithmetic: !unsigned)
            })
        }
        try Self.check(cases)
    }

    // MARK: Xcvmac

    @Test func macMatchesTheManual() throws {
        var cases: [Case] = [
            Case(asm: "cv.mac %0, %1, %2", accumulates: true) { a, b, c in c &+ a &* b },
            Case(asm: "cv.msu %0, %1, %2", accumulates: true) { a, b, c in c &- a &* b },
            Case(asm: "cv.muls %0, %1, %2") { a, b, _ in word(lane(a, 0, 16, signed: true) * lane(b, 0, 16, signed: true)) },
            Case(asm: "cv.mulhhu %0, %1, %2") { a, b, _ in word(lane(a, 1, 16, signed: false) * lane(b, 1, 16, signed: false)) },
        ]
        for mac in [false, true] {
            for unsigned in [false, true] {
                for high in [false, true] {
                    for round in [false, true] {
                        let name = "cv.\(mac ? "mac" : "mul")\(high ? "hh" : "")\(unsigned ? "u" : "s")\(round ? "r" : "")n"
                        for n in [0, 1, 8, 15, 16, 31] {
                            cases.append(Case(asm: "\(name) %0, %1, %2, \(n)", accumulates: mac) { a, b, c in
                                let k = high ? 1 : 0
                                let p = word(lane(a, k, 16, signed: !unsigned) * lane(b, k, 16, signed: !unsigned))
                                let s = p &+ (mac ? c : 0) &+ (round ? roundConstant(n) : 0)
                                return shiftRight(s, n, arithmetic: !unsigned)
                            })
                        }
                    }
                }
            }
        }
        try Self.check(cases)
    }

    // MARK: Xcvsimd

    /// The lane operation of a SIMD binary instruction, on lane values of width `w`
    /// (`x` from rs1, `y` the second operand), signed or unsigned as `signed` says.
    struct SimdOp {
        var name: String
        var signed: Bool
        var f: (_ x: Int, _ y: Int, _ w: Int) -> Int
    }

    static var simdOps: [SimdOp] { [
        SimdOp(name: "add", signed: false) { x, y, _ in x + y },
        SimdOp(name: "sub", signed: false) { x, y, _ in x - y },
        // The lane sum wraps to the lane width before the shift.
        SimdOp(name: "avg", signed: true) { x, y, w in
            let s = (x + y) & ((1 << w) - 1)
            return (s >= 1 << (w - 1) ? s - (1 << w) : s) >> 1
        },
        SimdOp(name: "avgu", signed: false) { x, y, w in ((x + y) & ((1 << w) - 1)) >> 1 },
        SimdOp(name: "min", signed: true) { x, y, _ in min(x, y) },
        SimdOp(name: "minu", signed: false) { x, y, _ in min(x, y) },
        SimdOp(name: "max", signed: true) { x, y, _ in max(x, y) },
        SimdOp(name: "maxu", signed: false) { x, y, _ in max(x, y) },
        SimdOp(name: "srl", signed: false) { x, y, w in x >> (y & (w - 1)) },
        SimdOp(name: "sra", signed: true) { x, y, w in x >> (y & (w - 1)) },
        SimdOp(name: "sll", signed: false) { x, y, w in x << (y & (w - 1)) },
        SimdOp(name: "or", signed: false) { x, y, _ in x | y },
        SimdOp(name: "xor", signed: false) { x, y, _ in x ^ y },
        SimdOp(name: "and", signed: false) { x, y, _ in x & y },
    ] }

    /// The second operand's lane k: vector, scalar (.sc) or immediate (.sci).
    enum Mode { case vector, scalar, immediate(Int) }

    static func simdCases(_ name: String, signedImm: Bool, immediates: [Int], lanes body: @escaping (UInt32, (Int, Bool) -> Int, Int, UInt32) -> UInt32,
                          accumulates: Bool = false) -> [Case] {
        var cases: [Case] = []
        for w in [16, 8] {
            let suffix = w == 16 ? "h" : "b"
            var modes: [(String, Mode)] = [("", .vector), (".sc", .scalar)]
            for imm in immediates where signedImm ? (-32...31).contains(imm) : (0...63).contains(imm) { modes.append((".sci", .immediate(imm))) }
            for (m, mode) in modes {
                let operand: String
                if case .immediate(let imm) = mode { operand = "\(imm)" } else { operand = "%2" }
                cases.append(Case(asm: "cv.\(name)\(m).\(suffix) %0, %1, \(operand)", accumulates: accumulates) { a, b, c in
                    // y(k, signed): lane k of the second operand.
                    let y: (Int, Bool) -> Int = { k, signed in
                        switch mode {
                        case .vector: return lane(b, k, w, signed: signed)
                        case .scalar: return lane(b, 0, w, signed: signed)
                        case .immediate(let imm): return lane(word(imm), 0, w, signed: signed)
                        }
                    }
                    return body(a, y, w, c)
                })
            }
        }
        return cases
    }

    @Test func simdArithmeticMatchesTheManual() throws {
        var cases: [Case] = []
        for op in Self.simdOps {
            let isShift = ["srl", "sra", "sll"].contains(op.name)
            let unsignedImm = ["avgu", "minu", "maxu"].contains(op.name) || isShift
            cases += Self.simdCases(op.name, signedImm: !unsignedImm, immediates: isShift ? [0, 1, 7] : [-32, -1, 0, 5, 31]) { a, y, w, _ in
                pack(w) { k in op.f(lane(a, k, w, signed: op.signed), y(k, op.signed), w) }
            }
        }
        for w in [16, 8] {
            cases.append(Case(asm: "cv.abs.\(w == 16 ? "h" : "b") %0, %1") { a, _, _ in pack(w) { k in abs(lane(a, k, w, signed: true)) } })
        }
        // Comparisons: lanes of all ones when true.
        let predicates: [(String, Bool, (Int, Int) -> Bool)] = [
            ("cmpeq", true, { $0 == $1 }), ("cmpne", true, { $0 != $1 }), ("cmpgt", true, { $0 > $1 }), ("cmpge", true, { $0 >= $1 }),
            ("cmplt", true, { $0 < $1 }), ("cmple", true, { $0 <= $1 }), ("cmpgtu", false, { $0 > $1 }), ("cmpgeu", false, { $0 >= $1 }),
            ("cmpltu", false, { $0 < $1 }), ("cmpleu", false, { $0 <= $1 }),
        ]
        for (name, signed, p) in predicates {
            cases += Self.simdCases(name, signedImm: signed, immediates: [-1, 0, 31]) { a, y, w, _ in
                pack(w) { k in p(lane(a, k, w, signed: signed), y(k, signed)) ? -1 : 0 }
            }
        }
        try Self.check(cases)
    }

    @Test func simdDotProductsMatchTheManual() throws {
        var cases: [Case] = []
        for (name, signedA, signedB) in [("dotup", false, false), ("dotusp", false, true), ("dotsp", true, true)] {
            for accumulate in [false, true] {
                cases += Self.simdCases((accumulate ? "s" : "") + name, signedImm: signedB, immediates: [-32, -1, 1, 31, 63],
                                        lanes: { a, y, w, c in
                                            var s = accumulate ? Int(c) : 0
                                            for k in 0..<(32 / w) { s += lane(a, k, w, signed: signedA) * y(k, signedB) }
                                            return word(s)
                                        }, accumulates: accumulate)
            }
        }
        try Self.check(cases)
    }

    @Test func simdLaneMovesMatchTheManual() throws {
        var cases: [Case] = []
        for (w, s) in [(16, "h"), (8, "b")] {
            for k in 0..<(32 / w) {
                cases.append(Case(asm: "cv.extract.\(s) %0, %1, \(k)") { a, _, _ in word(lane(a, k, w, signed: true)) })
                cases.append(Case(asm: "cv.extractu.\(s) %0, %1, \(k)") { a, _, _ in word(lane(a, k, w, signed: false)) })
                cases.append(Case(asm: "cv.insert.\(s) %0, %1, \(k)", accumulates: true) { a, _, c in
                    pack(w) { j in lane(j == k ? a : c, j == k ? 0 : j, w, signed: false) }
                })
            }
            let selectorBits = w == 16 ? 1 : 2
            cases.append(Case(asm: "cv.shuffle.\(s) %0, %1, %2") { a, b, _ in
                pack(w) { k in lane(a, lane(b, k, w, signed: false) & ((1 << selectorBits) - 1), w, signed: false) }
            })
            cases.append(Case(asm: "cv.shuffle2.\(s) %0, %1, %2", accumulates: true) { a, b, c in
                pack(w) { k in
                    let sel = lane(b, k, w, signed: false)
                    return lane(sel >> selectorBits & 1 != 0 ? a : c, sel & ((1 << selectorBits) - 1), w, signed: false)
                }
            })
        }
        for imm in 0..<4 {
            cases.append(Case(asm: "cv.shuffle.sci.h %0, %1, \(imm)") { a, _, _ in pack(16) { k in lane(a, imm >> k & 1, 16, signed: false) } })
        }
        for top in 0..<4 {
            for imm in [0, 0x1B, 0x24, 63] {
                cases.append(Case(asm: "cv.shufflei\(top).sci.b %0, %1, \(imm)") { a, _, _ in
                    pack(8) { k in lane(a, k == 3 ? top : imm >> (2 * k) & 3, 8, signed: false) }
                })
            }
        }
        cases += [
            Case(asm: "cv.pack %0, %1, %2") { a, b, _ in (a & 0xFFFF) << 16 | b & 0xFFFF },
            Case(asm: "cv.pack.h %0, %1, %2") { a, b, _ in a & 0xFFFF_0000 | b >> 16 },
            Case(asm: "cv.packhi.b %0, %1, %2", accumulates: true) { a, b, c in (a & 0xFF) << 24 | (b & 0xFF) << 16 | c & 0xFFFF },
            Case(asm: "cv.packlo.b %0, %1, %2", accumulates: true) { a, b, c in c & 0xFFFF_0000 | (a & 0xFF) << 8 | b & 0xFF },
        ]
        try Self.check(cases)
    }

    @Test func simdComplexMatchesTheManual() throws {
        /// Bits 31:15 of the 32-bit (wrapped) sum, shifted right arithmetically by `s`, as a halfword.
        func q15(_ sum: Int, _ s: Int) -> UInt32 { UInt32(bitPattern: Int32(bitPattern: word(sum)) >> Int32(15 + s)) & 0xFFFF }
        func sh(_ v: Int, _ s: Int) -> Int { Int(Int16(truncatingIfNeeded: v)) >> s }
        var cases: [Case] = [
            Case(asm: "cv.cplxconj %0, %1") { a, _, _ in pack(16) { k in k == 0 ? lane(a, 0, 16, signed: true) : -lane(a, 1, 16, signed: true) } },
        ]
        for (suffix, s) in [("", 0), (".div2", 1), (".div4", 2), (".div8", 3)] {
            cases.append(Case(asm: "cv.cplxmul.r\(suffix) %0, %1, %2", accumulates: true) { a, b, c in
                let re = lane(a, 0, 16, signed: true) * lane(b, 0, 16, signed: true) - lane(a, 1, 16, signed: true) * lane(b, 1, 16, signed: true)
                return c & 0xFFFF_0000 | q15(re, s)
            })
            cases.append(Case(asm: "cv.cplxmul.i\(suffix) %0, %1, %2", accumulates: true) { a, b, c in
                let im = lane(a, 0, 16, signed: true) * lane(b, 1, 16, signed: true) + lane(a, 1, 16, signed: true) * lane(b, 0, 16, signed: true)
                return c & 0x0000_FFFF | q15(im, s) << 16
            })
            cases.append(Case(asm: "cv.subrotmj\(suffix) %0, %1, %2") { a, b, _ in
                pack(16) { k in
                    k == 0 ? sh(lane(a, 1, 16, signed: true) - lane(b, 1, 16, signed: true), s)
                        : sh(lane(b, 0, 16, signed: true) - lane(a, 0, 16, signed: true), s)
                }
            })
            if s > 0 {
                cases.append(Case(asm: "cv.add\(suffix) %0, %1, %2") { a, b, _ in
                    pack(16) { k in sh(lane(a, k, 16, signed: true) + lane(b, k, 16, signed: true), s) }
                })
                cases.append(Case(asm: "cv.sub\(suffix) %0, %1, %2") { a, b, _ in
                    pack(16) { k in sh(lane(a, k, 16, signed: true) - lane(b, k, 16, signed: true), s) }
                })
            }
        }
        try Self.check(cases)
    }

    /// An int8 dot-product kernel written with cv.lw post-increment and cv.sdotsp.b
    /// agrees with the plain C loop (run in the same program).
    @Test func int8DotKernel() throws {
        let source = """
        #include <stdint.h>
        static int8_t x[64] __attribute__((aligned(4))), y[64] __attribute__((aligned(4)));
        int main(void) {
          uint32_t s = \(Self.seed % 1000 + 1)u;
          for (int i = 0; i < 64; i++) { s = s * 1103515245u + 12345u; x[i] = (int8_t)(s >> 16); s = s * 1103515245u + 12345u; y[i] = (int8_t)(s >> 16); }
          x[0] = -128; y[0] = -128; x[1] = 127; y[1] = -128;
          int32_t ref = 0;
          for (int i = 0; i < 64; i++) ref += x[i] * y[i];
          const int8_t *px = x, *py = y;
          int32_t acc = 0;
          for (int i = 0; i < 16; i++) {
            uint32_t a, b;
            __asm__ volatile("cv.lw %0, (%1), 4" : "=r"(a), "+r"(px));
            __asm__ volatile("cv.lw %0, (%1), 4" : "=r"(b), "+r"(py));
            __asm__ volatile("cv.sdotsp.b %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));
          }
          if (px != x + 64 || py != y + 64) return 2;
          return acc == ref ? 1 : 3;
        }
        """
        let (code, _, _) = try RV32.run(try RV32.build(c: source, march: Self.march), target: Self.target)
        #expect(code == 1)
    }

    // MARK: Xcvbi

    @Test func immediateBranches() throws {
        let immediates = [-16, -1, 0, 1, 15]
        var body = ""
        for imm in immediates {
            for kind in ["beqimm", "bneimm"] {
                body += "    __asm__ volatile(\"cv.\(kind) %1, \(imm), 1f\\n li %0, 1\\n j 2f\\n1: li %0, 2\\n2:\" : \"=r\"(r) : \"r\"(a)); emit(r);\n"
            }
        }
        let inputs = Self.operands + [0xFFFF_FFF0, 0xF, 0x1F, 0x10, 0xFFFF_FFEF]
        var expected: [UInt8] = []
        for a in inputs {
            for imm in immediates {
                let equal = a == UInt32(bitPattern: Int32(imm))
                expected += [equal ? 2 : 1, equal ? 1 : 2]
            }
        }
        let source = """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static void emit(uint32_t v) { REG(4) = v; }
        static const uint32_t v[] = {\(inputs.map { String(format: "0x%08xu", $0) }.joined(separator: ", "))};
        int main(void) {
          for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
            uint32_t a = v[i], r;
        \(body)  }
          return 0;
        }
        """
        let (code, _, m) = try RV32.run(try RV32.build(c: source, march: Self.march), target: Self.target)
        #expect(code == 0)
        #expect(m.console == expected)
    }

    // MARK: Xcvmem

    static let memoryProgram = """
    #include <stdint.h>
    #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
    static void emit(uint32_t v) { REG(4) = v; REG(4) = v >> 8; REG(4) = v >> 16; REG(4) = v >> 24; }
    static uint8_t buf[64] __attribute__((aligned(4)));
    static uint8_t out[64] __attribute__((aligned(4)));
    int main(void) {
      for (int i = 0; i < 64; i++) buf[i] = (uint8_t)(i * 37 + 0x80);
      uint8_t *p = buf;
      uint32_t r;
      /* immediate post-increment loads, every width and sign */
      __asm__ volatile("cv.lb %0, (%1), 3" : "=r"(r), "+r"(p)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lbu %0, (%1), 1" : "=r"(r), "+r"(p)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lh %0, (%1), 2" : "=r"(r), "+r"(p)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lhu %0, (%1), 2" : "=r"(r), "+r"(p)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lw %0, (%1), -8" : "=r"(r), "+r"(p)); emit(r); emit((uint32_t)(p - buf));
      /* register post-increment loads */
      uint32_t inc = 6;
      p = buf + 8;
      __asm__ volatile("cv.lb %0, (%1), %2" : "=r"(r), "+r"(p) : "r"(inc)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lbu %0, (%1), %2" : "=r"(r), "+r"(p) : "r"(inc)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lhu %0, (%1), %2" : "=r"(r), "+r"(p) : "r"(inc)); emit(r); emit((uint32_t)(p - buf));
      inc = (uint32_t)-10;
      __asm__ volatile("cv.lh %0, (%1), %2" : "=r"(r), "+r"(p) : "r"(inc)); emit(r); emit((uint32_t)(p - buf));
      __asm__ volatile("cv.lw %0, (%1), %2" : "=r"(r), "+r"(p) : "r"(inc)); emit(r); emit((uint32_t)(p - buf));
      /* register-register loads (no update) */
      uint32_t off = 20;
      p = buf + 4;
      __asm__ volatile("cv.lb %0, %2(%1)" : "=r"(r) : "r"(p), "r"(off)); emit(r);
      __asm__ volatile("cv.lbu %0, %2(%1)" : "=r"(r) : "r"(p), "r"(off)); emit(r);
      __asm__ volatile("cv.lh %0, %2(%1)" : "=r"(r) : "r"(p), "r"(off)); emit(r);
      __asm__ volatile("cv.lhu %0, %2(%1)" : "=r"(r) : "r"(p), "r"(off)); emit(r);
      __asm__ volatile("cv.lw %0, %2(%1)" : "=r"(r) : "r"(p), "r"(off)); emit(r);
      emit((uint32_t)(p - buf));
      /* stores: immediate post-increment, register post-increment, register-register */
      uint8_t *q = out;
      uint32_t val = 0xA1B2C3D4u;
      __asm__ volatile("cv.sw %1, (%0), 4" : "+r"(q) : "r"(val) : "memory"); emit((uint32_t)(q - out));
      __asm__ volatile("cv.sh %1, (%0), 2" : "+r"(q) : "r"(val) : "memory"); emit((uint32_t)(q - out));
      __asm__ volatile("cv.sb %1, (%0), 1" : "+r"(q) : "r"(val) : "memory"); emit((uint32_t)(q - out));
      inc = 5;
      __asm__ volatile("cv.sb %1, (%0), %2" : "+r"(q) : "r"(0x11u), "r"(inc) : "memory"); emit((uint32_t)(q - out));
      inc = 8;
      q = out + 12;
      __asm__ volatile("cv.sh %1, (%0), %2" : "+r"(q) : "r"(0x2233u), "r"(inc) : "memory"); emit((uint32_t)(q - out));
      __asm__ volatile("cv.sw %1, (%0), %2" : "+r"(q) : "r"(0x44556677u), "r"(inc) : "memory"); emit((uint32_t)(q - out));
      q = out + 32;
      off = 8;
      __asm__ volatile("cv.sw %0, %2(%1)" : : "r"(0x8899AABBu), "r"(q), "r"(off) : "memory");
      off = 14;
      __asm__ volatile("cv.sh %0, %2(%1)" : : "r"(0xCCDDu), "r"(q), "r"(off) : "memory");
      off = 3;
      __asm__ volatile("cv.sb %0, %2(%1)" : : "r"(0xEEu), "r"(q), "r"(off) : "memory");
      emit((uint32_t)(q - out));
      for (int i = 0; i < 64; i += 4) emit(*(volatile uint32_t *)(out + i));
      return 0;
    }
    """

    @Test func postIncrementAndRegisterOffsetMemory() throws {
        let (code, _, m) = try RV32.run(try RV32.build(c: Self.memoryProgram, march: Self.march), target: Self.target)
        #expect(code == 0)
        let buf = (0..<64).map { UInt8(truncatingIfNeeded: $0 * 37 + 0x80) }
        func b(_ i: Int) -> UInt32 { UInt32(buf[i]) }
        func sb(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: buf[i]))) }
        func hu(_ i: Int) -> UInt32 { b(i) | b(i + 1) << 8 }
        func sh(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int16(bitPattern: UInt16(hu(i))))) }
        func w(_ i: Int) -> UInt32 { hu(i) | hu(i + 2) << 16 }
        // Loaded values and the base register after each post-increment (as an offset into buf).
        var expected: [UInt32] = [sb(0), 3, b(3), 4, sh(4), 6, hu(6), 8, w(8), 0]
        expected += [sb(8), 14, b(14), 20, hu(20), 26, sh(26), 16, w(16), 6]
        expected += [sb(24), b(24), sh(24), hu(24), w(24), 4]
        // Store base registers after each post-increment, then the stored bytes.
        expected += [4, 6, 7, 12, 20, 28, 32]
        var out = [UInt8](repeating: 0, count: 64)
        func put(_ v: UInt32, _ at: Int, _ n: Int) { for k in 0..<n { out[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        put(0xA1B2_C3D4, 0, 4); put(0xA1B2_C3D4, 4, 2); put(0xA1B2_C3D4, 6, 1); put(0x11, 7, 1)
        put(0x2233, 12, 2); put(0x4455_6677, 20, 4)
        put(0x8899_AABB, 40, 4); put(0xCCDD, 46, 2); put(0xEE, 35, 1)
        for i in stride(from: 0, to: 64, by: 4) { expected.append(littleEndian(out, i)) }
        let bytes = m.console
        let got: [UInt32] = stride(from: 0, to: bytes.count - bytes.count % 4, by: 4).map { littleEndian(bytes, $0) }
        #expect(got == expected)
    }

    /// A CORE-V store to the platform registers behaves like a base store: console
    /// output, and the exit register ends the run (the base register still updated).
    @Test func platformRegistersThroughCoreVStores() throws {
        let source = """
        #include <stdint.h>
        int main(void) {
          uint32_t *p = (uint32_t *)0x1A000000u;
          uint32_t off = 4;
          __asm__ volatile("cv.sw %0, %2(%1)" : : "r"((uint32_t)'k'), "r"(p), "r"(off) : "memory");
          __asm__ volatile("cv.sw %1, (%0), 4" : "+r"(p) : "r"(42u) : "memory");
          return 7;
        }
        """
        let (code, console, _) = try RV32.run(try RV32.build(c: source, march: Self.march), target: Self.target)
        #expect(code == 42 && console == "k")
    }

    /// Runs `body` (C statements in main) built with the CORE-V march on `target`; returns the fault it stops with.
    static func fault(_ body: String, target: Target = XcvTests.target, watcher: (any MemoryWatcher)? = nil) throws -> (EmulatorFault, Machine) {
        let elf = try RV32.build(c: "#include <stdint.h>\nstatic uint32_t buf[16];\nint main(void) {\n\(body)\nreturn 0;\n}\n", march: march)
        let m = Machine(target: target)
        try m.load(try ELFImage(elf))
        m.watcher = watcher
        guard case .fault(let f) = m.run(limit: 1_000_000) else { throw RV32.Failure(description: "the program did not fault") }
        return (f, m)
    }

    /// Post-increment accesses check alignment and regions like the base loads and stores.
    @Test func memoryFaults() throws {
        let misaligned = try Self.fault("uint8_t *p = (uint8_t *)buf + 2; uint32_t r; __asm__ volatile(\"cv.lw %0, (%1), 4\" : \"=r\"(r), \"+r\"(p));")
        #expect(misaligned.0.kind == .misaligned && misaligned.0.address! % 4 == 2)
        #expect(misaligned.0.instruction & 0x7F == 0x0B)
        let flash = try Self.fault("uint32_t *p = (uint32_t *)0x20000100u; __asm__ volatile(\"cv.sw %1, (%0), 4\" : \"+r\"(p) : \"r\"(1u) : \"memory\");")
        #expect(flash.0.kind == .writeToFlash && flash.0.address == 0x2000_0100)
        let outside = try Self.fault("uint32_t off = 0x10; uint32_t r; __asm__ volatile(\"cv.lw %0, %2(%1)\" : \"=r\"(r) : \"r\"(0x30000000u), \"r\"(off));")
        #expect(outside.0.kind == .outOfBounds && outside.0.address == 0x3000_0010)
    }

    /// A watcher sees CORE-V loads and stores (and can reject a load).
    final class Recorder: MemoryWatcher {
        let base: UInt32, size: UInt32
        var stores: [(Int, Int)] = [], loads: [(Int, Int)] = []
        init(base: UInt32, size: UInt32) { self.base = base; self.size = size }
        func stored(offset: Int, count: Int, step: Int?) { stores.append((offset, count)) }
        func loaded(offset: Int, count: Int, step: Int?) -> String? {
            loads.append((offset, count))
            return offset == 8 ? "offset 8 was never written" : nil
        }
    }

    @Test func watcherSeesCoreVAccesses() throws {
        let r = Recorder(base: 0x1C00_0000, size: 0x100)
        let body = """
        uint8_t *p = (uint8_t *)0x1C000000u; uint32_t v;
        __asm__ volatile("cv.sh %1, (%0), 2" : "+r"(p) : "r"(7u) : "memory");
        __asm__ volatile("cv.sb %1, (%0), 2" : "+r"(p) : "r"(7u) : "memory");
        p = (uint8_t *)0x1C000000u;
        __asm__ volatile("cv.lhu %0, (%1), 4" : "=r"(v), "+r"(p));
        __asm__ volatile("cv.lw %0, (%1), 4" : "=r"(v), "+r"(p));
        __asm__ volatile("cv.lw %0, (%1), 4" : "=r"(v), "+r"(p));
        """
        let (f, _) = try Self.fault(body, watcher: r)
        guard case .planViolation(let why) = f.kind else { Issue.record("expected a plan violation, got \(f)"); return }
        #expect(why.contains("offset 8") && f.address == 0x1C00_0008)
        #expect(r.stores.map(\.0) == [0, 2] && r.stores.map(\.1) == [2, 1])
        #expect(r.loads.map(\.0) == [0, 4, 8] && r.loads.map(\.1) == [2, 4, 4])
    }

    // MARK: Encodings against LLVM

    /// The decoder accepts exactly the custom-0..3 words that the toolchain's
    /// llvm-objdump disassembles as Xcvalu/Xcvmac/Xcvbi/Xcvmem/Xcvsimd instructions
    /// (every funct field combination, plus seeded random words).
    @Test func decoderAgreesWithLLVM() throws {
        let objdump = URL(fileURLWithPath: RV32.clang).deletingLastPathComponent().appendingPathComponent("llvm-objdump").path
        guard FileManager.default.isExecutableFile(atPath: objdump) else { return }
        var words: [UInt32] = []
        let regs: UInt32 = 10 << 7 | 11 << 15  // rd = a0, rs1 = a1
        for f3 in 0..<8 as Range<UInt32> {
            for opcode in [0x0B, 0x2B, 0x5B, 0x7B] as [UInt32] {
                for top in 0..<128 as Range<UInt32> {
                    for rs2 in [0, 12] as [UInt32] { words.append(top << 25 | rs2 << 20 | regs | f3 << 12 | opcode) }
                }
            }
        }
        var state = Self.seed
        for _ in 0..<4000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let w = UInt32(truncatingIfNeeded: state >> 32)
            words.append(w & ~0x7F | [0x0B, 0x2B, 0x5B, 0x7B][Int(w & 3)])
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-xcv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try (words.map { String(format: ".word 0x%08x", $0) }.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("w.s"), atomically: true, encoding: .utf8)
        func run(_ tool: String, _ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            p.currentDirectoryURL = dir
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw RV32.Failure(description: "\(tool) failed") }
            return out
        }
        _ = try run(RV32.clang, ["--target=riscv32-unknown-elf", "-march=\(Self.march)", "-c", "w.s", "-o", "w.o"])
        let listing = try run(objdump, ["-d", "--mattr=+xcvalu,+xcvmac,+xcvbi,+xcvmem,+xcvsimd", "w.o"])
        var llvm: [UInt32: String] = [:]
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 2, fields[0].hasSuffix(":") == false, let w = UInt32(fields[0].split(separator: " ").last ?? "", radix: 16) else {
                // "addr: word \tmnemonic": the word is the last token of the first field.
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let rest = parts[1].split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
                guard rest.count >= 2, let w = UInt32(rest[0], radix: 16) else { continue }
                llvm[w] = rest[1]
                continue
            }
            llvm[w] = fields[1]
        }
        #expect(llvm.count > 1000)
        #expect(Self.opcodeName("cv.machhurn") == "cvmacn" && Self.opcodeName("cv.sdotusp.sci.b") == "cvsdotuspb")
        #expect(Self.opcodeName("cv.subrotmj.div4") == "cvsubrotmj" && Self.opcodeName("cv.sub.div2") == "cvsubdiv")
        let ext = Extensions(march: Self.march)
        var mismatches: [String] = []
        var valid = 0
        for w in Set(words) {
            guard let name = llvm[w] else { continue }
            let theirs = name != "<unknown>" && name.hasPrefix("cv.")
            if theirs { valid += 1 }
            let i = decode(w, extensions: ext)
            let ours = i.op != .illegal
            if theirs != ours { mismatches.append(String(format: "0x%08x: llvm %@, emulator %@", w, name, ours ? "decodes" : "illegal")) }
            guard theirs && ours else { continue }
            // The same operation (and, for .sc/.sci, the operand mode).
            let want = Self.opcodeName(name), got = String(describing: i.op).lowercased()
            let mode: UInt8? = name.contains(".sci") ? 2 : name.contains(".sc.") ? 1 : nil
            if want != got || (mode != nil && i.rm != mode) {
                mismatches.append(String(format: "0x%08x: llvm %@, emulator %@ (mode %d)", w, name, got, i.rm))
            }
        }
        #expect(valid > 4000)
        print("XcvTests: \(words.count) custom-opcode words, \(valid) valid for LLVM, \(mismatches.count) disagreements")
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches (seed \(Self.seed)):\n\(mismatches.sorted().prefix(40).joined(separator: "\n"))")
    }

    /// The emulator opcode (lowercased case name) an LLVM mnemonic decodes to.
    static func opcodeName(_ mnemonic: String) -> String {
        let all = mnemonic.split(separator: ".").map(String.init).dropFirst()
        let divided = all.contains { $0.hasPrefix("div") }
        var parts = all.filter { $0 != "sc" && $0 != "sci" && !$0.hasPrefix("div") }
        var base = parts.removeFirst()
        if base.hasPrefix("cmp") { base = "cmp" }
        if base.hasPrefix("shufflei") { base = "shuffle" }
        if parts.isEmpty {
            let addSub = base.hasPrefix("add") || base.hasPrefix("sub")
            if divided && addSub && base != "subrotmj" { base += "div" }
            else if addSub && base.hasSuffix("nr") { base = base.prefix(3) + "nr" }
            else if addSub && base.hasSuffix("n") { base = base.prefix(3) + "n" }
            else if base.hasPrefix("mul") { base = "muln" }
            else if base.hasPrefix("mac") && base != "mac" { base = "macn" }
        }
        return "cv" + base + parts.joined()
    }

    // MARK: Disabled extensions

    /// Each extension's encodings are illegal on a target whose march lacks it (the others present).
    @Test func disabledExtensionsAreIllegal() throws {
        let probes: [(String, String)] = [
            ("xcvalu", "__asm__ volatile(\"cv.max %0, %1, %2\" : \"=r\"(r) : \"r\"(a), \"r\"(a));"),
            ("xcvalu", "__asm__ volatile(\"cv.addrn %0, %1, %2, 3\" : \"=r\"(r) : \"r\"(a), \"r\"(a));"),
            ("xcvmac", "__asm__ volatile(\"cv.mac %0, %1, %2\" : \"+r\"(r) : \"r\"(a), \"r\"(a));"),
            ("xcvmac", "__asm__ volatile(\"cv.mulsn %0, %1, %2, 3\" : \"=r\"(r) : \"r\"(a), \"r\"(a));"),
            ("xcvbi", "__asm__ volatile(\"cv.beqimm %1, 3, 1f\\n1:\" : \"=r\"(r) : \"r\"(a));"),
            ("xcvmem", "uint32_t *p = buf; __asm__ volatile(\"cv.lw %0, (%1), 4\" : \"=r\"(r), \"+r\"(p));"),
            ("xcvmem", "uint32_t *p = buf; __asm__ volatile(\"cv.sw %1, (%0), %2\" : \"+r\"(p) : \"r\"(a), \"r\"(a) : \"memory\");"),
            ("xcvsimd", "__asm__ volatile(\"cv.sdotsp.b %0, %1, %2\" : \"+r\"(r) : \"r\"(a), \"r\"(a));"),
        ]
        let all = ["xcvalu", "xcvmac", "xcvbi", "xcvmem", "xcvsimd"]
        for (ext, statement) in probes {
            var t = RV32.target
            t.march = (["rv32imfc", "zfh"] + all.filter { $0 != ext }).joined(separator: "_")
            let (f, _) = try Self.fault("volatile uint32_t a0 = 5; uint32_t a = a0, r = 1;\n\(statement)\n(void)r;", target: t)
            #expect(f.kind == .illegalInstruction, "\(ext): \(f)")
            #expect([0x0B, 0x2B, 0x5B, 0x7B].contains(f.instruction & 0x7F), "\(ext): \(f)")
        }
        // And on the plain test target (no CORE-V at all).
        let (f, _) = try Self.fault("volatile uint32_t a = 5; uint32_t r; __asm__ volatile(\"cv.abs %0, %1\" : \"=r\"(r) : \"r\"(a));", target: RV32.target)
        #expect(f.kind == .illegalInstruction && f.instruction == 0x5000_002B | (f.instruction & 0x000F_FF80))
    }
}

// MARK: - Reference semantics

private func s32(_ v: UInt32) -> Int { Int(Int32(bitPattern: v)) }
private func word(_ v: Int) -> UInt32 { UInt32(truncatingIfNeeded: v) }
/// Lane `k` of width `w` (16 or 8), signed or unsigned.
private func lane(_ v: UInt32, _ k: Int, _ w: Int, signed: Bool) -> Int {
    let u = Int((v >> UInt32(k * w)) & (w == 16 ? 0xFFFF : 0xFF))
    return signed && u >= 1 << (w - 1) ? u - (1 << w) : u
}
/// Packs lane values (truncated to `w` bits).
private func pack(_ w: Int, _ f: (Int) -> Int) -> UInt32 {
    var r: UInt32 = 0
    for k in 0..<(32 / w) { r |= (UInt32(truncatingIfNeeded: f(k)) & (w == 16 ? 0xFFFF : 0xFF)) << UInt32(k * w) }
    return r
}
/// Arithmetic or logical right shift of a 32-bit value.
private func shiftRight(_ v: UInt32, _ n: Int, arithmetic: Bool) -> UInt32 {
    arithmetic ? UInt32(bitPattern: Int32(bitPattern: v) >> Int32(n)) : v >> UInt32(n)
}
private func roundConstant(_ n: Int) -> UInt32 { n == 0 ? 0 : 1 << UInt32(n - 1) }
private func littleEndian(_ bytes: [UInt8], _ i: Int) -> UInt32 {
    let b0 = UInt32(bytes[i]), b1 = UInt32(bytes[i + 1]), b2 = UInt32(bytes[i + 2]), b3 = UInt32(bytes[i + 3])
    return b0 | b1 << 8 | b2 << 16 | b3 << 24
}
