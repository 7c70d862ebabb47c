extension ModelZoo {
    /// ResNet-8, the image-classification model of MLPerf Tiny (Banbury et al.,
    /// "MLPerf Tiny Benchmark", NeurIPS 2021 Datasets and Benchmarks; mlcommons/tiny,
    /// `training/image_classification`), which PULP-TrainLib (Nadalini et al. 2022)
    /// also trains end to end. Input 32 × 32 × 3 (CIFAR-10, HWC).
    ///
    /// Layers:
    /// - `stem`: conv 3×3 to 16 channels, `stem.relu`;
    /// - `stage1`: `conv1` 3×3 (16) + `conv1.relu`, `conv2` 3×3 (16), `add` with the
    ///   stage input, `relu` — 32 × 32 × 16;
    /// - `stage2`, `stage3`: the same with 32 and 64 channels, where `conv1` has
    ///   stride 2 and the identity path becomes `shortcut`, a 1×1 stride-2 conv
    ///   (the reference model has no batch-norm there; Sparrow's conv has a bias
    ///   either way) — 16 × 16 × 32, then 8 × 8 × 64;
    /// - `pool`: global average pool (the reference's 8×8 average pool on the 8 × 8
    ///   map), `fc`: linear to `classes`.
    ///
    /// Padding is Keras "same", as in the reference: 1 on every side for the
    /// stride-1 3×3 convs, and 0 top/left, 1 bottom/right for the stride-2 ones,
    /// so weights trained with the reference compute the same function here
    /// (a PyTorch port's symmetric padding 1 shifts the sampling grid by a pixel
    /// at the same cost).
    ///
    /// 77,706 parameters (310,824 bytes in fp32) and 12,501,632 forward MACs with
    /// 10 classes: the reference's 78,666 parameters minus the 960 values of its
    /// seven batch-norms (γ, β, moving mean and variance on 240 channels), which fold
    /// into the biases its convs already have; and its ≈ 12.5 M MACs.
    ///
    /// - Parameters:
    ///   - seed: Seed of the random initial weights.
    ///   - classes: Outputs of the classifier `fc`; must be positive.
    /// - Returns: The model, named `resnet8`.
    /// - Throws: `GraphError` or `ModelError` for an invalid `classes`.
    public static func resNet8(seed: UInt64 = 0, classes: Int = 10) throws -> Model {
        var b = ModelBuilder(name: "resnet8", seed: seed)
        var x = try b.input(Shape(32, 32, 3))
        x = try b.conv2d(x, outChannels: 16, kernel: 3, padding: 1, name: "stem")
        x = try b.relu(x, name: "stem.relu")
        for (i, channels) in [16, 32, 64].enumerated() {
            x = try basicBlock(&b, x, channels: channels, downsample: i > 0, name: "stage\(i + 1)")
        }
        x = try b.globalAvgPool(x, name: "pool")
        x = try b.linear(x, outFeatures: classes, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }

    /// conv3×3–ReLU–conv3×3, plus the input (through a 1×1 stride-2 conv when
    /// downsampling), then ReLU.
    private static func basicBlock(_ b: inout ModelBuilder, _ x: NodeID, channels: Int, downsample: Bool,
                                   name: String) throws -> NodeID {
        // Keras "same" for stride 2 on an even size pads only the far side.
        let first = downsample
            ? Window2D(kernel: (3, 3), stride: (2, 2), padding: (top: 0, left: 0, bottom: 1, right: 1))
            : Window2D(kernel: 3, padding: 1)
        var y = try b.conv2d(x, Conv2D(window: first, outChannels: channels), name: "\(name).conv1")
        y = try b.relu(y, name: "\(name).conv1.relu")
        y = try b.conv2d(y, outChannels: channels, kernel: 3, padding: 1, name: "\(name).conv2")
        var identity = x
        if downsample {
            identity = try b.conv2d(x, outChannels: channels, kernel: 1, stride: 2, name: "\(name).shortcut")
        }
        y = try b.add(y, identity, name: "\(name).add")
        return try b.relu(y, name: "\(name).relu")
    }
}
