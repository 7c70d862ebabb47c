/// Exact widening of 16-bit float encodings to `Float`.
///
/// Done on bit patterns rather than with `Float16` because `Float16` is not
/// available on every host Sparrow builds for (macOS on x86_64), and every f16 and
/// bf16 value is exactly representable as a `Float`, so no rounding is involved.
enum HalfPrecision {
    /// IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits) to `Float`, exactly.
    /// Subnormals, infinities and NaNs (payload kept) map to their binary32 equivalents.
    static func floatFromF16(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: value = mantissa · 2^-24, exact in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// bfloat16 is the upper half of a binary32, so widening is a shift.
    static func floatFromBF16(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
