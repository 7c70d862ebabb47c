import SparrowIR

/// The number format a plan stores its tensors in. The graph keeps its FP32
/// types (the math it means); the precision decides the bytes each tensor takes
/// on the device and which kernels run it.
public enum Precision: String, Hashable, Sendable, CaseIterable {
    /// Everything in FP32.
    case fp32
    /// IEEE binary16 activations, weights and gradients; optimizer state stays FP32
    /// (as the FP16 optimizer kernels keep it); labels, masks and indices unchanged.
    case fp16
    /// The Tiny Training Engine recipe: int8 activations (forward) and weights,
    /// int32 biases, FP32 gradients, optimizer state and loss.
    case int8
}

/// The storage type of every node of `graph` under `precision`.
///
/// Rules for `.int8`: parameters read as a conv/linear weight (directly or as
/// the trainable slice of a split weight) are int8, biases int32; values of the
/// forward pass are int8 except the prediction (dequantized logits) and the loss;
/// gradients — the outputs of backward ops, and sums and reshapes of them — stay
/// FP32, as does optimizer state. Non-FP32 tensors (labels, masks, argmax) keep their type.
public func storageTypes(_ graph: Graph, precision: Precision) -> [DType] {
    var types = graph.nodes.map(\.type.dtype)
    guard precision != .fp32 else { return types }
    var gradient = Array(repeating: false, count: graph.count)
    var weight = Array(repeating: false, count: graph.count), bias = weight
    for (i, n) in graph.nodes.enumerated() {
        switch n.op {
        case .conv2dInputGrad, .conv2dWeightGrad, .linearInputGrad, .linearWeightGrad, .biasGrad, .maskedGradient,
             .maxPool2dBackward, .avgPool2dBackward, .globalAvgPoolBackward, .softmaxCrossEntropyGrad, .meanSquaredErrorGrad:
            gradient[i] = true
        case .add, .reshape, .gatherChannels:
            gradient[i] = n.inputs.contains { gradient[$0] }
        case .conv2d, .linear:
            if n.inputs.count > 1 {
                let w = n.inputs[1]
                if case .splitWeight = graph[w].op { graph[w].inputs.forEach { weight[$0] = true } } else { weight[w] = true }
            }
            if n.inputs.count > 2 { bias[n.inputs[2]] = true }
        default:
            break
        }
    }
    for (i, n) in graph.nodes.enumerated() where n.type.dtype == .fp32 {
        switch precision {
        case .fp32:
            break
        case .fp16:
            if case .optimizerState = n.op { continue }
            types[i] = .fp16
        case .int8:
            switch n.op {
            case .optimizerState, .softmaxCrossEntropy, .meanSquaredError, .label, .update:
                continue
            case .parameter, .constant:
                types[i] = bias[i] ? .int32 : weight[i] ? .int8 : .fp32
            default:
                types[i] = gradient[i] || i == graph.prediction ? .fp32 : .int8
            }
        }
    }
    // A view stores what its storage stores.
    for (i, n) in graph.nodes.enumerated() {
        switch n.op {
        case .update, .reshape: types[i] = types[n.inputs[0]]
        default: break
        }
    }
    return types
}
