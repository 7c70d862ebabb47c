import SparrowIR

/// One training step as a single static graph: the forward pass (with the tensors
/// the backward pass saves), the backward pass, and the parameter updates.
///
/// The runtime executes it node by node; there is no tape at run time.
/// Nodes `0..<forwardEnd` are the forward pass: running only those is inference.
public struct TrainingGraph: Hashable, Sendable {
    public var graph: Graph
    /// Trainable parameters, in graph order.
    public var trainable: [NodeID]
    /// Gradient node of each trainable parameter.
    public var gradients: [NodeID: NodeID]
    /// Update node of each trainable parameter (updates the parameter in place).
    public var updates: [NodeID: NodeID]
    public var optimizer: Optimizer
    /// One past the last forward node.
    public var forwardEnd: Int

    /// Phase of a node by its position and op.
    public func phase(of id: NodeID) -> Phase {
        switch graph[id].op {
        case .update: return .update
        case .input, .label, .parameter, .constant, .optimizerState: return .leaf
        default: return id < forwardEnd ? .forward : .backward
        }
    }
}

/// Phase of a node within a training step.
public enum Phase: String, Hashable, Sendable, CaseIterable {
    case leaf, forward, backward, update
}
