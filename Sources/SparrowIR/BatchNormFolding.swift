/// Folding an inference-mode batch-norm into the convolution or linear layer before it.
///
/// Batch-norm computes, per output channel c,
/// `y = γ[c]·(x − μ[c]) / √(σ²[c] + ε) + β[c]`. With `s[c] = γ[c] / √(σ²[c] + ε)`
/// and `x = w·a + b` the product of a conv/linear layer, this equals a layer with
/// `w'[c, …] = w[c, …]·s[c]` and `b'[c] = (b[c] − μ[c])·s[c] + β[c]`
/// (`b = 0` for a layer without bias). Sparrow trains on a microcontroller one
/// sample at a time, where batch statistics are meaningless, so batch-norm only ever
/// appears in this frozen form and is removed from the graph when a model is loaded.
///
/// Arithmetic is in fp64 and rounded once to fp32, so the folded weights are the
/// correctly rounded values of the formulas above.
enum BatchNormFolding {
    /// Where the output channel sits in the weight tensor.
    enum ChannelAxis: Hashable, Sendable {
        /// Conv `[Cout, Kh, Kw, Cin/groups]` and linear `[Out, In]`.
        case first
        /// Depthwise conv `[Kh, Kw, C]`.
        case last
    }

    /// The channel at which folding fails, and why.
    struct Failure: Error, Hashable, Sendable {
        var channel: Int
        var reason: String
    }

    /// The batch-norm's four per-channel vectors (PyTorch `weight`, `bias`,
    /// `running_mean`, `running_var`) and its epsilon.
    struct Statistics: Hashable, Sendable {
        var gamma: [Float]
        var beta: [Float]
        var mean: [Float]
        var variance: [Float]
        var eps: Double

        /// A freshly initialised batch-norm: γ = 1, β = 0, μ = 0, σ² = 1.
        static func identity(channels: Int, eps: Double) -> Statistics {
            Statistics(gamma: Array(repeating: 1, count: channels), beta: Array(repeating: 0, count: channels),
                       mean: Array(repeating: 0, count: channels), variance: Array(repeating: 1, count: channels), eps: eps)
        }
    }

    /// Folds `stats` into `weight` and `bias` (nil: no bias, treated as zero).
    ///
    /// Contract: `stats` vectors and `bias` have one entry per output channel and
    /// `weight.scalars.count` is a multiple of that count; the caller has checked the
    /// shapes. Throws when `σ² + ε ≤ 0` or a folded value is not finite.
    static func fold(weight: Tensor, bias: Tensor?, channelAxis: ChannelAxis, stats: Statistics) throws(Failure) -> (weight: Tensor, bias: Tensor) {
        let channels = stats.gamma.count
        guard channels > 0 else { throw Failure(channel: 0, reason: "the layer has no output channels") }
        var scale = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            let denominator = Double(stats.variance[c]) + stats.eps
            guard denominator > 0 else {
                throw Failure(channel: c, reason: "running_var + eps = \(denominator) is not positive")
            }
            scale[c] = Double(stats.gamma[c]) / denominator.squareRoot()
        }

        let perChannel = weight.scalars.count / channels
        var w = weight.scalars
        for i in w.indices {
            let c = channelAxis == .first ? i / max(perChannel, 1) : i % channels
            w[i] = Float(Double(w[i]) * scale[c])
            guard w[i].isFinite else { throw Failure(channel: c, reason: "the folded weight at element \(i) is not finite") }
        }
        var b = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let b0 = bias.map { Double($0.scalars[c]) } ?? 0
            b[c] = Float((b0 - Double(stats.mean[c])) * scale[c] + Double(stats.beta[c]))
            guard b[c].isFinite else { throw Failure(channel: c, reason: "the folded bias is not finite") }
        }
        return (Tensor(shape: weight.shape, scalars: w), Tensor(shape: Shape(channels), scalars: b))
    }
}
