extension ModelZoo {
    /// MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
    /// Bottlenecks", CVPR 2018) with a width multiplier, in the configuration of
    /// torchvision's `mobilenet_v2(width_mult:)` and TF-slim's `mobilenet_v2_035`,
    /// the MobileNetV2-w0.35 of the TinyML on-device-training papers (Lin et al. 2022).
    ///
    /// Input `resolution × resolution × 3` (HWC), default 128 × 128. Layers:
    /// - `stem`: conv 3×3 stride 2 to `makeDivisible(32 · width)` channels (16 at 0.35), ReLU6;
    /// - `b1` … `b17`: inverted-residual blocks (see `InvertedResidual`) from the
    ///   paper's table (t, c, n, s) = (1,16,1,1), (6,24,2,2), (6,32,3,2), (6,64,4,2),
    ///   (6,96,3,1), (6,160,3,2), (6,320,1,1), with c scaled by `width` and rounded
    ///   by `makeDivisible` (0.35: 8, 8, 16, 24, 32, 56, 112 channels); block k is
    ///   torchvision's `features.k`;
    /// - `head`: pointwise conv to 1280 channels (not scaled below width 1, as in
    ///   torchvision), ReLU6; `pool`: global average pool; `fc`: linear to `classes`.
    ///
    /// Width 0.35, 128 × 128, 10 classes: 401,898 parameters (1,607,592 bytes in fp32) and
    /// 18,953,472 forward MACs. With a 1000-class head at 224 × 224: 1,670,088
    /// parameters and 59,285,808 MACs — the paper's "0.35: 1.7 M parameters, 59 M MACs"
    /// (torchvision counts 1,677,128 because its batch-norms hold γ and β where the
    /// folded graph has one bias per channel).
    ///
    /// The model name stays `mobilenetv2-w<width>` whatever `resolution` and `classes` are.
    ///
    /// - Parameters:
    ///   - seed: Seed of the random initial weights.
    ///   - width: Channel multiplier of the stem and blocks (0.35 gives `mobilenetv2-w0.35`);
    ///     scaled counts are rounded by `makeDivisible` to multiples of 8, at least 8.
    ///   - resolution: Height and width of the input image in pixels.
    ///   - classes: Outputs of the classifier `fc`; must be positive.
    /// - Returns: The model, named `mobilenetv2-w` followed by `width` as Swift prints it (`0.35`, `1.0`).
    /// - Throws: `GraphError` or `ModelError` when a layer cannot be built (e.g. a
    ///   non-positive `classes` or a resolution too small for the strides).
    public static func mobileNetV2(
        seed: UInt64 = 0, width: Double = 0.35, resolution: Int = 128, classes: Int = 10
    ) throws -> Model {
        let table: [(t: Int, c: Int, n: Int, s: Int)] = [
            (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
        ]
        var b = ModelBuilder(name: "mobilenetv2-w\(width)", seed: seed)
        var x = try b.input(Shape(resolution, resolution, 3))
        x = try b.conv2d(x, outChannels: makeDivisible(32 * width), kernel: 3, stride: 2, padding: 1, name: "stem")
        x = try b.relu6(x, name: "stem.relu")
        var index = 1
        for row in table {
            for i in 0..<row.n {
                let block = InvertedResidual(outChannels: makeDivisible(Double(row.c) * width), expansion: row.t,
                                             kernel: 3, stride: i == 0 ? row.s : 1)
                x = try block.build(&b, x, name: "b\(index)")
                index += 1
            }
        }
        x = try b.conv2d(x, outChannels: makeDivisible(1280 * max(1, width)), kernel: 1, name: "head")
        x = try b.relu6(x, name: "head.relu")
        x = try b.globalAvgPool(x, name: "pool")
        x = try b.linear(x, outFeatures: classes, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }
}
