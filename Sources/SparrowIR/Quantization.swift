/// Affine quantization of one tensor (or one channel of it) to int8:
/// a real value `r` is stored as `q` with `r = scale · (q − zeroPoint)`.
///
/// `scale` is in the tensor's own units per quantization step (e.g. a weight
/// unit per int8 step) and is positive and finite; `zeroPoint` is the int8 value
/// that represents a real 0, in [−128, 127]. Rounding matches the C kernels
/// `sp_quantize_f32_to_int8` / `sp_dequantize_int8_to_f32` bit for bit: one fp32
/// division, round half to even, saturate to int8.
public struct QuantParams: Hashable, Sendable, CustomStringConvertible {
    /// Real units per quantization step (> 0, finite).
    public var scale: Float
    /// The int8 value of a real 0, in [−128, 127].
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        precondition(scale > 0 && scale.isFinite, "QuantParams: scale must be positive and finite, got \(scale)")
        precondition((-128...127).contains(zeroPoint), "QuantParams: zero point \(zeroPoint) outside [-128, 127]")
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    public var description: String { "scale \(scale), zero point \(zeroPoint)" }

    /// Asymmetric activation parameters from a calibrated range [min, max] (real
    /// units). The range is first widened to contain 0 (so a real 0 — padding,
    /// ReLU's floor — is exact); then scale = (hi − lo) / 255 and
    /// zeroPoint = round(−128 − lo / scale) clamped to int8. An empty range
    /// (hi == lo == 0) gets scale 1. NaN or infinite bounds are a precondition failure.
    public static func activation(min: Float, max: Float) -> QuantParams {
        precondition(min.isFinite && max.isFinite && min <= max,
                     "QuantParams.activation: bad calibration range [\(min), \(max)]")
        let lo = Double(Swift.min(min, 0)), hi = Double(Swift.max(max, 0))
        guard hi > lo else { return QuantParams(scale: 1, zeroPoint: 0) }
        var scale = Float((hi - lo) / 255)
        if !(scale > 0) { scale = .leastNormalMagnitude }
        let zp = (-128 - lo / Double(scale)).rounded(.toNearestOrEven)
        return QuantParams(scale: scale, zeroPoint: Int32(Swift.max(-128, Swift.min(127, zp))))
    }

    /// Activation parameters from calibration samples (their min and max).
    public static func activation(calibration values: some Sequence<Float>) -> QuantParams {
        var lo: Float = 0, hi: Float = 0
        for v in values where v.isFinite {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        return activation(min: lo, max: hi)
    }

    /// Symmetric parameters (zero point 0) for values in [−maxAbs, maxAbs]:
    /// scale = maxAbs / 127 (computed in Double, rounded once to Float), so
    /// ±maxAbs map to ±127 and −128 is never produced by rounding. maxAbs == 0
    /// (an all-zero channel) gets scale 1.
    public static func symmetric(maxAbs: Float) -> QuantParams {
        precondition(maxAbs.isFinite && maxAbs >= 0, "QuantParams.symmetric: bad max-abs \(maxAbs)")
        guard maxAbs > 0 else { return QuantParams(scale: 1, zeroPoint: 0) }
        let scale = Float(Double(maxAbs) / 127)
        return QuantParams(scale: scale > 0 ? scale : .leastNonzeroMagnitude, zeroPoint: 0)
    }

    /// `q = clamp(rne(x / scale) + zeroPoint, −128, 127)`; NaN gives zeroPoint
    /// (as `sp_quantize_f32_to_int8`).
    public func quantize(_ x: Float) -> Int8 {
        let v = x / scale
        let r: Int32
        if v.isNaN { r = 0 } else if v <= -512 { r = -512 } else if v >= 512 { r = 512 } else {
            r = Int32(v.rounded(.toNearestOrEven))
        }
        return Int8(Swift.max(-128, Swift.min(127, r + zeroPoint)))
    }

    /// `Float(q − zeroPoint) · scale` (as `sp_dequantize_int8_to_f32`).
    public func dequantize(_ q: Int8) -> Float { Float(Int32(q) - zeroPoint) * scale }

    public func quantize(_ xs: [Float]) -> [Int8] { xs.map(quantize) }
    public func dequantize(_ qs: [Int8]) -> [Float] { qs.map(dequantize) }

    /// The real value `x` after a quantize/dequantize round trip (fake quantization).
    public func fakeQuantize(_ x: Float) -> Float { dequantize(quantize(x)) }

    /// Smallest and largest real values representable (real units).
    public var representableRange: ClosedRange<Float> { dequantize(-128)...dequantize(127) }
}
