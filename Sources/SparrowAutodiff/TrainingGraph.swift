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
    /// Trainable slices of partially trained weights, by slice parameter name.
    public var slices: [String: WeightSlice] = [:]

    public init(graph: Graph, trainable: [NodeID], gradients: [NodeID: NodeID], updates: [NodeID: NodeID],
                optimizer: Optimizer, forwardEnd: Int, slices: [String: WeightSlice] = [:]) {
        self.graph = graph
        self.trainable = trainable
        self.gradients = gradients
        self.updates = updates
        self.optimizer = optimizer
        self.forwardEnd = forwardEnd
        self.slices = slices
    }

    /// Values for every parameter of the training graph: the model's, plus each
    /// trainable slice gathered from its weight.
    public func parameterValues(from weights: [String: Tensor]) -> [String: Tensor] {
        var result = weights
        for (name, slice) in slices {
            guard let w = weights[slice.source] else { continue }
            result[name] = slice.gather(w)
        }
        return result
    }

    /// The model's weights after training: each slice written back into its weight.
    public func mergedWeights(_ values: [String: Tensor]) -> [String: Tensor] {
        var result = values
        for (name, slice) in slices {
            guard let s = values[name], var w = result[slice.source] else { continue }
            slice.scatter(s, into: &w)
            result[slice.source] = w
            result[name] = nil
        }
        return result
    }

    /// Phase of a node by its position and op.
    public func phase(of id: NodeID) -> Phase {
        switch graph[id].op {
        case .update: return .update
        case .input, .label, .parameter, .constant, .optimizerState: return .leaf
        default: return id < forwardEnd ? .forward : .backward
        }
    }

    /// What a training step changes: the trainable parameters and every optimizer
    /// state tensor (master copies included), in schedule order.
    public var stateTensors: [NodeID] {
        graph.ids.filter { id in
            switch graph[id].op {
            case .optimizerState: return true
            case .parameter: return trainable.contains(id)
            default: return false
            }
        }
    }
}

/// Phase of a node within a training step.
public enum Phase: String, Hashable, Sendable, CaseIterable {
    case leaf, forward, backward, update
}

/// The trainable input channels of a weight, kept as their own tensor.
public struct WeightSlice: Hashable, Sendable {
    /// Name of the full (frozen) weight.
    public var source: String
    public var channels: ChannelSelection

    public init(source: String, channels: ChannelSelection) {
        self.source = source
        self.channels = channels
    }

    /// The selected channels (last dimension) of `w`.
    public func gather(_ w: Tensor) -> Tensor {
        let c = w.shape.dims.last ?? 1, k = channels.count
        var out = [Float](repeating: 0, count: w.scalars.count / c * k)
        for row in 0..<(w.scalars.count / c) {
            for (j, ch) in channels.indices.enumerated() { out[row * k + j] = w.scalars[row * c + ch] }
        }
        return Tensor(shape: Shape(Array(w.shape.dims.dropLast()) + [k]), scalars: out)
    }

    /// Writes `slice` back into the selected channels of `w`.
    public func scatter(_ slice: Tensor, into w: inout Tensor) {
        let c = w.shape.dims.last ?? 1, k = channels.count
        for row in 0..<(w.scalars.count / c) {
            for (j, ch) in channels.indices.enumerated() { w.scalars[row * c + ch] = slice.scalars[row * k + j] }
        }
    }
}
