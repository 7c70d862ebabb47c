import Testing
@testable import SparrowEmulator

/// The F/Zfh unit against an independent reference: for each operation the exact
/// result is bracketed between two neighbouring representable values (by exact
/// comparisons in Double, using the host's nextUp/nextDown), and the rounding
/// mode picks one; fflags follow from the bracket. Binary16 covers every
/// rounding corner (ties, subnormals, overflow) in few bits; binary32 spot checks.
@Suite struct FloatUnitTests {
    enum Op: CaseIterable { case add, sub, mul, div, sqrt }

    /// Reference rounding of the value that `compare(c)` locates: compare(c) < 0 when
    /// c is below the exact result, 0 when equal, > 0 above. `guess` is a nearby value.
    static func reference(_ guess: Float16, compare: (Double) -> Int, mode: RoundingMode) -> (Float16, UInt8) {
        let negative = compare(0) > 0  // 0 above the exact value ⇔ it is negative
        func magnitude(_ c: Double) -> Int { negative ? -compare(-c) : compare(c) }  // c vs |exact|
        let maxFinite = Float16.greatestFiniteMagnitude
        let awayFromZero = (mode == .up && !negative) || (mode == .down && negative)
        if magnitude(Double(maxFinite)) < 0 {
            // Beyond the largest finite value: overflow (unbounded rounding reaches 2^16) or the largest finite.
            let threshold: Double = (mode == .nearestEven || mode == .nearestMaxMagnitude) ? 65520 : awayFromZero ? 65504 : 65536
            let overflows = awayFromZero ? magnitude(threshold) < 0 : magnitude(threshold) <= 0
            let toInfinity = overflows && (mode == .nearestEven || mode == .nearestMaxMagnitude || awayFromZero)
            let r: Float16 = toInfinity ? .infinity : maxFinite
            return (negative ? -r : r, FPFlag.inexact | (overflows ? FPFlag.overflow : 0))
        }
        var lo = guess.isFinite ? guess : (negative ? -maxFinite : maxFinite)
        while compare(Double(lo)) > 0 { lo = lo.nextDown }
        while lo < maxFinite && compare(Double(lo.nextUp)) <= 0 { lo = lo.nextUp }
        if compare(Double(lo)) == 0 { return (lo, 0) }
        let hi = lo.nextUp
        let toMid = compare((Double(lo) + Double(hi)) / 2)  // > 0: the midpoint is above the exact value
        let r: Float16
        switch mode {
        case .towardZero: r = negative ? hi : lo
        case .down: r = lo
        case .up: r = hi
        case .nearestEven, .nearestMaxMagnitude:
            if toMid > 0 { r = lo } else if toMid < 0 { r = hi }
            else if mode == .nearestMaxMagnitude { r = negative ? lo : hi }
            else { r = lo.significandBitPattern & 1 == 0 ? lo : hi }
        }
        return (r, FPFlag.inexact)
    }

