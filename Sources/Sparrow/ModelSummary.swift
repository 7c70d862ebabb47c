/// What `sparrow info` shows: per layer, its op, output shape, parameters and MACs.
public struct ModelSummary: Codable, Hashable, Sendable {
    public struct Layer: Codable, Hashable, Sendable {
        public var name: String
        public var op: String
        public var detail: String
        public var inputs: [String]
        public var output: [Int]
        public var parameters: Int
        /// Multiply-accumulates of one forward pass.
        public var macs: Int
    }

    public var name: String
    public var input: [Int]
    public var layers: [Layer]
    public var parameters: Int
    /// Bytes of the parameters in fp32.
    public var parameterBytes: Int
    public var forwardMACs: Int
    /// MACs of one full training step (forward, input and weight gradients), all parameters trained.
    public var trainingMACs: Int
    public var loss: String?

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
