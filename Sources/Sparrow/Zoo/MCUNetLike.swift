extension ModelZoo {
    /// The fixed block list of `mcunetLike`: per block, output channels, expansion,
    /// depthwise kernel and stride.
    ///
    /// MCUNet (Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020;
    /// mit-han-lab/mcunet) searches each block's kernel in {3, 5, 7} and expansion
    /// in {3, 4, 6} under a memory constraint. This list is hand-picked in that
    /// style, **not** the published searched network: large kernels and expansion 6
    /// on the first block of each stage (which downsamples, so a wide receptive
    /// field is cheap there), smaller kernels and ratios on the blocks that follow,
    /// and ProxylessNAS/MCUNet stage widths 16, 24, 40, 48, 96, 160.
    static let mcunetLikeBlocks: [InvertedResidual] = {
        let stages: [(channels: Int, stride: Int, blocks: [(kernel: Int, expansion: Int)])] = [
            (8, 1, [(3, 1)]),
            (16, 2, [(7, 4), (3, 3)]),
            (24, 2, [(7, 6), (5, 3), (5, 4)]),
            (40, 2, [(7, 6), (5, 4), (5, 4)]),
            (48, 1, [(5, 6), (3, 4)]),
            (96, 2, [(7, 6), (5, 4), (5, 4), (3, 4)]),
            (160, 1, [(7, 6)]),
        ]
        return stages.flatMap { stage in
            stage.blocks.enumerated().map { i, blk in
                InvertedResidual(outChannels: stage.channels, expansion: blk.expansion, kernel: blk.kernel,
                                 stride: i == 0 ? stage.stride : 1)
            }
        }
    }()

    /// An MCUNet-like inverted-residual network for 128 × 128 × 3 images (HWC):
    /// MCUNet-like, not the published searched network (see `mcunetLikeBlocks` for
    /// the configuration and why it looks the way it does).
    ///
    /// Layers: `stem` conv 3×3 stride 2 to 16 channels + ReLU6; `b1` … `b16`
    /// inverted-residual blocks (`InvertedResidual`, ReLU6) with kernels 3/5/7 and
    /// expansions 1/3/4/6, ending at 160 channels on a 4 × 4 map; `pool` global
    /// average pool; `fc` linear to `classes`. There is no wide 1×1 head conv: in
    /// MobileNetV2-w0.35 that layer alone holds 36 % of the parameters, and the
    /// classifier reads the 160 channels directly.
    ///
    /// 607,098 parameters (2,428,392 bytes in fp32) and 29,731,904 forward MACs with
    /// 10 classes: 1.5× the parameters and 1.6× the MACs of MobileNetV2-w0.35 at the
    /// same input, so the two compare fairly in memory and cycle tables.
    ///
    /// - Parameters:
    ///   - seed: Seed of the random initial weights.
    ///   - classes: Outputs of the classifier `fc`; must be positive.
    /// - Returns: The model, named `mcunet-like`.
    /// - Throws: `GraphError` or `ModelError` for an invalid `classes`.
    public static func mcunetLike(seed: UInt64 = 0, classes: Int = 10) throws -> Model {
        var b = ModelBuilder(name: "mcunet-like", seed: seed)
        var x = try b.input(Shape(128, 128, 3))
        x = try b.conv2d(x, outChannels: 16, kernel: 3, stride: 2, padding: 1, name: "stem")
        x = try b.relu6(x, name: "stem.relu")
        for (i, block) in mcunetLikeBlocks.enumerated() {
            x = try block.build(&b, x, name: "b\(i + 1)")
        }
        x = try b.globalAvgPool(x, name: "pool")
        x = try b.linear(x, outFeatures: classes, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }
}
