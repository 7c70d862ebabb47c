/// The F and Zfh operations on encodings, with IEEE 754-2008 results and RISC-V's
/// NaN rules (every NaN result is the canonical quiet NaN) and fflags. Values
/// are computed exactly in Double where that is exact (sums via TwoSum,
/// products, remainders of division and square root) and rounded once by
/// `FloatFormat.round`, so every rounding mode is correct.
enum FloatUnit {
    typealias Result = (bits: UInt32, flags: UInt8)

    private static func nanResult(_ f: FloatFormat, _ operands: [UInt32], invalid: Bool) -> Result {
        let signaling = operands.contains { f.isSignalingNaN($0) }
        return (f.canonicalNaN, invalid || signaling ? FPFlag.invalid : 0)
    }

    /// a + b (or a − b).
    static func add(_ a: UInt32, _ b: UInt32, subtract: Bool, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        let b2 = subtract ? b ^ f.signBit : b
        if f.isNaN(a) || f.isNaN(b) { return nanResult(f, [a, b], invalid: false) }
        let (x, y) = (f.double(a), f.double(b2))
        if x.isInfinite && y.isInfinite && x.sign != y.sign { return (f.canonicalNaN, FPFlag.invalid) }
        let (s, e) = exactSum(x, y)
        if s == 0 && e == 0 {
            // An exact zero: +0 unless both addends are −0, or rounding down.
            let bothNegativeZero = x == 0 && y == 0 && x.sign == .minus && y.sign == .minus
            return ((bothNegativeZero || (rm == .down && !(x == 0 && y == 0 && x.sign == .plus && y.sign == .plus))) ? f.signBit : 0, 0)
        }
        return f.round(s, errorSign: e, mode: rm)
    }

    static func multiply(_ a: UInt32, _ b: UInt32, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        if f.isNaN(a) || f.isNaN(b) { return nanResult(f, [a, b], invalid: false) }
        let (x, y) = (f.double(a), f.double(b))
        if (x.isInfinite && y == 0) || (x == 0 && y.isInfinite) { return (f.canonicalNaN, FPFlag.invalid) }
        return f.round(x * y, errorSign: 0, mode: rm)  // exact in Double
    }

    /// ±(a · b) ± c with one rounding: negateProduct for fnmsub/fnmadd, negateAddend for fmsub/fnmadd.
    static func fusedMultiplyAdd(_ a: UInt32, _ b: UInt32, _ c: UInt32, negateProduct: Bool, negateAddend: Bool, _ f: FloatFormat,
                                 _ rm: RoundingMode) -> Result {
        let (x, y) = (f.double(a), f.double(b))
        let productInvalid = (x.isInfinite && y == 0) || (x == 0 && y.isInfinite)
        if f.isNaN(a) || f.isNaN(b) || f.isNaN(c) { return nanResult(f, [a, b, c], invalid: productInvalid) }
        if productInvalid { return (f.canonicalNaN, FPFlag.invalid) }
        var p = x * y  // exact
        if negateProduct { p = -p }
        var z = f.double(c)
        if negateAddend { z = -z }
        if p.isInfinite && z.isInfinite && p.sign != z.sign { return (f.canonicalNaN, FPFlag.invalid) }
        let (s, e) = exactSum(p, z)
        if s == 0 && e == 0 {
            let bothNegative = p == 0 && z == 0 && p.sign == .minus && z.sign == .minus
            let bothPositive = p == 0 && z == 0 && p.sign == .plus && z.sign == .plus
            return ((bothNegative || (rm == .down && !bothPositive)) ? f.signBit : 0, 0)
        }
        return f.round(s, errorSign: e, mode: rm)
    }

    static func divide(_ a: UInt32, _ b: UInt32, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        if f.isNaN(a) || f.isNaN(b) { return nanResult(f, [a, b], invalid: false) }
        let (x, y) = (f.double(a), f.double(b))
        if (x == 0 && y == 0) || (x.isInfinite && y.isInfinite) { return (f.canonicalNaN, FPFlag.invalid) }
        let sign = (x.sign == .minus) != (y.sign == .minus) ? f.signBit : 0
        if y == 0 { return (sign | f.infinity, FPFlag.divideByZero) }
        if x.isInfinite { return (sign | f.infinity, 0) }
        if x == 0 || y.isInfinite { return (sign, 0) }
        let q = x / y
        let r = x.addingProduct(-q, y)  // exact remainder
        let e = r == 0 ? 0 : ((r > 0) == (y > 0) ? 1 : -1)
        return f.round(q, errorSign: e, mode: rm)
    }

    static func squareRoot(_ a: UInt32, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        if f.isNaN(a) { return nanResult(f, [a], invalid: false) }
        let x = f.double(a)
        if x == 0 { return (a, 0) }  // √±0 = ±0
        if x < 0 { return (f.canonicalNaN, FPFlag.invalid) }
        if x.isInfinite { return (a, 0) }
        let q = x.squareRoot()
        let r = x.addingProduct(-q, q)
        return f.round(q, errorSign: r > 0 ? 1 : r < 0 ? -1 : 0, mode: rm)
    }

