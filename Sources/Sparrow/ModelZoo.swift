/// Models Sparrow ships, built in code so tests and tools need no files.
///
/// The `models/` folder holds the same architectures as JSON (plus pretrained
/// safetensors for `cnn-small`; the others start from seeded random weights).
/// The builders here always start from seeded random weights. Each family lives
/// in `Zoo/`, one file per architecture. Every model ends in a softmax cross-entropy loss, takes HWC
/// fp32 input, and is built by `ModelBuilder` (He-uniform weights, zero biases).
public enum ModelZoo {
    /// Names `model(named:)` accepts; `sparrow` lists them in this order.
    public static let names = ["cnn-small", "mobilenetv2-w0.35", "mcunet-like", "resnet8", "ds-cnn"]

    /// The zoo model with this name, initialised from `seed`, with the default
    /// input size and number of classes of its builder.
    ///
    /// - Parameters:
    ///   - name: One of ``names``.
    ///   - seed: Seed of the random initial weights; the same seed gives the same weights.
    /// - Returns: The model, or nil if `name` is not in ``names``.
    /// - Throws: Whatever the builder throws (`GraphError`, `ModelError`); the
    ///   shipped configurations build without error.
    public static func model(named name: String, seed: UInt64 = 0) throws -> Model? {
        switch name {
        case "cnn-small": return try smallCNN(seed: seed)
        case "mobilenetv2-w0.35": return try mobileNetV2(seed: seed, width: 0.35)
        case "mcunet-like": return try mcunetLike(seed: seed)
        case "resnet8": return try resNet8(seed: seed)
        case "ds-cnn": return try dsCNN(seed: seed)
        default: return nil
        }
    }

    /// A ~22 K-parameter CNN for 28×28×1 images: the `cnn-small` model.
    ///
    /// conv3×3(16)–ReLU–maxpool2–conv3×3(32)–ReLU–maxpool2–depthwise3×3–ReLU–
    /// pointwise(32)–ReLU–flatten–linear(`classes`), with softmax cross-entropy; the
    /// 3×3 convs pad 1 ("same"). 21,866 parameters with 10 classes.
    ///
    /// - Parameters:
    ///   - seed: Seed of the random initial weights.
    ///   - classes: Outputs of the classifier `fc`; must be positive.
    /// - Returns: The model, named `cnn-small`.
    /// - Throws: `GraphError` or `ModelError` for an invalid `classes`.
    public static func smallCNN(seed: UInt64 = 0, classes: Int = 10) throws -> Model {
        var b = ModelBuilder(name: "cnn-small", seed: seed)
        var x = try b.input(Shape(28, 28, 1))
        x = try b.conv2d(x, outChannels: 16, kernel: 3, padding: 1, name: "conv1")
        x = try b.relu(x, name: "relu1")
        x = try b.maxPool2d(x, kernel: 2, name: "pool1")
        x = try b.conv2d(x, outChannels: 32, kernel: 3, padding: 1, name: "conv2")
        x = try b.relu(x, name: "relu2")
        x = try b.maxPool2d(x, kernel: 2, name: "pool2")
        x = try b.depthwiseConv2d(x, kernel: 3, padding: 1, name: "dw3")
        x = try b.relu(x, name: "relu3")
        x = try b.conv2d(x, outChannels: 32, kernel: 1, name: "pw3")
        x = try b.relu(x, name: "relu4")
        x = try b.flatten(x, name: "flatten")
        x = try b.linear(x, outFeatures: classes, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }
}
