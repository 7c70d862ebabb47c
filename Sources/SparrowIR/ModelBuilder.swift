import Foundation

/// Builds a model layer by layer, creating parameters with seeded He-uniform
/// initialisation (weights uniform in ±√(6/fan_in), biases zero).
///
/// ```swift
/// var b = ModelBuilder(name: "tiny", seed: 1)
/// var x = try b.input(Shape(28, 28, 1))
/// x = try b.conv2d(x, outChannels: 8, kernel: 3, padding: 1)
/// x = try b.relu(x)
/// x = try b.flatten(x)
/// x = try b.linear(x, outFeatures: 10)
/// let model = try b.softmaxCrossEntropy(x)
/// ```
/// Layer names default to the op and a counter (`conv1`, `relu2`); parameters are
/// named `<layer>.weight` and `<layer>.bias`, as in a PyTorch state dict.
public struct ModelBuilder {
    public let name: String
    public private(set) var graph = Graph()
    public private(set) var weights: [String: Tensor] = [:]
    private var rng: SeededGenerator
    private var counters: [String: Int] = [:]

    public init(name: String, seed: UInt64 = 0) {
        self.name = name
        rng = SeededGenerator(seed: seed)
    }

    /// Adds the model input, HWC for images.
    public mutating func input(_ shape: Shape, name: String = "input") throws(GraphError) -> NodeID {
        try graph.append(name, .input, type: TensorType(shape))
    }

    public mutating func conv2d(
        _ x: NodeID, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
        groups: Int = 1, bias: Bool = true, name: String? = nil
    ) throws(GraphError) -> NodeID {
        try conv2d(x, Conv2D(window: Window2D(kernel: kernel, stride: stride, padding: padding), outChannels: outChannels, groups: groups),
                   bias: bias, name: name)
    }

    /// Depthwise convolution: one filter per channel (`groups == channels`).
    public mutating func depthwiseConv2d(
        _ x: NodeID, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true, name: String? = nil
    ) throws(GraphError) -> NodeID {
        let c = try channels(x)
        return try conv2d(x, outChannels: c, kernel: kernel, stride: stride, padding: padding, groups: c, bias: bias, name: name ?? autoName("dwconv"))
    }

    public mutating func conv2d(_ x: NodeID, _ conv: Conv2D, bias: Bool = true, name: String? = nil,
                                weight: Tensor? = nil, biasValue: Tensor? = nil) throws(GraphError) -> NodeID {
        let layer = name ?? autoName(conv.window.kernelH == 1 && conv.window.kernelW == 1 ? "pwconv" : "conv")
        let cin = try channels(x)
        guard conv.groups > 0, cin % conv.groups == 0 else {
            throw .invalidAttribute(node: layer, detail: "groups \(conv.groups) must divide input channels \(cin)")
        }
        let wShape = conv.weightShape(inChannels: cin)
        let fanIn = conv.window.kernelH * conv.window.kernelW * (cin / conv.groups)
        var inputs = [x, try parameter("\(layer).weight", wShape, fanIn: fanIn, value: weight)]
        if bias { inputs.append(try parameter("\(layer).bias", Shape(conv.outChannels), fanIn: 0, value: biasValue)) }
        return try graph.append(layer, .conv2d(conv), inputs)
    }

    /// Fully connected layer on a rank-1 input; weight `[out, in]`.
    public mutating func linear(_ x: NodeID, outFeatures: Int, bias: Bool = true, name: String? = nil,
                                weight: Tensor? = nil, biasValue: Tensor? = nil) throws(GraphError) -> NodeID {
        let layer = name ?? autoName("fc")
        let t = graph[x].type.shape
        guard t.rank == 1 else {
            throw .shapeMismatch(node: layer, detail: "linear needs a rank-1 input, got \(t); add a flatten layer before it")
        }
        guard outFeatures > 0 else { throw .invalidAttribute(node: layer, detail: "out_features must be positive") }
        var inputs = [x, try parameter("\(layer).weight", Shape(outFeatures, t[0]), fanIn: t[0], value: weight)]
        if bias { inputs.append(try parameter("\(layer).bias", Shape(outFeatures), fanIn: 0, value: biasValue)) }
        return try graph.append(layer, .linear, inputs)
    }

