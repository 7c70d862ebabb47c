import Foundation
import Testing
@testable import SparrowEmulator
import SparrowPlanner

/// Packed-FP16 SIMD (Xfvec, PULP smallFloat style): programs emit the instructions
/// with `.insn` (clang knows no xfvec, so they are built for rv32imfc_zfh) and run on
/// a target whose march adds `_xfvec`. Lane-wise results (and fflags) are compared
/// with FloatUnit's scalar binary16 operation applied to each lane separately; the
/// expanding dot products with an independent exact reference (a 320-bit two's
/// complement integer in units of 2^-150 and bracketing between neighbouring
/// binary32 values). Every rounding mode is exercised through frm. Operands are
/// edge cases plus seeded random lanes (the seed is printed; FVEC_SEED reproduces).
@Suite struct FvecTests {
    static let buildMarch = "rv32imfc_zfh"
    static var target: Target {
        var t = RV32.target
        t.march = "rv32imfc_zfh_xfvec"
        return t
    }

    static let seed: UInt64 = {
        let s = ProcessInfo.processInfo.environment["FVEC_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("FvecTests: random lanes with seed \(s) (set FVEC_SEED=\(s) to reproduce)")
        return s
    }()

    /// binary16 edge cases: zeros, subnormals, min normal, ±1, 2, largest finite, infinities, qNaN, sNaN, inexact values.
    static let halves: [UInt32] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x4000, 0x7BFF, 0xFBFF, 0x7C00,
                                   0xFC00, 0x7E00, 0x7C01, 0x3555, 0x5640, 0x1400, 0x3C01, 0x7A00]

    /// Packed words: each edge case in lane 0 against another in lane 1 (so lanes differ), words that
    /// overflow in one lane only (0x7BFF·2, 0x7BFF+0x7A00), the two exactness probes of the dot product, and random lanes.
    static let words: [UInt32] = {
        let n = halves.count
        var v = (0..<n).map { k in halves[k] | halves[(k * 7 + 3) % n] << 16 }
        v += [0x3C00_7BFF, 0x4000_3C00, 0x3C00_7A00, 0x0001_0400, 0x8001_3C00, 0x0001_3C00]
        var state = seed
        for _ in 0..<8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            v.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        return v
    }()

    // MARK: Harness

    enum Form { case fp, accumulate, integer }

    /// One instruction: its `.insn` line (%0 = rd, %1 = rs1, %2 = rs2), where rd lives, and
    /// the expected (rd, fflags) from (a, b, c = old rd, rounding mode).
    struct Case {
        var asm: String
        var form: Form = .fp
        var expected: (UInt32, UInt32, UInt32, RoundingMode) -> (UInt32, UInt8)
    }

    static let modes: [RoundingMode] = [.nearestEven, .towardZero, .down, .up, .nearestMaxMagnitude]

