/// A computation as an append-only list of nodes in topological order.
///
/// `append` checks each node as it is added (inputs exist and come earlier, arity,
/// shapes, dtypes, unique name), so a graph built only through `append` is always
/// valid; `init(unchecked:)` exists for decoders and tests and must be followed by
/// `verify()`. Graphs are values: passes take one and return a new one.
public struct Graph: Hashable, Sendable {
    public private(set) var nodes: [Node] = []
    private var index: [String: NodeID] = [:]
    /// The model's output (logits for a classifier).
    public var prediction: NodeID?
    /// The scalar loss, when the graph trains.
    public var loss: NodeID?

    public init() {}

    /// A graph from nodes that have not been checked. Call `verify()` before use.
    public init(unchecked nodes: [Node], prediction: NodeID? = nil, loss: NodeID? = nil) {
        self.nodes = nodes
        for (i, n) in nodes.enumerated() where index[n.name] == nil { index[n.name] = i }
        self.prediction = prediction
        self.loss = loss
    }

    public var count: Int { nodes.count }
    public subscript(id: NodeID) -> Node { nodes[id] }
    public var ids: Range<NodeID> { nodes.indices }

    /// Id of the node with this name.
    public func id(named name: String) -> NodeID? { index[name] }

    /// Appends a node after checking it; the type is inferred, or checked against
    /// `type` for ops that need it declared (leaves, reshape, input gradients).
    @discardableResult
    public mutating func append(_ name: String, _ op: Op, _ inputs: [NodeID] = [], type: TensorType? = nil) throws(GraphError) -> NodeID {
        guard index[name] == nil else { throw .duplicateName(name) }
        try checkInputs(name: name, inputs: inputs, position: nodes.count)
        let resolved = try inferType(node: name, op: op, inputs: inputs.map { nodes[$0].type }, declared: type)
        nodes.append(Node(name: name, op: op, inputs: inputs, type: resolved))
        index[name] = nodes.count - 1
        return nodes.count - 1
    }

    /// For each node, the nodes that read it, in graph order.
    public func consumers() -> [[NodeID]] {
        var result = Array(repeating: [NodeID](), count: nodes.count)
        for (i, n) in nodes.enumerated() {
            for j in n.inputs where j >= 0 && j < nodes.count && !result[j].contains(i) { result[j].append(i) }
        }
        return result
    }

    /// Ids of nodes whose op matches.
    public func ids(where predicate: (Op) -> Bool) -> [NodeID] {
        nodes.indices.filter { predicate(nodes[$0].op) }
    }

    /// Checks the whole graph: every node as `append` would, and the outputs.
    public func verify() throws(GraphError) {
        var seen = Set<String>()
        for (i, n) in nodes.enumerated() {
            guard seen.insert(n.name).inserted else { throw .duplicateName(n.name) }
            try checkInputs(name: n.name, inputs: n.inputs, position: i)
            let t = try inferType(node: n.name, op: n.op, inputs: n.inputs.map { nodes[$0].type }, declared: n.type)
            guard t == n.type else {
                throw .shapeMismatch(node: n.name, detail: "recorded type \(n.type), inferred \(t)")
            }
        }
        if let p = prediction, !nodes.indices.contains(p) { throw .badOutput("prediction id \(p) is not a node") }
        if let l = loss {
            guard nodes.indices.contains(l) else { throw .badOutput("loss id \(l) is not a node") }
            guard nodes[l].type.shape.rank == 0 else {
                throw .badOutput("loss '\(nodes[l].name)' must be a scalar, is \(nodes[l].type.shape)")
            }
        }
    }

    private func checkInputs(name: String, inputs: [NodeID], position: Int) throws(GraphError) {
        for i in inputs {
            guard i >= 0, i < nodes.count else { throw .danglingInput(node: name, input: i) }
            guard i < position else { throw .cycle(node: name, input: i < nodes.count ? nodes[i].name : "#\(i)") }
        }
    }
}
