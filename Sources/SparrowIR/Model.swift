/// A model: its forward graph (with loss) and the values of its parameters and constants.
public struct Model: Hashable, Sendable {
    public var name: String
    /// Forward graph; `prediction` is set, `loss` is set when the model can train.
    public var graph: Graph
    /// Values of every `.parameter` and `.constant` node, by node name.
    public var weights: [String: Tensor]

    public init(name: String, graph: Graph, weights: [String: Tensor]) {
        self.name = name
        self.graph = graph
        self.weights = weights
    }

    /// Ids of the parameter nodes, in graph order.
    public var parameterIDs: [NodeID] { graph.ids { $0 == .parameter } }

    /// Number of learnable scalars.
    public var parameterCount: Int { parameterIDs.reduce(0) { $0 + graph[$1].type.shape.elementCount } }

    /// Checks the graph and that every parameter and constant has a finite value of the right shape.
    public func validate() throws(ModelError) {
        do { try graph.verify() } catch { throw .graph(error) }
        guard graph.prediction != nil else { throw .graph(.badOutput("the model has no prediction output")) }
        for id in graph.ids(where: { $0 == .parameter || $0 == .constant }) {
            let node = graph[id]
            guard let value = weights[node.name] else { throw .missingTensor(node.name) }
            guard value.shape == node.type.shape else {
                throw .tensorShape(tensor: node.name, expected: node.type.shape, found: value.shape)
            }
            if let bad = value.firstNonFinite { throw .nonFinite(tensor: node.name, index: bad) }
        }
    }
}

/// A model's weights do not match its graph.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    case graph(GraphError)
    case missingTensor(String)
    case tensorShape(tensor: String, expected: Shape, found: Shape)
    case nonFinite(tensor: String, index: Int)
    /// A memory plan that does not fit the graph or the kernels it is run with.
    case planMismatch(String)
    /// No conv or linear layer of that name.
    case unknownLayer(String)

    public var description: String {
        switch self {
        case .graph(let e): return e.description
        case .missingTensor(let n): return "tensor '\(n)' is missing from the weights"
        case .tensorShape(let n, let e, let f): return "tensor '\(n)' has shape \(f), the layer expects \(e)"
        case .nonFinite(let n, let i): return "tensor '\(n)' holds a NaN or infinity at element \(i)"
        case .planMismatch(let m): return m
        case .unknownLayer(let n): return "the model has no conv or linear layer named '\(n)'"
        }
    }
}