    /// Runs every case for every rounding mode and every (a, b) pair of `lhs` × `rhs`
    /// with c = `third[...]`, and compares rd and fflags (fflags cleared before each).
    static func check(_ cases: [Case], lhs: [UInt32], rhs: [UInt32], third: [UInt32], flagMask: UInt8 = 0x1F) throws -> Int {
        func list(_ v: [UInt32]) -> String { v.map { String(format: "0x%08xu", $0) }.joined(separator: ", ") }
        var body = ""
        for k in cases {
            switch k.form {
            case .fp:
                body += "      { float fr; __asm__ volatile(\"fsflags zero\"); __asm__ volatile(\"\(k.asm)\" : \"=f\"(fr) : \"f\"(fa), \"f\"(fb)); emit(tou(fr)); }\n"
            case .accumulate:
                body += "      { float fr = tof(c); __asm__ volatile(\"fsflags zero\"); __asm__ volatile(\"\(k.asm)\" : \"+f\"(fr) : \"f\"(fa), \"f\"(fb)); emit(tou(fr)); }\n"
            case .integer:
                body += "      { uint32_t r; __asm__ volatile(\"fsflags zero\"); __asm__ volatile(\"\(k.asm)\" : \"=r\"(r) : \"f\"(fa), \"f\"(fb)); emit(r); }\n"
            }
        }
        let source = """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static inline float tof(uint32_t v) { float f; __asm__ volatile("fmv.w.x %0, %1" : "=f"(f) : "r"(v)); return f; }
        static inline uint32_t tou(float f) { uint32_t v; __asm__ volatile("fmv.x.w %0, %1" : "=r"(v) : "f"(f)); return v; }
        static void emit(uint32_t v) {
          uint32_t fl; __asm__ volatile("frflags %0" : "=r"(fl));
          REG(4) = v; REG(4) = v >> 8; REG(4) = v >> 16; REG(4) = v >> 24; REG(4) = fl;
        }
        static const uint32_t va[] = {\(list(lhs))}, vb[] = {\(list(rhs))}, vc[] = {\(list(third))};
        #define NA (sizeof va / sizeof va[0])
        #define NB (sizeof vb / sizeof vb[0])
        #define NC (sizeof vc / sizeof vc[0])
        int main(void) {
          for (uint32_t mode = 0; mode < 5; mode++) {
            __asm__ volatile("fsrm %0" : : "r"(mode));
            for (unsigned i = 0; i < NA; i++) for (unsigned j = 0; j < NB; j++) {
              uint32_t a = va[i], b = vb[j], c = vc[(i * 7 + j * 3 + mode) % NC];
              float fa = tof(a), fb = tof(b);
        \(body)    }
          }
          return 0;
        }
        """
        let (code, _, machine) = try RV32.run(try RV32.build(c: source, march: buildMarch), target: target)
        #expect(code == 0)
        let bytes = machine.console
        let total = modes.count * lhs.count * rhs.count * cases.count
        #expect(bytes.count == total * 5)
        guard bytes.count == total * 5 else { return 0 }
        var index = 0, failures = 0
        for (m, mode) in modes.enumerated() {
            for i in lhs.indices {
                for j in rhs.indices {
                    let a = lhs[i], b = rhs[j], c = third[(i * 7 + j * 3 + m) % third.count]
                    for k in cases {
                        let got = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
                        let gotFlags = bytes[index + 4] & flagMask
                        index += 5
                        let (want, wantFlags) = k.expected(a, b, c, mode)
                        if got != want || gotFlags != wantFlags & flagMask {
                            failures += 1
                            if failures <= 20 {
                                Issue.record(Comment(rawValue: String(
                                    format: "%@ (%@) a=0x%08x b=0x%08x c=0x%08x: got 0x%08x flags %02x, expected 0x%08x flags %02x (seed %llu)",
                                    k.asm, "\(mode)", a, b, c, got, gotFlags, want, wantFlags & flagMask, seed)))
                            }
                        }
                    }
                }
            }
        }
        #expect(failures == 0)
        return total
    }

    // MARK: Lane-wise operations against the scalar unit

    static let H = FloatFormat.half

    /// Per-lane reference: the scalar operation on lane 0 and on lane 1, flags ORed.
    static func perLane(_ a: UInt32, _ b: UInt32, _ op: (UInt32, UInt32) -> FloatUnit.Result) -> (UInt32, UInt8) {
        let lo = op(a & 0xFFFF, b & 0xFFFF), hi = op(a >> 16, b >> 16)
        return ((lo.bits & 0xFFFF) | (hi.bits & 0xFFFF) << 16, lo.flags | hi.flags)
    }

    static func replicated(_ b: UInt32) -> UInt32 { (b & 0xFFFF) * 0x0001_0001 }

    /// A binary operation in its vector (funct3 2) and `.r` (funct3 6) forms.
    static func binary(_ funct7: Int, form: Form = .fp, _ op: @escaping (UInt32, UInt32, RoundingMode) -> FloatUnit.Result) -> [Case] {
        [Case(asm: String(format: ".insn r 0x33, 2, 0x%02x, %%0, %%1, %%2", funct7), form: form) { a, b, _, m in perLane(a, b) { op($0, $1, m) } },
         Case(asm: String(format: ".insn r 0x33, 6, 0x%02x, %%0, %%1, %%2", funct7), form: form) { a, b, _, m in perLane(a, replicated(b)) { op($0, $1, m) } }]
    }

