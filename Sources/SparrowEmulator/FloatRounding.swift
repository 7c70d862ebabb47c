/// RISC-V floating-point rounding modes (the `rm` field / `frm` CSR).
enum RoundingMode: UInt8 {
    case nearestEven = 0, towardZero = 1, down = 2, up = 3, nearestMaxMagnitude = 4
}

/// fflags bits.
enum FPFlag {
    static let inexact: UInt8 = 1, underflow: UInt8 = 2, overflow: UInt8 = 4, divideByZero: UInt8 = 8, invalid: UInt8 = 16
}

/// A binary floating-point format the core computes in: binary32 (F) or binary16 (Zfh).
struct FloatFormat {
    /// Significand bits including the hidden one.
    let precision: Int
    let exponentBits: Int
    var bias: Int { (1 << (exponentBits - 1)) - 1 }
    var minExponent: Int { 1 - bias }
    var maxBiased: UInt32 { (1 << UInt32(exponentBits)) - 1 }
    var signBit: UInt32 { 1 << UInt32(precision - 1 + exponentBits) }
    var canonicalNaN: UInt32 { (maxBiased << UInt32(precision - 1)) | (1 << UInt32(precision - 2)) }
    var infinity: UInt32 { maxBiased << UInt32(precision - 1) }
    var largestFinite: UInt32 { infinity - 1 }

    static let single = FloatFormat(precision: 24, exponentBits: 8)
    static let half = FloatFormat(precision: 11, exponentBits: 5)

    /// The value of an encoding, exactly (every binary16 and binary32 value is a Double).
    func double(_ bits: UInt32) -> Double {
        let mantissaBits = UInt32(precision - 1)
        let sign: Double = bits & signBit != 0 ? -1 : 1
        let e = Int((bits >> mantissaBits) & maxBiased), m = Double(bits & ((1 << mantissaBits) - 1))
        if e == Int(maxBiased) { return m == 0 ? sign * .infinity : .nan }
        if e == 0 { return sign * m * Double(sign: .plus, exponent: minExponent - Int(mantissaBits), significand: 1) }
        return sign * (Double(1 << mantissaBits) + m) * Double(sign: .plus, exponent: e - bias - Int(mantissaBits), significand: 1)
    }

    func isNaN(_ bits: UInt32) -> Bool { (bits & ~signBit) > infinity }
    func isSignalingNaN(_ bits: UInt32) -> Bool { isNaN(bits) && bits & (1 << UInt32(precision - 2)) == 0 }

    /// Rounds `value + ε` to this format, where ε is an infinitesimal whose sign is
    /// `errorSign` (−1, 0, +1): the exact result of an operation known as its nearest
    /// double plus the sign of the remainder. Correct for every rounding mode,
    /// subnormals included; tininess is detected after rounding, as RISC-V specifies.
    /// Infinite `value` gives the infinity, flagless. `value` must not be NaN.
    func round(_ value: Double, errorSign: Int, mode: RoundingMode) -> (bits: UInt32, flags: UInt8) {
        let negative = value.sign == .minus
        let sign = negative ? signBit : 0
        if value.isInfinite { return (sign | infinity, 0) }
        if value == 0 && errorSign == 0 { return (sign, 0) }
        // value = m · 2^(e), m a 53-bit integer (doubles here are never subnormal).
        var m = value.significandBitPattern | (1 << 52)
        var e = Int(value.exponent) - 52
        var sticky = false
        if value == 0 {
            // Only a non-zero remainder: a tiny value of sign errorSign.
            m = 1
            e = -1100
            sticky = true
        } else if errorSign != 0 {
            sticky = true
            if (errorSign < 0) != negative { m -= 1 }  // the exact magnitude lies just below |value|
        }
        let p = precision
        let length = 64 - m.leadingZeroBitCount
        let leading = e + length - 1
        let quantum = max(leading, minExponent) - (p - 1)
        let shift = quantum - e
        var q: UInt64, above = false, half = false, below = false  // remainder vs half a quantum
        if shift <= 0 {
            q = m << UInt64(-shift)
            below = sticky
        } else if shift > 60 {
            q = 0
            below = true
        } else {
            q = m >> UInt64(shift)
            let rem = m & ((1 << UInt64(shift)) - 1), halfway = UInt64(1) << UInt64(shift - 1)
            if rem > halfway || (rem == halfway && sticky) { above = true } else if rem == halfway { half = true } else if rem != 0 || sticky { below = true }
        }
        let inexact = above || half || below
        let up: Bool
        switch mode {
        case .nearestEven: up = above || (half && q & 1 == 1)
        case .nearestMaxMagnitude: up = above || half
        case .towardZero: up = false
        case .down: up = negative && inexact
        case .up: up = !negative && inexact
        }
        // Tininess after rounding: the result rounded with an unbounded exponent is below 2^minExponent.
        var tiny = leading < minExponent - 1
        if leading == minExponent - 1 {
            // Round at precision p (quantum 2^(leading-p+1)) and see whether it carries to 2^minExponent.
            let s2 = leading - (p - 1) - e
            if s2 <= 0 { tiny = true } else if s2 > 60 { tiny = true } else {
                let q2 = m >> UInt64(s2), rem2 = m & ((1 << UInt64(s2)) - 1), h2 = UInt64(1) << UInt64(s2 - 1)
                let ab2 = rem2 > h2 || (rem2 == h2 && sticky), hf2 = rem2 == h2 && !sticky, inx2 = rem2 != 0 || sticky
                let up2: Bool
                switch mode {
                case .nearestEven: up2 = ab2 || (hf2 && q2 & 1 == 1)
                case .nearestMaxMagnitude: up2 = ab2 || hf2
                case .towardZero: up2 = false
                case .down: up2 = negative && inx2
                case .up: up2 = !negative && inx2
                }
                tiny = !(up2 && q2 + 1 == UInt64(1) << UInt64(p))
            }
        }
        if up { q += 1 }
        var exponent = quantum
        if q == UInt64(1) << UInt64(p) { q >>= 1; exponent += 1 }
        var flags: UInt8 = inexact ? FPFlag.inexact : 0
        if tiny && inexact { flags |= FPFlag.underflow }
        if q == 0 { return (sign, flags) }
        let hidden = UInt64(1) << UInt64(p - 1)
        if q < hidden { return (sign | UInt32(q), flags) }  // subnormal
        let biased = exponent + (p - 1) + bias
        if biased >= Int(maxBiased) {
            let toInfinity: Bool
            switch mode {
            case .nearestEven, .nearestMaxMagnitude: toInfinity = true
            case .towardZero: toInfinity = false
            case .down: toInfinity = negative
            case .up: toInfinity = !negative
            }
            return (sign | (toInfinity ? infinity : largestFinite), FPFlag.overflow | FPFlag.inexact)
        }
        return (sign | UInt32(biased) << UInt32(p - 1) | UInt32(q - hidden), flags)
    }
}

/// The exact sum a + b as its nearest double and the sign of the remainder (TwoSum).
@inline(__always) func exactSum(_ a: Double, _ b: Double) -> (Double, Int) {
    let s = a + b
    guard s.isFinite else { return (s, 0) }
    let bb = s - a
    let err = (a - (s - bb)) + (b - bb)
    return (s, err > 0 ? 1 : err < 0 ? -1 : 0)
}
