/// Index of a node in its graph; also the id of the one tensor the node produces.
public typealias NodeID = Int

/// One operation and the tensor it produces.
public struct Node: Hashable, Sendable {
    /// Unique within the graph: layer names for forward ops (`conv1`), `conv1.weight`
    /// for parameters, `grad/…` for gradients.
    public var name: String
    public var op: Op
    public var inputs: [NodeID]
    /// Type of the produced tensor.
    public var type: TensorType

    public init(name: String, op: Op, inputs: [NodeID], type: TensorType) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.type = type
    }
}
