import SparrowIR

/// The quantization constants of an INT8 plan, fixed at compile time and carried
/// in the plan file, so every execution quantizes, requantizes and updates with
/// the same numbers.
///
/// Everything the kernels need derives from these: requantization multipliers
/// (`s_x · s_w[oc] / s_y` as `FixedPointMultiplier`), int32 bias steps
/// (`s_x · s_w[oc]`), and the QAS update steps.
public struct PlanQuantization: Hashable, Sendable {
    /// Scale and zero point of every int8 activation tensor (forward values,
    /// the input included), by node.
    public var activations: [NodeID: QuantParams]
    /// Symmetric per-output-channel scale of every int8 weight tensor (frozen
    /// weights and trainable slices), weight units per step, by node.
    public var weightScales: [NodeID: [Float]]
    /// Quantization-aware scaling of the updates (Lin et al. 2022). Without it an
    /// update moves the int8 tensor by `lr · G_W̄ = lr · s_W · G_W` steps, the
    /// naive rule QAS corrects; with it by `lr · G_W / s_W` steps, as FP32 SGD would.
    public var qas: Bool

    public init(activations: [NodeID: QuantParams], weightScales: [NodeID: [Float]], qas: Bool) {
        self.activations = activations
        self.weightScales = weightScales
        self.qas = qas
    }
}

/// How an FP16 plan's kernels sum: the accumulator format of every
/// multiply-accumulate and reduction.
public enum Accumulation: String, Hashable, Sendable, CaseIterable {
    /// Every multiply-accumulate rounds to FP16, as packed-FP16 SIMD MACs do.
    case fp16
    /// FP16 inputs, FP32 accumulators, one rounding at the end (an expanding dot product).
    case fp32
}
