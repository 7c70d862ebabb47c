import CSparrowKernels

/// A correctly rounded binary16 reference computed exactly with integers,
/// independent of any floating-point hardware: every finite fp16 value is an
/// integer multiple of 2^-24 (of 2^-48 for a product), so sums and products
/// are exact `Int128`s; quotients and square roots are integer divisions and
/// square roots with a sticky remainder. `round` is the only rounding.
enum F16Ref {
    static let nan: UInt16 = 0x7E00
    static let inf: UInt16 = 0x7C00

    static func isNaN(_ h: UInt16) -> Bool { h & 0x7C00 == 0x7C00 && h & 0x3FF != 0 }
    static func isInf(_ h: UInt16) -> Bool { h & 0x7FFF == 0x7C00 }
    static func isNeg(_ h: UInt16) -> Bool { h & 0x8000 != 0 }
    static func isZero(_ h: UInt16) -> Bool { h & 0x7FFF == 0 }

    /// A finite h as a signed integer number of 2^-24.
    static func units(_ h: UInt16) -> Int128 {
        let e = Int(h >> 10 & 0x1F), m = Int128(h & 0x3FF)
        let mag = e == 0 ? m : (m + 1024) << (e - 1)
        return isNeg(h) ? -mag : mag
    }

    /// sign · (mag + δ) · 2^exp rounded to nearest-even fp16, where δ is 0, or
    /// strictly between 0 and 1 when `sticky` (an inexact integer quotient or root).
    static func round(negative: Bool, _ mag: UInt128, exp: Int, sticky: Bool = false) -> UInt16 {
        let sign: UInt16 = negative ? 0x8000 : 0
        precondition(mag != 0, "round: zero magnitude")
        let top = 127 - mag.leadingZeroBitCount
        let qexp = max(top + exp - 10, -24)  // exponent of the fp16 quantum at this magnitude
        let k = qexp - exp  // bits below the quantum
        var q: UInt128
        if k <= 0 {
            precondition(!sticky, "round: not enough bits for a sticky value")
            q = mag << UInt128(-k)
        } else if k > 127 {
            q = 0  // far below half the smallest subnormal
        } else {
            q = mag >> UInt128(k)
            let rem = mag & ((1 << UInt128(k)) - 1), half = UInt128(1) << UInt128(k - 1)
            if rem > half || (rem == half && (sticky || q & 1 == 1)) { q += 1 }
        }
        // (qexp + 24) << 10 + q encodes subnormals (qexp = -24, q <= 1024) and
        // normals (q in [1024, 2048]; q = 2048 carries into the exponent) alike.
        let bits = (qexp + 24) << 10 + Int(q)
        return bits >= 0x7C00 ? sign | inf : sign | UInt16(bits)
    }

    static func round(_ v: Int128, exp: Int) -> UInt16 {
        round(negative: v < 0, v.magnitude, exp: exp)
    }

    static func fromFloat(_ f: Float) -> UInt16 {
        if f.isNaN { return nan }
        let negative = f.sign == .minus
        if f.isInfinite { return (negative ? 0x8000 : 0) | inf }
        if f == 0 { return negative ? 0x8000 : 0 }
        let b = f.bitPattern, e = Int(b >> 23 & 0xFF), frac = UInt128(b & 0x7F_FFFF)
        return e == 0 ? round(negative: negative, frac, exp: -149)
                      : round(negative: negative, frac | 0x80_0000, exp: e - 150)
    }

    /// Exact widening, built from the integer value (a scaling by 2^-24 is exact).
    static func toFloat(_ h: UInt16) -> Float {
        if isNaN(h) { return .nan }
        if isInf(h) { return isNeg(h) ? -.infinity : .infinity }
        let v = Float(units(h)) * 0x1p-24
        return isNeg(h) && v == 0 ? -0.0 : v
    }

    static func add(_ a: UInt16, _ b: UInt16) -> UInt16 {
        if isNaN(a) || isNaN(b) { return nan }
        if isInf(a) || isInf(b) {
            if isInf(a) && isInf(b) && isNeg(a) != isNeg(b) { return nan }
            return isInf(a) ? a : b
        }
        let s = units(a) + units(b)
        if s == 0 { return isNeg(a) && isNeg(b) ? 0x8000 : 0 }
        return round(s, exp: -24)
    }

    static func sub(_ a: UInt16, _ b: UInt16) -> UInt16 { add(a, b ^ 0x8000) }

