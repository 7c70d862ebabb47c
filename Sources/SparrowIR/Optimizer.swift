/// How a trainable parameter is updated from its gradient. The learning rate is not
/// part of the graph: it is given at run time so that schedules need no recompilation.
public enum Optimizer: Hashable, Sendable {
    /// Plain SGD with optional L2 weight decay.
    case sgd(weightDecay: Float)
    /// SGD with momentum (PyTorch convention: v = μv + g, w -= lr·v).
    case momentum(momentum: Float, weightDecay: Float)
    /// Adam (PyTorch convention, bias-corrected).
    case adam(beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float)

    public static let plainSGD = Optimizer.sgd(weightDecay: 0)
    public static let defaultAdam = Optimizer.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0)

    /// Persistent per-parameter tensors this optimizer keeps (same shape as the parameter).
    public var stateSlots: [OptimizerSlot] {
        switch self {
        case .sgd: return []
        case .momentum: return [.velocity]
        case .adam: return [.firstMoment, .secondMoment]
        }
    }

    public var name: String {
        switch self {
        case .sgd: return "sgd"
        case .momentum: return "momentum"
        case .adam: return "adam"
        }
    }
}

/// One persistent optimizer tensor of a parameter: zero at the start of training,
/// except `master`, which starts as the parameter's value.
public enum OptimizerSlot: String, Hashable, Sendable, CaseIterable {
    case velocity, firstMoment = "m", secondMoment = "v"
    /// An FP32 copy of a parameter stored in reduced precision: the update applies to
    /// it, and the parameter is its rounding (read last by the update, after the optimizer's slots).
    case master
}