    public mutating func relu(_ x: NodeID, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("relu"), .activation(.relu), [x])
    }

    public mutating func relu6(_ x: NodeID, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("relu6"), .activation(.relu6), [x])
    }

    public mutating func add(_ a: NodeID, _ b: NodeID, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("add"), .add, [a, b])
    }

    public mutating func maxPool2d(_ x: NodeID, _ window: Window2D, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("maxpool"), .maxPool2d(window), [x])
    }

    public mutating func maxPool2d(_ x: NodeID, kernel: Int, stride: Int? = nil, padding: Int = 0, name: String? = nil) throws(GraphError) -> NodeID {
        try maxPool2d(x, Window2D(kernel: kernel, stride: stride ?? kernel, padding: padding), name: name)
    }

    public mutating func avgPool2d(_ x: NodeID, _ window: Window2D, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("avgpool"), .avgPool2d(window), [x])
    }

    public mutating func avgPool2d(_ x: NodeID, kernel: Int, stride: Int? = nil, padding: Int = 0, name: String? = nil) throws(GraphError) -> NodeID {
        try avgPool2d(x, Window2D(kernel: kernel, stride: stride ?? kernel, padding: padding), name: name)
    }

    public mutating func globalAvgPool(_ x: NodeID, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("gap"), .globalAvgPool, [x])
    }

    public mutating func reshape(_ x: NodeID, to shape: Shape, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("reshape"), .reshape, [x], type: TensorType(shape, graph[x].type.dtype))
    }

    /// Reshapes to rank 1 in HWC order (not PyTorch's CHW: see docs/model-format.md).
    public mutating func flatten(_ x: NodeID, name: String? = nil) throws(GraphError) -> NodeID {
        try graph.append(name ?? autoName("flatten"), .reshape, [x],
                         type: TensorType(Shape(graph[x].type.shape.elementCount), graph[x].type.dtype))
    }

    /// Marks `logits` as the prediction, adds an int32 class label and the
    /// softmax cross-entropy loss, and returns the finished model.
    public mutating func softmaxCrossEntropy(_ logits: NodeID, name: String = "loss") throws(ModelError) -> Model {
        do {
            let label = try graph.append("label", .label, type: TensorType(Shape(1), .int32))
            graph.loss = try graph.append(name, .softmaxCrossEntropy, [logits, label])
        } catch { throw .graph(error) }
        graph.prediction = logits
        return try build()
    }

    /// Marks `prediction` as the output and adds an fp32 target and the mean squared error.
    public mutating func meanSquaredError(_ prediction: NodeID, name: String = "loss") throws(ModelError) -> Model {
        do {
            let label = try graph.append("label", .label, type: graph[prediction].type)
            graph.loss = try graph.append(name, .meanSquaredError, [prediction, label])
        } catch { throw .graph(error) }
        graph.prediction = prediction
        return try build()
    }

    /// The model without a loss (inference only), predicting `output`.
    public mutating func build(output: NodeID) throws(ModelError) -> Model {
        graph.prediction = output
        return try build()
    }

    private func build() throws(ModelError) -> Model {
        let model = Model(name: name, graph: graph, weights: weights)
        try model.validate()
        return model
    }

    private mutating func parameter(_ name: String, _ shape: Shape, fanIn: Int, value: Tensor?) throws(GraphError) -> NodeID {
        guard shape.isValid else { throw .shapeMismatch(node: name, detail: "invalid parameter shape \(shape)") }
        let id = try graph.append(name, .parameter, type: TensorType(shape))
        if let value {
            weights[name] = value
        } else if fanIn == 0 {
            weights[name] = Tensor(zeros: shape)
        } else {
            let bound = Float((6.0 / Double(fanIn)).squareRoot())
            weights[name] = Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in
                (rng.nextUnitFloat() * 2 - 1) * bound
            })
        }
        return id
    }

    private func channels(_ x: NodeID) throws(GraphError) -> Int {
        let s = graph[x].type.shape
        guard s.rank == 3 else { throw .shapeMismatch(node: graph[x].name, detail: "expected an HWC tensor, got \(s)") }
        return s[2]
    }

    private mutating func autoName(_ kind: String) -> String {
        var n = counters[kind, default: 0]
        var candidate: String
        repeat {
            n += 1
            candidate = "\(kind)\(n)"
        } while graph.id(named: candidate) != nil
        counters[kind] = n
        return candidate
    }
}
