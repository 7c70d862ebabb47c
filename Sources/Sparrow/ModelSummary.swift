/// What `sparrow info` shows: per layer, its op, output shape, parameters and MACs.
///
/// Codable for `--json`. All counts are for one sample (batch 1).
public struct ModelSummary: Codable, Hashable, Sendable {
    /// One node of the model's graph that computes something (not an input, label,
    /// parameter or constant), in graph order; the loss is one too.
    public struct Layer: Codable, Hashable, Sendable {
        /// The node's name.
        public var name: String
        /// The op's name (`Op.name`), e.g. `conv2d`.
        public var op: String
        /// The window of a conv or pool (kernel, stride, padding) plus `groups N` for a
        /// grouped conv; empty for other ops.
        public var detail: String
        /// Names of the nodes it reads, parameters excluded.
        public var inputs: [String]
        /// Output dimensions (HWC for feature maps).
        public var output: [Int]
        /// Scalars of its parameter inputs (weight and bias).
        public var parameters: Int
        /// Multiply-accumulates of one forward pass (`multiplyAccumulates(_:in:)`).
        public var macs: Int
    }

    /// The model's name.
    public var name: String
    /// Dimensions of the model's input (HWC for images); empty if the graph has no input.
    public var input: [Int]
    /// The computing nodes in graph order.
    public var layers: [Layer]
    /// Parameter scalars of the whole model (`Model.parameterCount`).
    public var parameters: Int
    /// Bytes of the parameters in fp32 (4 per scalar).
    public var parameterBytes: Int
    /// MACs of one forward pass: the sum of the layers'.
    public var forwardMACs: Int
    /// MACs of one full training step (forward, input and weight gradients), all
    /// parameters trained with plain SGD; 0 if the model cannot be differentiated
    /// (e.g. it has no loss).
    public var trainingMACs: Int
    /// The loss node's op name, or nil if the model has no loss.
    public var loss: String?

    /// Summarizes `model`; derives its full training graph to count ``trainingMACs``.
    public init(_ model: Model) {
        let g = model.graph
        name = model.name
        input = g.ids(where: { $0 == .input }).first.map { g[$0].type.shape.dims } ?? []
        layers = g.ids.compactMap { id -> Layer? in
            let n = g[id]
            switch n.op {
            case .input, .label, .parameter, .constant: return nil
            default: break
            }
            let params = n.inputs.filter { g[$0].op == .parameter }.reduce(0) { $0 + g[$1].type.shape.elementCount }
            return Layer(name: n.name, op: n.op.name, detail: detail(n.op), inputs: n.inputs.filter { g[$0].op != .parameter }.map { g[$0].name },
                         output: n.type.shape.dims, parameters: params, macs: multiplyAccumulates(id, in: g))
        }
        parameters = model.parameterCount
        parameterBytes = parameters * 4
        forwardMACs = layers.reduce(0) { $0 + $1.macs }
        loss = g.loss.map { g[$0].op.name }
        if let t = try? deriveTrainingGraph(g, optimizer: .plainSGD) {
            trainingMACs = t.graph.ids.reduce(0) { $0 + multiplyAccumulates($1, in: t.graph) }
        } else {
            trainingMACs = 0
        }
    }
}

private func detail(_ op: Op) -> String {
    switch op {
    case .conv2d(let c):
        return "\(c.window.summary)" + (c.groups > 1 ? " groups \(c.groups)" : "")
    case .maxPool2d(let w), .avgPool2d(let w):
        return w.summary
    default:
        return ""
    }
}