    /// fmin / fmax (RISC-V 2.2: a NaN operand yields the other; −0 < +0).
    static func minMax(_ a: UInt32, _ b: UInt32, max: Bool, _ f: FloatFormat) -> Result {
        let flags = f.isSignalingNaN(a) || f.isSignalingNaN(b) ? FPFlag.invalid : 0
        switch (f.isNaN(a), f.isNaN(b)) {
        case (true, true): return (f.canonicalNaN, flags)
        case (true, false): return (b, flags)
        case (false, true): return (a, flags)
        case (false, false):
            let (x, y) = (f.double(a), f.double(b))
            if x == y {  // ±0: −0 is the smaller
                let aNeg = a & f.signBit != 0
                return ((aNeg != max) ? a : b, flags)
            }
            return ((x < y) != max ? a : b, flags)
        }
    }

    /// feq (quiet), flt and fle (signaling): 1 or 0.
    static func compare(_ a: UInt32, _ b: UInt32, _ f: FloatFormat, equal: Bool, less: Bool, signaling: Bool) -> Result {
        if f.isNaN(a) || f.isNaN(b) {
            let invalid = signaling || f.isSignalingNaN(a) || f.isSignalingNaN(b)
            return (0, invalid ? FPFlag.invalid : 0)
        }
        let (x, y) = (f.double(a), f.double(b))
        return (((equal && x == y) || (less && x < y)) ? 1 : 0, 0)
    }

    static func classify(_ a: UInt32, _ f: FloatFormat) -> UInt32 {
        let negative = a & f.signBit != 0
        let magnitude = a & ~f.signBit
        let mantissaBits = UInt32(f.precision - 1)
        if f.isNaN(a) { return f.isSignalingNaN(a) ? 1 << 8 : 1 << 9 }
        if magnitude == f.infinity { return negative ? 1 << 0 : 1 << 7 }
        if magnitude == 0 { return negative ? 1 << 3 : 1 << 4 }
        if magnitude >> mantissaBits == 0 { return negative ? 1 << 2 : 1 << 5 }
        return negative ? 1 << 1 : 1 << 6
    }

    /// fcvt.w / fcvt.wu: to a 32-bit integer, saturating, NaN to the largest value.
    static func toInteger(_ a: UInt32, signed: Bool, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        let (lo, hi): (Double, Double) = signed ? (-2147483648, 2147483647) : (0, 4294967295)
        if f.isNaN(a) { return (signed ? 0x7FFF_FFFF : 0xFFFF_FFFF, FPFlag.invalid) }
        let x = f.double(a)
        let rule: FloatingPointRoundingRule
        switch rm {
        case .nearestEven: rule = .toNearestOrEven
        case .towardZero: rule = .towardZero
        case .down: rule = .down
        case .up: rule = .up
        case .nearestMaxMagnitude: rule = .toNearestOrAwayFromZero
        }
        let r = x.rounded(rule)
        if r < lo { return (signed ? 0x8000_0000 : 0, FPFlag.invalid) }
        if r > hi { return (signed ? 0x7FFF_FFFF : 0xFFFF_FFFF, FPFlag.invalid) }
        let v = signed ? UInt32(bitPattern: Int32(r)) : UInt32(r)
        return (v, r != x ? FPFlag.inexact : 0)
    }

    /// fcvt.s.w / fcvt.s.wu / fcvt.h.w / fcvt.h.wu.
    static func fromInteger(_ v: UInt32, signed: Bool, _ f: FloatFormat, _ rm: RoundingMode) -> Result {
        let x = signed ? Double(Int32(bitPattern: v)) : Double(v)
        if x == 0 { return (0, 0) }
        return f.round(x, errorSign: 0, mode: rm)
    }

    /// Between formats (fcvt.s.h exact; fcvt.h.s rounded).
    static func convert(_ a: UInt32, from: FloatFormat, to: FloatFormat, _ rm: RoundingMode) -> Result {
        if from.isNaN(a) { return (to.canonicalNaN, from.isSignalingNaN(a) ? FPFlag.invalid : 0) }
        let x = from.double(a)
        if x == 0 { return (a & from.signBit != 0 ? to.signBit : 0, 0) }
        return to.round(x, errorSign: 0, mode: rm)
    }

    /// fsgnj / fsgnjn / fsgnjx: a's magnitude with a sign from b.
    static func injectSign(_ a: UInt32, _ b: UInt32, kind: Int, _ f: FloatFormat) -> UInt32 {
        let s: UInt32
        switch kind {
        case 0: s = b & f.signBit
        case 1: s = ~b & f.signBit
        default: s = (a ^ b) & f.signBit
        }
        return (a & ~f.signBit) | s
    }
}
