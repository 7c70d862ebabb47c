/// Channels of the last dimension, ascending and distinct: the input channels of a
/// weight that train in a partial-channel update.
public struct ChannelSelection: Hashable, Sendable {
    public let indices: [Int]

    /// Nil unless `indices` is non-empty, strictly ascending and non-negative.
    public init?(_ indices: [Int]) {
        guard let first = indices.first, first >= 0, zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        self.indices = indices
    }

    public var count: Int { indices.count }
}

/// Activation functions whose backward pass needs only a 1-bit mask of the input.
public enum Activation: String, Hashable, Sendable, CaseIterable {
    case relu, relu6
}

/// Every operation Sparrow knows, forward and backward, in one closed enum.
///
/// A node applies one `Op` to its inputs and produces exactly one tensor. Adding a
/// case does not compile until type inference, the gradient table, the kernel
/// dispatch and the cost rules all handle it. Operand order is given per case.
public enum Op: Hashable, Sendable {
    // MARK: Leaves (no inputs)
    /// One sample, fed by the caller each step.
    case input
    /// The target of the loss, fed with the sample: an int32 class index `[1]`
    /// for cross-entropy, an fp32 tensor shaped like the prediction for MSE.
    case label
    /// A learnable tensor; its value is in `Model.weights` under the node's name.
    case parameter
    /// A fixed tensor; its value is in `Model.weights` and it is never trained.
    case constant
    /// Persistent optimizer tensor of the parameter given as input 0; zero at start.
    case optimizerState(OptimizerSlot)

    // MARK: Forward
    /// `x[H,W,Cin], w, b?` → `y[Ho,Wo,Cout]`.
    case conv2d(Conv2D)
    /// `x[In], w[Out,In], b?[Out]` → `y[Out]`.
    case linear
    /// `a, b` (same type) → `a + b`: residual connections and gradient sums.
    case add
    /// `x` → activation of `x`.
    case activation(Activation)
    /// `x[H,W,C]` → `y[Ho,Wo,C]`.
    case maxPool2d(Window2D)
    /// `x[H,W,C]` → `y[Ho,Wo,C]`; padding counts in the divisor.
    case avgPool2d(Window2D)
    /// `x[H,W,C]` → `y[C]`.
    case globalAvgPool
    /// `x` → the node's declared shape (same element count, HWC order kept).
    case reshape
    /// `logits[C], label int32[1]` → scalar loss, `logsumexp(z) − z[label]`.
    case softmaxCrossEntropy
    /// `pred, target` → scalar mean squared error.
    case meanSquaredError

    // MARK: Partial-channel training (inserted by autodiff for sparse updates)
    /// `w[…, C], wSel[…, k]` → a view of `w` whose input channels `indices` are
    /// read from `wSel` instead. No storage of its own: kernels that read a weight
    /// through it take both tensors, so the frozen part stays in flash and only the
    /// trainable slice lives in SRAM.
    case splitWeight(ChannelSelection)
    /// `x[…, C]` → `x[…, indices]`: the input channels a partial weight update needs.
    case gatherChannels(ChannelSelection)

    // MARK: Saved for the backward pass (inserted by autodiff next to their forward op)
    /// `x` → 1-bit mask of where the activation's derivative is 1.
    case activationMask(Activation)
    /// `x` → uint8 index of the maximum within each pooling window.
    case maxPoolArgmax(Window2D)

    // MARK: Backward
    /// `dy, mask` → `dy` where the mask is set, else 0.
    case maskedGradient
    /// `dy, argmax` → `dx` (declared shape).
    case maxPool2dBackward(Window2D)
    /// `dy` → `dx` (declared shape).
    case avgPool2dBackward(Window2D)
    /// `dy[C]` → `dx` (declared shape).
    case globalAvgPoolBackward
    /// `dy, w` → `dx` (declared shape).
    case conv2dInputGrad(Conv2D)
    /// `x, dy` → `dw`.
    case conv2dWeightGrad(Conv2D)
    /// `dy[Out], w[Out,In]` → `dx[In]`.
    case linearInputGrad
    /// `x[In], dy[Out]` → `dw[Out,In]`.
    case linearWeightGrad
    /// `dy[…,C]` → `db[C]`, the sum over every position.
    case biasGrad
    /// `logits, label` → `softmax(logits) − onehot(label)`.
    case softmaxCrossEntropyGrad
    /// `pred, target` → `2(pred − target)/n`.
    case meanSquaredErrorGrad

    // MARK: Update
    /// `parameter, gradient, state…` → the parameter, updated in place.
    case update(Optimizer)

    /// Short lowercase name used in summaries, plans and errors.
    public var name: String {
        switch self {
        case .input: return "input"
        case .label: return "label"
        case .parameter: return "parameter"
        case .constant: return "constant"
        case .optimizerState(let s): return "state.\(s.rawValue)"
        case .conv2d: return "conv2d"
        case .linear: return "linear"
        case .add: return "add"
        case .activation(let a): return a.rawValue
        case .maxPool2d: return "maxpool2d"
        case .avgPool2d: return "avgpool2d"
        case .globalAvgPool: return "global_avgpool"
        case .reshape: return "reshape"
        case .softmaxCrossEntropy: return "softmax_cross_entropy"
        case .meanSquaredError: return "mse"
        case .splitWeight: return "split_weight"
        case .gatherChannels: return "gather_channels"
        case .activationMask(let a): return "\(a.rawValue)_mask"
        case .maxPoolArgmax: return "maxpool_argmax"
        case .maskedGradient: return "masked_grad"
        case .maxPool2dBackward: return "maxpool2d_grad"
        case .avgPool2dBackward: return "avgpool2d_grad"
        case .globalAvgPoolBackward: return "global_avgpool_grad"
        case .conv2dInputGrad: return "conv2d_input_grad"
        case .conv2dWeightGrad: return "conv2d_weight_grad"
        case .linearInputGrad: return "linear_input_grad"
        case .linearWeightGrad: return "linear_weight_grad"
        case .biasGrad: return "bias_grad"
        case .softmaxCrossEntropyGrad: return "softmax_cross_entropy_grad"
        case .meanSquaredErrorGrad: return "mse_grad"
        case .update(let o): return "update.\(o.name)"
        }
    }

    /// True for the split-weight view of a partially trained weight.
    public var isSplitWeight: Bool {
        if case .splitWeight = self { return true }
        return false
    }

    /// Leaves whose storage persists across steps (values owned by the model or optimizer).
    public var isPersistentLeaf: Bool {
        switch self {
        case .parameter, .constant, .optimizerState: return true
        default: return false
        }
    }
}
