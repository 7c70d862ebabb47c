/// Dimensions of a tensor, outermost first. Activations are HWC (batch 1);
/// conv weights are `[Cout, Kh, Kw, Cin/groups]`, depthwise `[Kh, Kw, C]`,
/// linear weights `[Out, In]`. A scalar has no dimensions.
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(_ dims: Int...) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { dims = elements }

    public static let scalar = Shape([Int]())

    public var rank: Int { dims.count }
    /// Number of elements (1 for a scalar). Callers validate dims first; see `isValid`.
    public var elementCount: Int { dims.reduce(1, *) }
    /// Every dimension positive and the element count below 2^31 (the kernels index with `int`).
    public var isValid: Bool {
        var n = 1
        for d in dims {
            guard d > 0 else { return false }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p < Int(Int32.max) else { return false }
            n = p
        }
        return true
    }

    public subscript(i: Int) -> Int { dims[i] }

    public var description: String { "[" + dims.map(String.init).joined(separator: "×") + "]" }

    public init(from decoder: Decoder) throws { dims = try [Int](from: decoder) }
    public func encode(to encoder: Encoder) throws { try dims.encode(to: encoder) }
}

/// Shape and element type of one tensor.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var shape: Shape
    public var dtype: DType

    public init(_ shape: Shape, _ dtype: DType = .fp32) {
        self.shape = shape
        self.dtype = dtype
    }

    public var byteCount: Int { dtype.byteCount(elements: shape.elementCount) }
    public var description: String { "\(dtype.rawValue)\(shape)" }
}
