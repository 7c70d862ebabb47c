/// A non-negative real multiplier `M` as the integer pair the C kernels use:
/// `M ≈ mult · 2^−(31 + shift)` with `mult` a Q31 value (normally in
/// [2^30, 2^31), i.e. mult / 2^31 in [0.5, 1)) and `shift` a right shift in
/// [−31, 31] (`SP_REQUANT_SHIFT_MIN/MAX`).
///
/// `requantize` is `sp_requantize` exactly: one rounding of `acc · M`, ties up
/// (`floor(acc · M + 1/2)`), then + zero point, saturated. For real multipliers
/// in [2^−32, 2^31) the decomposition is normalised and the represented
/// multiplier is within 2^−31 relative of the real one (|mult − f·2^31| ≤ 1/2
/// with mult ≥ 2^30); below 2^−32 `mult` is denormalised at shift 31 (absolute
/// error ≤ 2^−63, and |acc · M| < 1/2 so every result is the zero point anyway).
public struct FixedPointMultiplier: Hashable, Sendable, CustomStringConvertible {
    /// Q31 multiplier, in [0, 2^31 − 1].
    public var mult: Int32
    /// Right shift beyond the Q31 point, in [−31, 31].
    public var shift: Int

    public static let shiftRange = -31...31

    public init(mult: Int32, shift: Int) {
        precondition(mult >= 0, "FixedPointMultiplier: negative mult \(mult)")
        precondition(Self.shiftRange.contains(shift), "FixedPointMultiplier: shift \(shift) outside [-31, 31]")
        self.mult = mult
        self.shift = shift
    }

    /// The nearest representation of `real` (≥ 0, finite, < 2^31): with
    /// real = f · 2^e, f in [0.5, 1), mult = round(f · 2^31) (ties away from
    /// zero; 2^31 renormalises to 2^30 with e + 1) and shift = −e.
    public init(real: Double) {
        precondition(real.isFinite && real >= 0 && real < 0x1p31,
                     "FixedPointMultiplier: multiplier \(real) outside [0, 2^31)")
        guard real > 0 else { self.init(mult: 0, shift: 0); return }
        var e = Int(real.exponent) + 1            // real = f · 2^e, f in [0.5, 1)
        if e < -31 {                               // below 2^-32: denormalised at shift 31
            let m = (real * 0x1p62).rounded(.toNearestOrAwayFromZero)
            self.init(mult: Int32(m), shift: 31)
            return
        }
        let f = real * Double(sign: .plus, exponent: -e, significand: 1)
        var m = (f * 0x1p31).rounded(.toNearestOrAwayFromZero)
        if m == 0x1p31 { m = 0x1p30; e += 1 }
        if e > 31 { self.init(mult: Int32.max, shift: -31); return } // only reals within 2^-32 of 2^31
        self.init(mult: Int32(m), shift: -e)
    }

    /// The multiplier this pair represents, exactly (a Double holds mult · 2^k).
    public var real: Double { Double(mult) * Double(sign: .plus, exponent: -(31 + shift), significand: 1) }

    public var description: String { "\(mult) · 2^-\(31 + shift)" }

    /// `floor(acc · M + 1/2)` exactly (`sp_requantize_raw`).
    public func apply(_ acc: Int32) -> Int64 {
        let n = 31 + shift
        let p = Int64(acc) * Int64(mult)
        return n == 0 ? p : (p + (Int64(1) << (n - 1))) >> n
    }

    /// `sp_requantize_clamped`: apply, + zeroPoint, clamp to `range` ∩ [−128, 127]
    /// (a range entirely outside int8 collapses to its nearer end, as in C).
    public func requantize(_ acc: Int32, zeroPoint: Int32, clampTo range: ClosedRange<Int32> = -128...127) -> Int8 {
        let hi = Int64(Swift.max(-128, Swift.min(127, range.upperBound)))
        let lo = Swift.min(Int64(Swift.max(-128, Swift.min(127, range.lowerBound))), hi)
        return Int8(Swift.max(lo, Swift.min(hi, apply(acc) + Int64(zeroPoint))))
    }
}