    static func mask(_ r: (UInt32, UInt8)) -> (UInt32, UInt8) {
        ((r.0 & 0xFFFF != 0 ? 0x0000_FFFF : 0) | (r.0 >> 16 != 0 ? 0xFFFF_0000 : 0), r.1)
    }

    @Test func laneOperationsMatchTheScalarUnit() throws {
        let H = Self.H
        var cases: [Case] = []
        cases += Self.binary(0x41) { FloatUnit.add($0, $1, subtract: false, H, $2) }
        cases += Self.binary(0x42) { FloatUnit.add($0, $1, subtract: true, H, $2) }
        cases += Self.binary(0x43) { FloatUnit.multiply($0, $1, H, $2) }
        cases += Self.binary(0x44) { FloatUnit.divide($0, $1, H, $2) }
        cases += Self.binary(0x45) { a, b, _ in FloatUnit.minMax(a, b, max: false, H) }
        cases += Self.binary(0x46) { a, b, _ in FloatUnit.minMax(a, b, max: true, H) }
        for (f7, kind) in [(0x4D, 0), (0x4E, 1), (0x4F, 2)] {
            cases += Self.binary(f7) { a, b, _ in (FloatUnit.injectSign(a, b, kind: kind, H), 0) }
        }
        cases.append(Case(asm: ".insn r 0x33, 2, 0x47, %0, %1, f0") { a, _, _, m in Self.perLane(a, 0) { x, _ in FloatUnit.squareRoot(x, H, m) } })
        // vfmac.h: rd = a·b + rd per lane with one rounding (the scalar fmadd.h).
        cases.append(Case(asm: ".insn r 0x33, 2, 0x48, %0, %1, %2", form: .accumulate) { a, b, c, m in
            let lo = FloatUnit.fusedMultiplyAdd(a & 0xFFFF, b & 0xFFFF, c & 0xFFFF, negateProduct: false, negateAddend: false, H, m)
            let hi = FloatUnit.fusedMultiplyAdd(a >> 16, b >> 16, c >> 16, negateProduct: false, negateAddend: false, H, m)
            return ((lo.bits & 0xFFFF) | hi.bits << 16, lo.flags | hi.flags)
        })
        cases.append(Case(asm: ".insn r 0x33, 6, 0x48, %0, %1, %2", form: .accumulate) { a, b, c, m in
            let lo = FloatUnit.fusedMultiplyAdd(a & 0xFFFF, b & 0xFFFF, c & 0xFFFF, negateProduct: false, negateAddend: false, H, m)
            let hi = FloatUnit.fusedMultiplyAdd(a >> 16, b & 0xFFFF, c >> 16, negateProduct: false, negateAddend: false, H, m)
            return ((lo.bits & 0xFFFF) | hi.bits << 16, lo.flags | hi.flags)
        })
        // Comparisons: a lane mask in an integer register (eq/ne quiet, lt/le/gt/ge signaling).
        func cmp(_ a: UInt32, _ b: UInt32, eq: Bool, lt: Bool, signaling: Bool) -> FloatUnit.Result {
            FloatUnit.compare(a, b, H, equal: eq, less: lt, signaling: signaling)
        }
        cases += Self.binary(0x50, form: .integer) { a, b, _ in cmp(a, b, eq: true, lt: false, signaling: false) }.map { k in
            var k = k; let e = k.expected; k.expected = { Self.mask(e($0, $1, $2, $3)) }; return k
        }
        cases += Self.binary(0x51, form: .integer) { a, b, _ in cmp(a, b, eq: true, lt: false, signaling: false) }.map { k in
            var k = k; let e = k.expected; k.expected = { let r = Self.mask(e($0, $1, $2, $3)); return (~r.0, r.1) }; return k
        }
        cases += Self.binary(0x52, form: .integer) { a, b, _ in cmp(a, b, eq: false, lt: true, signaling: true) }.map { k in
            var k = k; let e = k.expected; k.expected = { Self.mask(e($0, $1, $2, $3)) }; return k
        }
        cases += Self.binary(0x53, form: .integer) { a, b, _ in cmp(b, a, eq: true, lt: true, signaling: true) }.map { k in
            var k = k; let e = k.expected; k.expected = { Self.mask(e($0, $1, $2, $3)) }; return k
        }
        cases += Self.binary(0x54, form: .integer) { a, b, _ in cmp(a, b, eq: true, lt: true, signaling: true) }.map { k in
            var k = k; let e = k.expected; k.expected = { Self.mask(e($0, $1, $2, $3)) }; return k
        }
        cases += Self.binary(0x55, form: .integer) { a, b, _ in cmp(b, a, eq: false, lt: true, signaling: true) }.map { k in
            var k = k; let e = k.expected; k.expected = { Self.mask(e($0, $1, $2, $3)) }; return k
        }
        // vfcpka.h.s: two binary32 registers rounded to binary16, rs1 in lane 0, rs2 in lane 1.
        cases.append(Case(asm: ".insn r 0x33, 2, 0x58, %0, %1, %2") { a, b, _, m in
            let lo = FloatUnit.convert(a, from: .single, to: H, m), hi = FloatUnit.convert(b, from: .single, to: H, m)
            return ((lo.bits & 0xFFFF) | hi.bits << 16, lo.flags | hi.flags)
        })
        let checked = try Self.check(cases, lhs: Self.words, rhs: Self.words, third: Self.words)
        #expect(checked > 100_000)
    }