    static func mul(_ a: UInt16, _ b: UInt16) -> UInt16 {
        if isNaN(a) || isNaN(b) { return nan }
        let sign: UInt16 = isNeg(a) != isNeg(b) ? 0x8000 : 0
        if isInf(a) || isInf(b) { return isZero(a) || isZero(b) ? nan : sign | inf }
        let p = units(a) * units(b)
        return p == 0 ? sign : round(negative: sign != 0, p.magnitude, exp: -48)
    }

    static func div(_ a: UInt16, _ b: UInt16) -> UInt16 {
        if isNaN(a) || isNaN(b) { return nan }
        let sign: UInt16 = isNeg(a) != isNeg(b) ? 0x8000 : 0
        if isInf(a) { return isInf(b) ? nan : sign | inf }
        if isInf(b) { return sign }
        if isZero(b) { return isZero(a) ? nan : sign | inf }
        if isZero(a) { return sign }
        let num = units(a).magnitude << 64, den = units(b).magnitude
        let (q, r) = num.quotientAndRemainder(dividingBy: den)
        return round(negative: sign != 0, q, exp: -64, sticky: r != 0)
    }

    static func sqrt(_ a: UInt16) -> UInt16 {
        if isNaN(a) { return nan }
        if isZero(a) { return a }
        if isNeg(a) { return nan }
        if isInf(a) { return a }
        // sqrt(A * 2^-24) = sqrt(A * 2^64) * 2^-44.
        let n = units(a).magnitude << 64
        var s = UInt128(Double(n).squareRoot())
        while s * s > n { s -= 1 }
        while (s + 1) * (s + 1) <= n { s += 1 }
        return round(negative: false, s, exp: -44, sticky: s * s != n)
    }

    static func fma(_ a: UInt16, _ b: UInt16, _ c: UInt16) -> UInt16 {
        if isNaN(a) || isNaN(b) || isNaN(c) { return nan }
        let productNeg = isNeg(a) != isNeg(b)
        if isInf(a) || isInf(b) {
            if isZero(a) || isZero(b) { return nan }
            if isInf(c) && isNeg(c) != productNeg { return nan }
            return (productNeg ? 0x8000 : 0) | inf
        }
        if isInf(c) { return c }
        let p = units(a) * units(b), cc = units(c) << 24  // both in 2^-48
        let s = p + cc
        if s == 0 { return p == 0 && cc == 0 && productNeg && isNeg(c) ? 0x8000 : 0 }
        return round(s, exp: -48)
    }

    /// Equal bits, or both NaN.
    static func same(_ a: UInt16, _ b: UInt16) -> Bool { a == b || (isNaN(a) && isNaN(b)) }

    /// Spacing of fp16 values at the magnitude of v (the subnormal spacing below 2^-14).
    static func ulp(_ v: Double) -> Double {
        let e = v == 0 ? -14 : max(Int(v.exponent), -14)
        return Double(sign: .plus, exponent: e - 10, significand: 1)
    }
}

/// fp16 special and boundary values (both signs): zeros, subnormals, the
/// normal boundary, values around 1, the largest finite, inf and NaNs.
let f16EdgeValues: [UInt16] = {
    let positive: [UInt16] = [0x0000, 0x0001, 0x0002, 0x0200, 0x03FF, 0x0400, 0x0401, 0x07FF, 0x1000,
                              0x1400, 0x37FF, 0x3800, 0x3BFF, 0x3C00, 0x3C01, 0x3E00, 0x4000, 0x5800,
                              0x7800, 0x7BFE, 0x7BFF, 0x7C00, 0x7C01, 0x7E00, 0x7FFF]
    return positive + positive.map { $0 | 0x8000 }
}()

extension SplitMix64 {
    /// Uniformly random fp16 bits (every class, NaNs included).
    mutating func f16Bits() -> UInt16 { UInt16(truncatingIfNeeded: next()) }

    /// A random finite fp16 whose binade is `exponent` (biased, 0...30), random sign.
    mutating func f16(exponent: Int) -> UInt16 {
        let e = UInt16(min(max(exponent, 0), 30))
        return UInt16(truncatingIfNeeded: next() & 0x83FF) | e << 10
    }

    /// A random finite fp16 of random binade.
    mutating func f16Finite() -> UInt16 { f16(exponent: Int(next() % 31)) }

    /// fp16 values rounded from uniform [lo, hi) floats (kernel inputs).
    mutating func f16Values(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [UInt16] {
        (0..<count).map { _ in sp_f16_from_f32(float(lo, hi)) }
    }
}

/// Biased exponent field of an fp16 (0 for subnormals and zero).
func f16Exponent(_ h: UInt16) -> Int { Int(h >> 10 & 0x1F) }
