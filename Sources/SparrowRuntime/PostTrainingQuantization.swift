import SparrowIR

/// One conv or linear layer after post-training quantization: everything the
/// int8 kernels and the QAS update need, computed on the host at compile time.
public struct QuantizedLayer: Hashable, Sendable {
    public var name: String
    /// Input/output activation parameters, per-channel weight scales, requantization multipliers, fused clamp.
    public var params: QuantizedLayerParams
    public var weights: ChannelQuantizedWeights
    /// int32 bias in units of s_x · s_w[oc].
    public var bias: [Int32]
    /// The activation fused into the requantization (the layer's only reader).
    public var activation: QuantizedActivation
    /// Quantization-aware scaling of the gradients, per output channel: s_W⁻² and (s_W · s_x)⁻².
    public var weightGradientScale: [Double]
    public var biasGradientScale: [Double]
}

/// Post-training quantization of an FP32 model with calibration ranges:
/// int8 weights with symmetric per-output-channel scales, int8 activations with
/// per-tensor scale and zero point (from the calibrated range, widened to hold
/// 0), int32 biases, Q31 fixed-point requantization multipliers, and a ReLU or
/// ReLU6 that is a layer's only reader fused as a clamp.
public func quantizeModel(_ model: Model, calibration: CalibrationRanges) throws(RuntimeError) -> [QuantizedLayer] {
    let g = model.graph
    let consumers = g.consumers()
    var layers: [QuantizedLayer] = []
    for id in g.ids {
        let node = g[id]
        let depthwise: Bool
        switch node.op {
        case .conv2d(let c): depthwise = c.isDepthwise(inChannels: g[node.inputs[0]].type.shape[2])
        case .linear: depthwise = false
        default: continue
        }
        let input = g[node.inputs[0]].name
        guard let inParams = calibration.params(input) else { throw .model("quantization: input '\(input)' of '\(node.name)' was not calibrated") }
        var outName = node.name, activation = QuantizedActivation.none
        if consumers[id].count == 1, case .activation(let a) = g[consumers[id][0]].op {
            outName = g[consumers[id][0]].name
            activation = a == .relu ? .relu : .relu6
        }
        guard let outParams = calibration.params(outName) else { throw .model("quantization: output '\(outName)' of '\(node.name)' was not calibrated") }
        let wName = g[node.inputs[1]].name
        guard let w = model.weights[wName] else { throw .model("quantization: weight '\(wName)' is missing") }
        let channels = g[id].type.shape.dims.last ?? 1
        let q = ChannelQuantizedWeights(w.scalars, channels: depthwise ? .inner(channels) : .outer(channels))
        let params = QuantizedLayerParams(input: inParams, weightScales: q.scales, output: outParams, activation: activation)
        let b = node.inputs.count > 2 ? model.weights[g[node.inputs[2]].name]?.scalars : nil
        let factors = QuantizationAwareScaling.factors(for: params)
        layers.append(QuantizedLayer(
            name: node.name, params: params, weights: q, bias: params.quantizeBias(b ?? Array(repeating: 0, count: channels)),
            activation: activation, weightGradientScale: factors.weight, biasGradientScale: factors.bias))
    }
    return layers
}
