/// A concrete fp32 tensor value: parameters, constants, checkpoints.
public struct Tensor: Hashable, Sendable {
    public var shape: Shape
    /// Row-major elements, `shape.elementCount` of them.
    public var scalars: [Float]

    public init(shape: Shape, scalars: [Float]) {
        precondition(shape.elementCount == scalars.count, "Tensor: \(scalars.count) scalars for shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: Shape) {
        self.init(shape: shape, scalars: Array(repeating: 0, count: shape.elementCount))
    }

    /// Index of the first NaN or infinity, if any.
    public var firstNonFinite: Int? { scalars.firstIndex { !$0.isFinite } }
}