    /// Hand-picked lane results: canonical NaN per lane, overflow in one lane only, subnormal lanes, flag accumulation.
    @Test func laneEdgeCases() throws {
        func run(_ asm: String, _ a: UInt32, _ b: UInt32, mode: Int = 0, flagsBefore: UInt32 = 0) throws -> (UInt32, UInt32) {
            let source = """
            #include <stdint.h>
            int main(void) {
              float fa, fb, fr; uint32_t r, fl;
              __asm__ volatile("fmv.w.x %0, %1" : "=f"(fa) : "r"(\(a)u));
              __asm__ volatile("fmv.w.x %0, %1" : "=f"(fb) : "r"(\(b)u));
              __asm__ volatile("fsrm %0" : : "r"(\(mode)u));
              __asm__ volatile("fsflags %0" : : "r"(\(flagsBefore)u));
              __asm__ volatile("\(asm)" : "=f"(fr) : "f"(fa), "f"(fb));
              __asm__ volatile("frflags %0" : "=r"(fl));
              __asm__ volatile("fmv.x.w %0, %1" : "=r"(r) : "f"(fr));
              *(volatile uint32_t *)0x10008000u = r;
              *(volatile uint32_t *)0x10008004u = fl;
              return 0;
            }
            """
            let m = try RV32.run(try RV32.build(c: source, march: Self.buildMarch), target: Self.target).machine
            let out = m.read(0x1000_8000, count: 8)!
            let w = { (k: Int) in UInt32(out[k]) | UInt32(out[k + 1]) << 8 | UInt32(out[k + 2]) << 16 | UInt32(out[k + 3]) << 24 }
            return (w(0), w(4))
        }
        let add = ".insn r 0x33, 2, 0x41, %0, %1, %2", mul = ".insn r 0x33, 2, 0x43, %0, %1, %2"
        // NaN lanes: each lane's NaN is canonical; the other lane is unaffected; sNaN raises invalid.
        #expect(try run(add, 0x7C01_3C00, 0x3C00_3C00) == (0x7E00_4000, UInt32(FPFlag.invalid)))
        #expect(try run(add, 0x3C00_7F23, 0x3C00_3C00) == (0x4000_7E00, 0))
        #expect(try run(add, 0x7C00_FC00, 0xFC00_FC00) == (0x7E00_FC00, UInt32(FPFlag.invalid)))  // ∞ − ∞ in lane 1 only
        // Overflow in one lane only: lane 0 65504·2 → ∞ (RNE) or 65504 (RTZ), lane 1 exact.
        #expect(try run(mul, 0x3C00_7BFF, 0x4000_4000) == (0x4000_7C00, UInt32(FPFlag.overflow | FPFlag.inexact)))
        #expect(try run(mul, 0x3C00_7BFF, 0x4000_4000, mode: 1) == (0x4000_7BFF, UInt32(FPFlag.overflow | FPFlag.inexact)))
        // Subnormal lanes: exact subnormal sums, and a product that underflows to a subnormal.
        #expect(try run(add, 0x0001_03FF, 0x0001_0001) == (0x0002_0400, 0))
        #expect(try run(mul, 0x3C00_0400, 0x3C00_3800) == (0x3C00_0200, 0))  // 2^-14 · 0.5 = 2^-15, exact
        #expect(try run(mul, 0x3C00_0401, 0x3C00_3800) == (0x3C00_0200, UInt32(FPFlag.underflow | FPFlag.inexact)))
        // fflags accumulate: flags already set stay set.
        #expect(try run(add, 0x3C00_3C00, 0x3C00_3C00, flagsBefore: UInt32(FPFlag.divideByZero)) == (0x4000_4000, UInt32(FPFlag.divideByZero)))
        // .r: lane 0 of rs2 is used for both lanes.
        #expect(try run(".insn r 0x33, 6, 0x41, %0, %1, %2", 0x3C00_3C00, 0x7BFF_4000) == (0x4200_4200, 0))
    }

