/// The content of an architecture file (format `sparrow-model`, version 1), checked
/// field by field but not yet built into a graph. See docs/model-format.md.
struct ArchitectureSpec: Hashable, Sendable {
    var name: String
    var inputName: String
    var inputShape: Shape
    var layers: [LayerSpec]
    /// Layer (or input) whose value is the prediction; nil means the last layer.
    var output: String?
    var loss: LossKind

    static let format = "sparrow-model"
    static let version = 1
}

/// The loss a model file asks for.
enum LossKind: String, Hashable, Sendable, CaseIterable {
    case softmaxCrossEntropy = "softmax_cross_entropy"
    case mse
    /// Inference only: the model has a prediction but no loss.
    case none
}

/// One entry of `"layers"`.
struct LayerSpec: Hashable, Sendable {
    var name: String
    var op: LayerOp
    /// Names of the layers (or the model input) read; nil when the file leaves
    /// `inputs` out, meaning the previous layer.
    var inputs: [String]?
}

/// What a layer computes, with its attributes. Field names in the file are given
/// per case; sizes are in elements.
enum LayerOp: Hashable, Sendable {
    /// `conv2d`: `out_channels`, `kernel`, `stride`, `padding`, `groups`, `bias`.
    case conv2d(window: Window2D, outChannels: Int, groups: Int, bias: Bool)
    /// `depthwise_conv2d`: groups = output channels = the input's channels.
    case depthwiseConv2d(window: Window2D, bias: Bool)
    /// `linear`: `out_features`, `bias`.
    case linear(outFeatures: Int, bias: Bool)
    /// `add`: exactly two `inputs` of the same shape.
    case add
    /// `relu`, `relu6`.
    case activation(Activation)
    /// `maxpool2d`: `kernel`, `stride` (default: the kernel), `padding`.
    case maxPool2d(Window2D)
    /// `avgpool2d`: as `maxpool2d`; padding counts in the divisor.
    case avgPool2d(Window2D)
    /// `global_avgpool`: HWC → C.
    case globalAvgPool
    /// `flatten`: to rank 1 in HWC order.
    case flatten
    /// `reshape`: to `shape`, same element count, HWC order kept.
    case reshape(Shape)
    /// `batchnorm`: folded into the conv2d/linear before it at load time.
    case batchNorm(eps: Double)

    /// The `"op"` spelling in a file.
    var fileName: String {
        switch self {
        case .conv2d: return "conv2d"
        case .depthwiseConv2d: return "depthwise_conv2d"
        case .linear: return "linear"
        case .add: return "add"
        case .activation(let a): return a.rawValue
        case .maxPool2d: return "maxpool2d"
        case .avgPool2d: return "avgpool2d"
        case .globalAvgPool: return "global_avgpool"
        case .flatten: return "flatten"
        case .reshape: return "reshape"
        case .batchNorm: return "batchnorm"
        }
    }

    /// Number of inputs the op reads.
    var arity: Int { self == .add ? 2 : 1 }

    /// True for the layers a batch-norm can be folded into.
    var hasWeights: Bool {
        switch self {
        case .conv2d, .depthwiseConv2d, .linear: return true
        default: return false
        }
    }

    /// Whether the file asks for a bias (before any batch-norm folding adds one).
    var hasBias: Bool {
        switch self {
        case .conv2d(_, _, _, let b), .depthwiseConv2d(_, let b), .linear(_, let b): return b
        default: return false
        }
    }
}

/// Every `"op"` a file may use, in the order the documentation lists them.
let knownLayerOps = [
    "conv2d", "depthwise_conv2d", "linear", "add", "relu", "relu6", "maxpool2d", "avgpool2d",
    "global_avgpool", "flatten", "reshape", "batchnorm",
]