    static let specials: [UInt16] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3C01, 0x7BFF, 0xFBFF, 0x3555,
                                     0x4248, 0x0200, 0x1400, 0x5640, 0x7800, 0x2E66]

    @Test(arguments: [RoundingMode.nearestEven, .towardZero, .down, .up, .nearestMaxMagnitude])
    func halfPrecisionMatchesTheReference(_ mode: RoundingMode) {
        var values = Self.specials
        var seedState: UInt64 = 0x5EED
        print("[FloatUnitTests] half operands: specials and 400 values from seed 0x5EED")
        for _ in 0..<400 {
            seedState = seedState &* 6364136223846793005 &+ 1442695040888963407
            let v = UInt16(truncatingIfNeeded: seedState >> 40)
            if v & 0x7C00 != 0x7C00 { values.append(v) }  // finite only; NaN/inf rules are tested elsewhere
        }
        let H = FloatFormat.half
        var checked = 0
        for a in values {
            for b in values.prefix(120) {
                let (x, y) = (Float16(bitPattern: a), Float16(bitPattern: b))
                for op in Op.allCases {
                    let got: FloatUnit.Result
                    let compare: (Double) -> Int
                    let guess: Float16
                    switch op {
                    case .add, .sub:
                        let e = op == .add ? Double(x) + Double(y) : Double(x) - Double(y)  // exact
                        got = FloatUnit.add(UInt32(a), UInt32(b), subtract: op == .sub, H, mode)
                        compare = { $0 < e ? -1 : $0 > e ? 1 : 0 }
                        guess = Float16(Float(e))
                        if e == 0 { continue }  // signed-zero rules: tested separately
                    case .mul:
                        let e = Double(x) * Double(y)
                        got = FloatUnit.multiply(UInt32(a), UInt32(b), H, mode)
                        compare = { $0 < e ? -1 : $0 > e ? 1 : 0 }
                        guess = Float16(Float(e))
                        if e == 0 { continue }
                    case .div:
                        guard y != 0, x != 0 else { continue }
                        got = FloatUnit.divide(UInt32(a), UInt32(b), H, mode)
                        // c vs a / b ⇔ c·b vs a (sign of b flips it); c·b is exact in Double.
                        compare = { c in let p = c * Double(y); let s = p < Double(x) ? -1 : p > Double(x) ? 1 : 0; return y < 0 ? -s : s }
                        guess = Float16(Float(Double(x) / Double(y)))
                    case .sqrt:
                        guard x > 0 else { continue }
                        got = FloatUnit.squareRoot(UInt32(a), H, mode)
                        compare = { c in c < 0 ? -1 : (c * c < Double(x) ? -1 : c * c > Double(x) ? 1 : 0) }
                        guess = Float16(Float(Double(x).squareRoot()))
                    }
                    let (want, wantFlags) = Self.reference(guess, compare: compare, mode: mode)
                    let exact = compare(Double(want)) == 0
                    #expect(got.bits == UInt32(want.bitPattern), "\(op) \(String(a, radix: 16)) \(String(b, radix: 16)) \(mode): got \(String(got.bits, radix: 16)) want \(String(want.bitPattern, radix: 16))")
                    #expect((got.flags & FPFlag.inexact != 0) == !exact, "\(op) \(String(a, radix: 16)) \(String(b, radix: 16)) \(mode): inexact flag")
                    if wantFlags & FPFlag.overflow != 0 { #expect(got.flags & FPFlag.overflow != 0, "\(op) overflow flag") }
                    checked += 1
                }
            }
        }
        #expect(checked > 50_000)
    }

    @Test func nanRulesAndSignedZeros() {
        let S = FloatFormat.single
        let qNaN: UInt32 = 0x7FC0_0001, sNaN: UInt32 = 0x7F80_0001, one: UInt32 = 0x3F80_0000, inf: UInt32 = 0x7F80_0000
        #expect(FloatUnit.add(qNaN, one, subtract: false, S, .nearestEven) == (0x7FC0_0000, 0))  // canonical, quiet
        #expect(FloatUnit.add(sNaN, one, subtract: false, S, .nearestEven) == (0x7FC0_0000, FPFlag.invalid))
        #expect(FloatUnit.add(inf, inf | S.signBit, subtract: false, S, .nearestEven) == (0x7FC0_0000, FPFlag.invalid))
        #expect(FloatUnit.multiply(0, inf, S, .nearestEven) == (0x7FC0_0000, FPFlag.invalid))
        #expect(FloatUnit.divide(one, 0, S, .nearestEven) == (inf, FPFlag.divideByZero))
        #expect(FloatUnit.divide(0, 0, S, .nearestEven) == (0x7FC0_0000, FPFlag.invalid))
        #expect(FloatUnit.squareRoot(one | S.signBit, S, .nearestEven) == (0x7FC0_0000, FPFlag.invalid))
        #expect(FloatUnit.squareRoot(S.signBit, S, .nearestEven) == (S.signBit, 0))
        // x − x = +0, except −0 when rounding down; (−0) + (−0) = −0.
        #expect(FloatUnit.add(one, one, subtract: true, S, .nearestEven) == (0, 0))
        #expect(FloatUnit.add(one, one, subtract: true, S, .down) == (S.signBit, 0))
        #expect(FloatUnit.add(S.signBit, S.signBit, subtract: false, S, .nearestEven) == (S.signBit, 0))
        // fmin/fmax: one NaN gives the other operand; −0 < +0; sNaN raises invalid.
        #expect(FloatUnit.minMax(qNaN, one, max: false, S) == (one, 0))
        #expect(FloatUnit.minMax(sNaN, one, max: true, S) == (one, FPFlag.invalid))
        #expect(FloatUnit.minMax(0, S.signBit, max: false, S) == (S.signBit, 0))
        #expect(FloatUnit.minMax(0, S.signBit, max: true, S) == (0, 0))
        // Comparisons: feq quiet, flt/fle signaling.
        #expect(FloatUnit.compare(qNaN, one, S, equal: true, less: false, signaling: false) == (0, 0))
        #expect(FloatUnit.compare(qNaN, one, S, equal: false, less: true, signaling: true) == (0, FPFlag.invalid))
        // Conversions saturate; NaN converts to the largest integer.
        #expect(FloatUnit.toInteger(qNaN, signed: true, S, .towardZero) == (0x7FFF_FFFF, FPFlag.invalid))
        #expect(FloatUnit.toInteger(0xCF00_0001, signed: true, S, .towardZero) == (0x8000_0000, FPFlag.invalid))
        #expect(FloatUnit.toInteger(0xBF40_0000, signed: false, S, .towardZero) == (0, FPFlag.inexact))  // −0.75 → 0
        #expect(FloatUnit.toInteger(0x3FC0_0000, signed: true, S, .nearestEven) == (2, FPFlag.inexact))  // 1.5 → 2
        #expect(FloatUnit.toInteger(0x4020_0000, signed: true, S, .nearestEven) == (2, FPFlag.inexact))  // 2.5 → 2
        #expect(FloatUnit.toInteger(0x4020_0000, signed: true, S, .nearestMaxMagnitude) == (3, FPFlag.inexact))
        // fclass.
        #expect(FloatUnit.classify(sNaN, S) == 1 << 8 && FloatUnit.classify(0x0000_0001, S) == 1 << 5
                && FloatUnit.classify(S.signBit | inf, S) == 1)
        // Single-precision subnormal result with underflow: 2^-126 · 0.75.
        let tiny = FloatUnit.multiply(0x0080_0000, 0x3F40_0000, S, .nearestEven)
        #expect(tiny.bits == 0x0060_0000 && tiny.flags == 0)  // exact subnormal: no underflow
        let tinyInexact = FloatUnit.multiply(0x0080_0001, 0x3F40_0000, S, .nearestEven)
        #expect(tinyInexact.flags == FPFlag.inexact | FPFlag.underflow)
    }
}