    // MARK: Expanding dot products against an exact reference

    /// binary32 accumulators: zeros, ±1, 1024 (the exactness probes), subnormals, min normal, largest finite,
    /// 2^32, infinities, NaNs, and seeded random values of every magnitude.
    static let accumulators: [UInt32] = {
        var v: [UInt32] = [0x0000_0000, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x4480_0000, 0x0000_0001, 0x8000_0003, 0x0080_0000,
                           0x7F7F_FFFF, 0xFF7F_FFFF, 0x4F80_0000, 0xCF80_0001, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001]
        var state = seed ^ 0xD07
        for _ in 0..<6 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            v.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        return v
    }()

    @Test func dotProductsAreExactAndRoundedOnce() throws {
        let cases = [
            Case(asm: ".insn r 0x33, 0, 0x4b, %0, %1, %2", form: .accumulate) { a, b, c, m in Self.referenceDot(a, b, c, negate: false, m) },
            Case(asm: ".insn r 0x33, 4, 0x4b, %0, %1, %2", form: .accumulate) { a, b, c, m in Self.referenceDot(a, Self.replicated(b), c, negate: false, m) },
            Case(asm: ".insn r 0x33, 0, 0x5d, %0, %1, %2", form: .accumulate) { a, b, c, m in Self.referenceDot(a, b, c, negate: true, m) },
            Case(asm: ".insn r 0x33, 4, 0x5d, %0, %1, %2", form: .accumulate) { a, b, c, m in Self.referenceDot(a, Self.replicated(b), c, negate: true, m) },
        ]
        // All five flags are compared: the reference never raises underflow, and no result can be tiny and inexact.
        let checked = try Self.check(cases, lhs: Self.words, rhs: Self.words, third: Self.accumulators)
        #expect(checked > 10_000)
        // Spot checks where evaluating in Double first would round twice: 1024 + 2^-14 + 2^-48 lies just above
        // the tie between 1024 and its successor (the 2^-48 is below Double's precision at 1024).
        let up = FloatUnit.expandingDotProduct(0x0001_0400, 0x0001_3C00, 0x4480_0000, negateProducts: false, .nearestEven)
        #expect(up == (0x4480_0001, FPFlag.inexact))
        let down = FloatUnit.expandingDotProduct(0x0001_0400, 0x8001_3C00, 0x4480_0000, negateProducts: false, .nearestEven)
        #expect(down == (0x4480_0000, FPFlag.inexact))
        #expect(Self.referenceDot(0x0001_0400, 0x0001_3C00, 0x4480_0000, negate: false, .nearestEven) == (0x4480_0001, FPFlag.inexact))
        // Exact cancellation of the products leaves the smallest subnormal accumulator exactly.
        #expect(FloatUnit.expandingDotProduct(0x7BFF_7BFF, 0xFBFF_7BFF, 0x0000_0001, negateProducts: false, .nearestEven) == (1, 0))
        // vfndotpex: acc − (a0·b0 + a1·b1); 1 − (1·1 + 1·1) = −1.
        #expect(FloatUnit.expandingDotProduct(0x3C00_3C00, 0x3C00_3C00, 0x3F80_0000, negateProducts: true, .nearestEven) == (0xBF80_0000, 0))
        // No underflow: a non-zero sum of products is a multiple of 2^-48 (normal in binary32) and every
        // sum is a multiple of 2^-149, so a result below 2^-126 is an exact subnormal. 2^-47 + 2^-149 is inexact.
        #expect(FloatUnit.expandingDotProduct(0x0001_0001, 0x0001_0001, 0x0000_0001, negateProducts: false, .nearestEven)
                == (0x2800_0000, FPFlag.inexact))
        #expect(FloatUnit.expandingDotProduct(0, 0, 0x0000_0001, negateProducts: false, .nearestEven) == (1, 0))
        // Overflow: the largest binary32 plus 2·65504² rounds to ∞.
        #expect(FloatUnit.expandingDotProduct(0x7BFF_7BFF, 0x7BFF_7BFF, 0x7F7F_FFFF, negateProducts: false, .nearestEven)
                == (0x7F7F_FFFF, FPFlag.inexact))  // 2^33 is far below half an ulp (2^103)
        #expect(FloatUnit.expandingDotProduct(0x7BFF_7BFF, 0x7BFF_7BFF, 0x7F7F_FFFF, negateProducts: false, .up)
                == (0x7F80_0000, FPFlag.overflow | FPFlag.inexact))
    }

    /// The unit directly against the reference on seeded random finite inputs, many of them built to cancel:
    /// the accumulator is −(a0·b0 + a1·b1) rounded to binary32 and moved a few ulps, so the exact sum is
    /// tiny next to its terms and spans far more than 53 bits.
    @Test func dotProductUnitMatchesTheReferenceUnderCancellation() {
        var state = Self.seed ^ 0xCA7CE1
        func next() -> UInt32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt32(truncatingIfNeeded: state >> 32)
        }
        func finiteHalf() -> UInt32 {
            while true { let h = next() & 0xFFFF; if h & 0x7C00 != 0x7C00 { return h } }
        }
        var failures = 0, checked = 0
        for k in 0..<3000 {
            let a = finiteHalf() | finiteHalf() << 16, b = finiteHalf() | finiteHalf() << 16
            let h = { (v: UInt32) in Double(Float16(bitPattern: UInt16(v))) }
            let products = h(a & 0xFFFF) * h(b & 0xFFFF) + h(a >> 16) * h(b >> 16)
            var acc = Float(-products)
            if !acc.isFinite { acc = products > 0 ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude }
            for _ in 0..<Int(next() % 4) { acc = next() & 1 == 0 ? acc.nextUp : acc.nextDown }
            if k % 4 == 3 { acc = Float(bitPattern: next() & 0x7F7F_FFFF | next() & 0x8000_0000) }  // any magnitude
            for mode in Self.modes {
                for negate in [false, true] {
                    let accBits = negate ? (-acc).bitPattern : acc.bitPattern  // cancels against −(products) too
                    let got = FloatUnit.expandingDotProduct(a, b, accBits, negateProducts: negate, mode)
                    let want = Self.referenceDot(a, b, accBits, negate: negate, mode)
                    checked += 1
                    if got != want {
                        failures += 1
                        if failures <= 10 {
                            Issue.record(Comment(rawValue: String(format: "a=0x%08x b=0x%08x acc=0x%08x negate=%d %@: got 0x%08x/%02x, expected 0x%08x/%02x (seed %llu)",
                                                                  a, b, accBits, negate ? 1 : 0, "\(mode)", got.bits, got.flags, want.0, want.1, Self.seed)))
                        }
                    }
                }
            }
        }
        #expect(failures == 0 && checked == 30_000)
    }

    /// The exact value of acc ± (a0·b0 + a1·b1) as a 320-bit two's complement integer in
    /// units of 2^-150, rounded to binary32 by bracketing between neighbouring floats.
    static func referenceDot(_ a: UInt32, _ b: UInt32, _ acc: UInt32, negate: Bool, _ mode: RoundingMode) -> (UInt32, UInt8) {
        let lanes = [(a & 0xFFFF, b & 0xFFFF), (a >> 16, b >> 16)]
        let nan: UInt32 = 0x7FC0_0000
        func half(_ v: UInt32) -> Float16 { Float16(bitPattern: UInt16(v)) }
        let accF = Float(bitPattern: acc)
        let zeroTimesInf = lanes.contains { (half($0.0).isInfinite && half($0.1) == 0) || (half($0.0) == 0 && half($0.1).isInfinite) }
        let anyNaN = lanes.contains { half($0.0).isNaN || half($0.1).isNaN } || accF.isNaN
        if anyNaN {
            let signaling = lanes.contains { half($0.0).isSignalingNaN || half($0.1).isSignalingNaN } || accF.isSignalingNaN
            return (nan, signaling || zeroTimesInf ? FPFlag.invalid : 0)
        }
        if zeroTimesInf { return (nan, FPFlag.invalid) }
        var terms = lanes.map { Double(half($0.0)) * Double(half($0.1)) * (negate ? -1 : 1) }
        terms.append(Double(accF))
        let infinities = Set(terms.filter { $0.isInfinite })
        if infinities.count == 2 { return (nan, FPFlag.invalid) }
        if let inf = infinities.first { return (Float(inf).bitPattern, 0) }
        var exact = Wide()
        for t in terms { exact = exact.adding(Wide(t)) }
        if exact.isZero {
            let negativeZero = terms.allSatisfy { $0.sign == .minus } || (mode == .down && !terms.allSatisfy { $0.sign == .plus })
            return (negativeZero ? 0x8000_0000 : 0, 0)
        }
        // compare(c) = sign(c − exact), for c any float or midpoint of floats.
        let compare = { (c: Double) -> Int in Wide(c).adding(exact.negated()).signum }
        let negative = exact.signum < 0
        let maxFinite = Double(Float.greatestFiniteMagnitude), twoTo128 = 0x1p128
        let magnitudeAbove = { (c: Double) -> Bool in negative ? compare(-c) > 0 : compare(c) < 0 }  // |exact| > c
        let awayFromZero = (mode == .up && !negative) || (mode == .down && negative)
        if magnitudeAbove(maxFinite) {
            let threshold = (mode == .nearestEven || mode == .nearestMaxMagnitude) ? (maxFinite + twoTo128) / 2 : awayFromZero ? maxFinite : twoTo128
            let atThreshold = negative ? compare(-threshold) == 0 : compare(threshold) == 0
            let overflows = magnitudeAbove(threshold) || (atThreshold && !awayFromZero)
            let toInfinity = overflows && (mode == .nearestEven || mode == .nearestMaxMagnitude || awayFromZero)
            let r: Float = toInfinity ? .infinity : .greatestFiniteMagnitude
            return ((negative ? -r : r).bitPattern, FPFlag.inexact | (overflows ? FPFlag.overflow : 0))
        }
        var lo = Float(exact.approximate)
        if !lo.isFinite { lo = negative ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude }
        while compare(Double(lo)) > 0 { lo = lo.nextDown }
        while lo < .greatestFiniteMagnitude && compare(Double(lo.nextUp)) <= 0 { lo = lo.nextUp }
        if compare(Double(lo)) == 0 { return (lo.bitPattern, 0) }
        let hi = lo.nextUp
        let toMid = compare((Double(lo) + Double(hi)) / 2)
        let r: Float
        switch mode {
        case .towardZero: r = negative ? hi : lo
        case .down: r = lo
        case .up: r = hi
        case .nearestEven, .nearestMaxMagnitude:
            if toMid > 0 { r = lo } else if toMid < 0 { r = hi }
            else if mode == .nearestMaxMagnitude { r = negative ? lo : hi }
            else { r = lo.bitPattern & 1 == 0 ? lo : hi }
        }
        // A zero result keeps the sign of the exact value.
        let signed = r == 0 ? (negative ? -Float(0) : Float(0)) : r
        return (signed.bitPattern, FPFlag.inexact)
    }

    /// A 320-bit two's complement integer (ten 32-bit limbs, least significant first), in units of 2^-150.
    struct Wide {
        var limbs = [UInt32](repeating: 0, count: 10)

        init() {}

        /// A finite Double that is a multiple of 2^-150 and below 2^160 in magnitude.
        init(_ d: Double) {
            guard d != 0 else { return }
            var m = d.magnitude.significandBitPattern | (1 << 52)
            var shift = Int(d.magnitude.exponent) - 52 + 150
            while shift < 0 { precondition(m & 1 == 0, "not a multiple of 2^-150"); m >>= 1; shift += 1 }
            for bit in 0..<53 where m >> UInt64(bit) & 1 != 0 {
                let p = bit + shift
                limbs[p / 32] |= 1 << UInt32(p % 32)
            }
            if d < 0 { self = negated() }
        }

        func adding(_ o: Wide) -> Wide {
            var r = Wide(), carry: UInt64 = 0
            for k in 0..<10 {
                let s = UInt64(limbs[k]) + UInt64(o.limbs[k]) + carry
                r.limbs[k] = UInt32(truncatingIfNeeded: s)
                carry = s >> 32
            }
            return r
        }

        func negated() -> Wide {
            var r = Wide()
            for k in 0..<10 { r.limbs[k] = ~limbs[k] }
            var one = Wide()
            one.limbs[0] = 1
            return r.adding(one)
        }

        var isZero: Bool { limbs.allSatisfy { $0 == 0 } }
        var signum: Int { isZero ? 0 : limbs[9] >> 31 != 0 ? -1 : 1 }

        /// A nearby Double (for the bracketing's starting point only).
        var approximate: Double {
            let m = signum < 0 ? negated() : self
            var v = 0.0
            for k in (0..<10).reversed() { v = v * 0x1p32 + Double(m.limbs[k]) }
            return (signum < 0 ? -v : v) * 0x1p-150
        }
    }

    // MARK: Disabled extension

    /// Without `_xfvec` in the target's march the encodings are illegal (they are also illegal with it
    /// for unassigned funct7/funct3 combinations).
    @Test func illegalWithoutXfvec() throws {
        func fault(_ asm: String, target: Target) throws -> EmulatorFault? {
            let source = """
            #include <stdint.h>
            int main(void) {
              float fa, fr;
              __asm__ volatile("fmv.w.x %0, %1" : "=f"(fa) : "r"(0x3c003c00u));
              __asm__ volatile("\(asm)" : "=f"(fr) : "f"(fa), "f"(fa));
              uint32_t r; __asm__ volatile("fmv.x.w %0, %1" : "=r"(r) : "f"(fr));
              return (int)(r & 0xFF);
            }
            """
            let m = Machine(target: target)
            try m.load(try ELFImage(try RV32.build(c: source, march: Self.buildMarch)))
            if case .fault(let f) = m.run(limit: 1_000_000) { return f }
            return nil
        }
        for asm in [".insn r 0x33, 2, 0x41, %0, %1, %2", ".insn r 0x33, 0, 0x4b, %0, %1, %2", ".insn r 0x33, 2, 0x58, %0, %1, %2"] {
            let f = try fault(asm, target: RV32.target)
            #expect(f?.kind == .illegalInstruction, "\(asm) without xfvec: \(String(describing: f))")
            #expect(f.map { $0.instruction & 0x7F } == 0x33)
            #expect(try fault(asm, target: Self.target) == nil, "\(asm) with xfvec")
        }
        // Unassigned forms stay illegal with xfvec: binary16 format with funct3 3 (quarter), vfsqrt with rs2 ≠ 0, vfcpkb (FLEN 64).
        for asm in [".insn r 0x33, 3, 0x41, %0, %1, %2", ".insn r 0x33, 2, 0x47, %0, %1, f5", ".insn r 0x33, 6, 0x58, %0, %1, %2"] {
            #expect(try fault(asm, target: Self.target)?.kind == .illegalInstruction, "\(asm)")
        }
        // Decoder level: the march part is parsed, and the words decode only with it.
        #expect(Extensions(march: "rv32imfc_zfh_xfvec").contains(.xfvec) && !Extensions(march: "rv32imfc_zfh").contains(.xfvec))
        let word: UInt32 = 0x41 << 25 | 2 << 20 | 1 << 15 | 2 << 12 | 3 << 7 | 0x33
        #expect(decode(word, extensions: Extensions(march: "rv32imfc_zfh_xfvec")).op == .vfAddH)
        #expect(decode(word, extensions: Extensions(march: "rv32imfc_zfh")).op == .illegal)
        #expect(Opcode.allCases.count <= 256)
    }
}
