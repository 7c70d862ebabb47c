import SparrowIR

/// Why a training graph cannot be derived. Cases name the node or parameter.
public enum AutodiffError: Error, Hashable, Sendable, CustomStringConvertible {
    case noLoss
    case unsupportedLoss(node: String, op: String)
    case unknownParameter(String)
    case sharedParameter(name: String, consumers: [String])
    case notAForwardGraph(node: String, op: String)
    case nothingToTrain
    case spec(SpecError)
    case graph(GraphError)

    public var description: String {
        switch self {
        case .noLoss: return "the model has no loss; add \"loss\": \"softmax_cross_entropy\" or \"mse\" to train it"
        case .unsupportedLoss(let n, let op): return "loss '\(n)' is a \(op); only softmax_cross_entropy and mse can seed the backward pass"
        case .unknownParameter(let n): return "'\(n)' is not a parameter of the model"
        case .sharedParameter(let n, let c): return "parameter '\(n)' is read by \(c.joined(separator: ", ")); weight sharing is not supported"
        case .notAForwardGraph(let n, let op): return "node '\(n)' is a \(op) op; autodiff takes a forward graph"
        case .nothingToTrain: return "no trainable parameter influences the loss"
        case .spec(let e): return "update spec: \(e)"
        case .graph(let e): return "internal error while building the training graph: \(e)"
        }
    }
}
