/// The integer parameters of one quantized conv / linear layer, derived from
/// the real scales: what `sp_conv2d_fwd_int8` / `sp_linear_fwd_int8` take in
/// their `sp_requant_int8`. Built on the host at plan time (Double arithmetic
/// here is fine: only the integers reach the kernels).
public struct QuantizedLayerParams: Hashable, Sendable {
    /// Input activation parameters (per tensor).
    public var input: QuantParams
    /// Output activation parameters (per tensor).
    public var output: QuantParams
    /// Weight scale per output channel (symmetric: zero point 0), weight units per step.
    public var weightScales: [Float]
    /// Per output channel: s_x · s_w[oc] / s_y as a fixed-point multiplier.
    public var multipliers: [FixedPointMultiplier]
    /// Output clamp in the quantized domain (fused activation).
    public var activationRange: ClosedRange<Int32>

    public init(input: QuantParams, weightScales: [Float], output: QuantParams,
                activation: QuantizedActivation = .none) {
        self.input = input
        self.output = output
        self.weightScales = weightScales
        multipliers = weightScales.map {
            FixedPointMultiplier(real: Double(input.scale) * Double($0) / Double(output.scale))
        }
        activationRange = activation.range(output)
    }

    /// Bias scale per output channel, s_x · s_w[oc] (real units per int32 step).
    public var biasScales: [Double] { weightScales.map { Double(input.scale) * Double($0) } }

    /// Int32 bias: b[oc] / (s_x · s_w[oc]) rounded half to even, saturated to int32.
    public func quantizeBias(_ bias: [Float]) -> [Int32] {
        precondition(bias.count == weightScales.count, "quantizeBias: \(bias.count) biases for \(weightScales.count) channels")
        return zip(bias, biasScales).map { b, s in
            let v = (Double(b) / s).rounded(.toNearestOrEven)
            if v.isNaN { return 0 }
            return Int32(Swift.max(Double(Int32.min), Swift.min(Double(Int32.max), v)))
        }
    }

    public var mults: [Int32] { multipliers.map(\.mult) }
    public var shifts: [Int32] { multipliers.map { Int32($0.shift) } }
}

/// An activation fused into the requantization as a clamp of the int8 output.
public enum QuantizedActivation: String, Hashable, Sendable, CaseIterable {
    case none, relu, relu6

    /// The clamp for output parameters `p`: none = [−128, 127]; ReLU =
    /// [zp, 127]; ReLU6 = [zp, min(127, zp + rne(6 / scale))].
    public func range(_ p: QuantParams) -> ClosedRange<Int32> {
        switch self {
        case .none: return -128...127
        case .relu: return p.zeroPoint...127
        case .relu6:
            let six = Int64(p.zeroPoint) + Int64((Double(6) / Double(p.scale)).rounded(.toNearestOrEven).clamped(-1e6, 1e6))
            return p.zeroPoint...Int32(Swift.max(Int64(p.zeroPoint), Swift.min(127, six)))
        }
    }
}

/// Symmetric per-output-channel weight quantization (max-abs / 127 per channel).
public struct ChannelQuantizedWeights: Hashable, Sendable {
    /// Scale per output channel (weight units per step); zero points are 0.
    public var scales: [Float]
    /// The int8 weights, in the layout they came in.
    public var values: [Int8]

    /// `channelOf(i)` gives the output channel of element i: for conv `[Cout][Kh][Kw][Cin]`
    /// and linear `[Out][In]` use `.outer(count)`, for depthwise `[Kh][Kw][C]` `.inner(count)`.
    public init(_ weights: [Float], channels layout: ChannelLayout) {
        let n = layout.channels
        precondition(n > 0 && weights.count % n == 0, "ChannelQuantizedWeights: \(weights.count) weights for \(n) channels")
        var maxAbs = [Float](repeating: 0, count: n)
        for (i, w) in weights.enumerated() where w.isFinite {
            let c = layout.channel(of: i, count: weights.count)
            maxAbs[c] = Swift.max(maxAbs[c], abs(w))
        }
        let params = maxAbs.map(QuantParams.symmetric(maxAbs:))
        scales = params.map(\.scale)
        values = weights.enumerated().map { i, w in params[layout.channel(of: i, count: weights.count)].quantize(w) }
    }

    /// Where the output channel sits in a weight tensor.
    public enum ChannelLayout: Hashable, Sendable {
        /// Outermost dimension (conv `[Cout][Kh][Kw][Cin/g]`, linear `[Out][In]`).
        case outer(Int)
        /// Innermost dimension (depthwise `[Kh][Kw][C]`).
        case inner(Int)

        public var channels: Int {
            switch self { case .outer(let n), .inner(let n): return n }
        }

        func channel(of i: Int, count: Int) -> Int {
            switch self {
            case .outer(let n): return i / (count / n)
            case .inner(let n): return i % n
            }
        }
    }
}

extension Double {
    fileprivate func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.max(lo, Swift.min(hi, self)) }
}
