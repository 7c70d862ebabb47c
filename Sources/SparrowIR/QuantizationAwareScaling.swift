/// Quantization-aware scaling (QAS, Lin et al. 2022 — REFERENCES.md "TTE"):
/// training the int8 weights W̄ = W / s_W directly gives gradients
/// G_W̄ ≈ s_W · G_W, whose ratio to the weights is off by s_W⁻² compared with
/// fp32 training. QAS multiplies the gradients with respect to the quantized
/// tensors by the factors below before the update; no hyper-parameters, no
/// memory. The factors are dimensionless per quantized step² of the parameter:
/// they turn G_W̄ (loss per weight step) into a step count comparable to fp32 SGD.
public enum QuantizationAwareScaling {
    /// Factor for the gradient of the int8 weights of one output channel: s_W⁻²
    /// (s_W in weight units per int8 step).
    public static func weightGradientScale(weightScale: Float) -> Double {
        precondition(weightScale > 0 && weightScale.isFinite, "QAS: bad weight scale \(weightScale)")
        let s = Double(weightScale)
        return 1 / (s * s)
    }

    /// Factor for the gradient of the int32 bias of one output channel, whose
    /// step is s_W · s_x: (s_W · s_x)⁻².
    public static func biasGradientScale(weightScale: Float, inputScale: Float) -> Double {
        precondition(weightScale > 0 && weightScale.isFinite && inputScale > 0 && inputScale.isFinite,
                     "QAS: bad scales s_W \(weightScale), s_x \(inputScale)")
        let s = Double(weightScale) * Double(inputScale)
        return 1 / (s * s)
    }

    /// Both factors for every output channel of a layer.
    public static func factors(for layer: QuantizedLayerParams) -> (weight: [Double], bias: [Double]) {
        (layer.weightScales.map { weightGradientScale(weightScale: $0) },
         layer.weightScales.map { biasGradientScale(weightScale: $0, inputScale: layer.input.scale) })
    }
}
