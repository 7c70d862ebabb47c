/// One inverted-residual ("MBConv") block as MobileNetV2, ProxylessNAS and MCUNet
/// use it, in Sparrow's folded form (batch-norm folded into each conv's bias).
///
/// Layers, named `<block>.<part>` so a memory or cost table reads like the
/// architecture diagram:
/// - `<block>.expand` — pointwise conv to `inChannels × expansion` channels, then
///   `<block>.expand.relu` (ReLU6); skipped when `expansion == 1`, where expanding
///   would only copy the input;
/// - `<block>.dw` — depthwise `kernel × kernel` conv with `stride` and "same" padding
///   `kernel / 2`, then `<block>.dw.relu` (ReLU6);
/// - `<block>.project` — pointwise conv to `outChannels`, linear (no activation:
///   a ReLU on the narrow bottleneck would destroy information, MobileNetV2 §3.2);
/// - `<block>.add` — the residual sum, only when `stride == 1` and the channel
///   counts match (otherwise the shapes differ and there is no identity path).
struct InvertedResidual: Hashable, Sendable {
    /// Output channels of the projection.
    var outChannels: Int
    /// Hidden channels = input channels × `expansion`.
    var expansion: Int
    /// Depthwise kernel size in pixels (odd).
    var kernel: Int
    /// Depthwise stride in pixels.
    var stride: Int

    /// Appends the block to `b` after `x` and returns its output.
    func build(_ b: inout ModelBuilder, _ x: NodeID, name: String) throws -> NodeID {
        let inChannels = b.graph[x].type.shape[2]
        var y = x
        if expansion != 1 {
            y = try b.conv2d(y, outChannels: inChannels * expansion, kernel: 1, name: "\(name).expand")
            y = try b.relu6(y, name: "\(name).expand.relu")
        }
        y = try b.depthwiseConv2d(y, kernel: kernel, stride: stride, padding: kernel / 2, name: "\(name).dw")
        y = try b.relu6(y, name: "\(name).dw.relu")
        y = try b.conv2d(y, outChannels: outChannels, kernel: 1, name: "\(name).project")
        if stride == 1 && inChannels == outChannels {
            y = try b.add(x, y, name: "\(name).add")
        }
        return y
    }
}

/// The channel rounding of the MobileNet reference implementations (TF-slim and
/// torchvision `_make_divisible`): the nearest multiple of `divisor`, at least
/// `divisor`, and never more than 10 % below `value` — multiples of 8 keep SIMD
/// lanes and int8 packing full.
func makeDivisible(_ value: Double, _ divisor: Int = 8) -> Int {
    let d = Double(divisor)
    var rounded = max(divisor, Int(value + d / 2) / divisor * divisor)
    if Double(rounded) < 0.9 * value { rounded += divisor }
    return rounded
}
