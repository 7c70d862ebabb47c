extension ModelZoo {
    /// DS-CNN, the keyword-spotting model of MLPerf Tiny (mlcommons/tiny,
    /// `training/keyword_spotting`), the small depthwise-separable CNN of "Hello
    /// Edge: Keyword Spotting on Microcontrollers" (Zhang et al. 2017), and the
    /// second end-to-end model PULP-TrainLib reports. Input 49 × 10 × 1: 49 frames
    /// of 10 MFCC coefficients (HWC, time is the height), 12 classes (10 words,
    /// silence, unknown).
    ///
    /// Layers:
    /// - `conv1`: conv 10×4 stride 2 to 64 channels, `conv1.relu` — 25 × 5 × 64.
    ///   Padding is Keras "same" as in the reference: 4 top, 1 left, 5 bottom,
    ///   1 right (9 rows and 2 columns in all, the extra row at the bottom);
    /// - `ds1` … `ds4`: depthwise-separable blocks, `dw` depthwise 3×3 (padding 1)
    ///   + `dw.relu`, `pw` pointwise to 64 + `pw.relu`;
    /// - `pool`: global average pool over the 25 × 5 map, `fc`: linear to `classes`.
    ///   (The reference's 24×5 average pool, 49 / 2 rounded down, drops the last of
    ///   the 25 rows; averaging all of them costs nothing more and wastes no input.)
    ///
    /// 22,604 parameters (90,416 bytes in fp32) and 2,656,768 forward MACs with 12
    /// classes: the reference's 24,908 parameters minus the 2,304 values of its nine
    /// batch-norms (γ, β, moving mean and variance on 9 × 64 channels), which fold
    /// into the biases its convs already have.
    ///
    /// - Parameters:
    ///   - seed: Seed of the random initial weights.
    ///   - classes: Outputs of the classifier `fc`; must be positive.
    /// - Returns: The model, named `ds-cnn`.
    /// - Throws: `GraphError` or `ModelError` for an invalid `classes`.
    public static func dsCNN(seed: UInt64 = 0, classes: Int = 12) throws -> Model {
        var b = ModelBuilder(name: "ds-cnn", seed: seed)
        var x = try b.input(Shape(49, 10, 1))
        let first = Window2D(kernel: (10, 4), stride: (2, 2), padding: (top: 4, left: 1, bottom: 5, right: 1))
        x = try b.conv2d(x, Conv2D(window: first, outChannels: 64), name: "conv1")
        x = try b.relu(x, name: "conv1.relu")
        for i in 1...4 {
            x = try b.depthwiseConv2d(x, kernel: 3, padding: 1, name: "ds\(i).dw")
            x = try b.relu(x, name: "ds\(i).dw.relu")
            x = try b.conv2d(x, outChannels: 64, kernel: 1, name: "ds\(i).pw")
            x = try b.relu(x, name: "ds\(i).pw.relu")
        }
        x = try b.globalAvgPool(x, name: "pool")
        x = try b.linear(x, outFeatures: classes, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }
}
