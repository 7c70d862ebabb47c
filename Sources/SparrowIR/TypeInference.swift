/// Type rules: the type of the tensor an op produces from its inputs' types.
///
/// Ops whose result cannot be derived from the inputs (leaves, `reshape`, and the
/// backward ops that restore an input's shape) take it from `declared`; for the
/// others a `declared` type, when given, must equal the inferred one.
func inferType(node: String, op: Op, inputs t: [TensorType], declared: TensorType?) throws(GraphError) -> TensorType {
    func arity(_ allowed: ClosedRange<Int>) throws(GraphError) {
        guard allowed.contains(t.count) else {
            let e = allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound)–\(allowed.upperBound)"
            throw .arity(node: node, op: op.name, expected: e, got: t.count)
        }
    }
    func fp32(_ k: Int, _ role: String) throws(GraphError) {
        guard t[k].dtype == .fp32 else { throw .dtypeMismatch(node: node, detail: "\(role) must be fp32, is \(t[k].dtype.rawValue)") }
    }
    func rank(_ k: Int, _ r: Int, _ role: String) throws(GraphError) {
        guard t[k].shape.rank == r else { throw .shapeMismatch(node: node, detail: "\(role) must have rank \(r), is \(t[k].shape)") }
    }
    func same(_ a: Int, _ b: Int, _ what: String) throws(GraphError) {
        guard t[a] == t[b] else { throw .shapeMismatch(node: node, detail: "\(what): \(t[a]) vs \(t[b])") }
    }
    func needDeclared() throws(GraphError) -> TensorType {
        guard let d = declared else { throw .invalidAttribute(node: node, detail: "\(op.name) needs a declared result type") }
        guard d.shape.isValid || d.shape.rank == 0 else { throw .shapeMismatch(node: node, detail: "invalid shape \(d.shape)") }
        return d
    }
    func window(_ w: Window2D, _ x: TensorType) throws(GraphError) -> (h: Int, w: Int) {
        guard let o = w.outputSize(inputH: x.shape[0], inputW: x.shape[1]) else {
            throw .invalidAttribute(node: node, detail: "window \(w.summary) does not fit an input of \(x.shape)")
        }
        return o
    }
    func conv(_ c: Conv2D, x: TensorType) throws(GraphError) -> TensorType {
        let cin = x.shape[2]
        guard c.outChannels > 0, c.groups > 0, cin % c.groups == 0, c.outChannels % c.groups == 0 else {
            throw .invalidAttribute(node: node, detail: "groups \(c.groups) must divide input channels \(cin) and output channels \(c.outChannels)")
        }
        let o = try window(c.window, x)
        return TensorType(Shape(o.h, o.w, c.outChannels))
    }

    let result: TensorType
    switch op {
    case .input, .label, .parameter, .constant:
        try arity(0...0)
        result = try needDeclared()
    case .optimizerState:
        try arity(1...1)
        result = t[0]
    case .conv2d(let c):
        try arity(2...3)
        try rank(0, 3, "input (HWC)"); try fp32(0, "input"); try fp32(1, "weight")
        result = try conv(c, x: t[0])
        let w = c.weightShape(inChannels: t[0].shape[2])
        guard t[1].shape == w else { throw .shapeMismatch(node: node, detail: "weight is \(t[1].shape), expected \(w)") }
        if t.count == 3 {
            guard t[2] == TensorType(Shape(c.outChannels)) else {
                throw .shapeMismatch(node: node, detail: "bias is \(t[2]), expected fp32[\(c.outChannels)]")
            }
        }
    case .linear:
        try arity(2...3)
        try rank(0, 1, "input (flatten it first)"); try rank(1, 2, "weight [out, in]")
        try fp32(0, "input"); try fp32(1, "weight")
        guard t[1].shape[1] == t[0].shape[0] else {
            throw .shapeMismatch(node: node, detail: "weight is \(t[1].shape) but the input has \(t[0].shape[0]) features")
        }
        if t.count == 3 {
            guard t[2] == TensorType(Shape(t[1].shape[0])) else {
                throw .shapeMismatch(node: node, detail: "bias is \(t[2]), expected fp32[\(t[1].shape[0])]")
            }
        }
        result = TensorType(Shape(t[1].shape[0]))
    case .add:
        try arity(2...2); try fp32(0, "lhs"); try same(0, 1, "operands differ")
        result = t[0]
    case .activation:
        try arity(1...1); try fp32(0, "input")
        result = t[0]
    case .maxPool2d(let w), .avgPool2d(let w):
        try arity(1...1); try rank(0, 3, "input (HWC)"); try fp32(0, "input")
        guard op != .maxPool2d(w) || w.kernelH * w.kernelW <= 254 else {
            throw .invalidAttribute(node: node, detail: "max-pool window \(w.summary) has more than 254 positions (its backward pass keeps a one-byte argmax)")
        }
        let o = try window(w, t[0])
        result = TensorType(Shape(o.h, o.w, t[0].shape[2]))
    case .globalAvgPool:
        try arity(1...1); try rank(0, 3, "input (HWC)"); try fp32(0, "input")
        result = TensorType(Shape(t[0].shape[2]))
    case .reshape:
        try arity(1...1)
        let d = try needDeclared()
        guard d.dtype == t[0].dtype, d.shape.elementCount == t[0].shape.elementCount else {
            throw .shapeMismatch(node: node, detail: "cannot reshape \(t[0]) to \(d)")
        }
        result = d
    case .softmaxCrossEntropy, .softmaxCrossEntropyGrad:
        try arity(2...2); try rank(0, 1, "logits"); try fp32(0, "logits")
        guard t[1] == TensorType(Shape(1), .int32) else {
            throw .dtypeMismatch(node: node, detail: "label must be int32[1] (a class index), is \(t[1])")
        }
        result = op == .softmaxCrossEntropy ? TensorType(.scalar) : t[0]
    case .meanSquaredError, .meanSquaredErrorGrad:
        try arity(2...2); try fp32(0, "prediction"); try same(0, 1, "prediction and target differ")
        result = op == .meanSquaredError ? TensorType(.scalar) : t[0]
    case .splitWeight(let sel):
        try arity(2...2); try fp32(0, "weight"); try fp32(1, "trainable slice")
        let (w, ws) = (t[0].shape, t[1].shape)
        guard let c = w.dims.last, sel.indices.last! < c, ws.dims == Array(w.dims.dropLast()) + [sel.count] else {
            throw .shapeMismatch(node: node, detail: "slice \(ws) does not hold channels \(sel.indices.prefix(8))… of weight \(w)")
        }
        result = t[0]
    case .gatherChannels(let sel):
        try arity(1...1); try fp32(0, "input")
        guard let c = t[0].shape.dims.last, sel.indices.last! < c else {
            throw .shapeMismatch(node: node, detail: "channel \(sel.indices.last!) is out of range for \(t[0].shape)")
        }
        result = TensorType(Shape(t[0].shape.dims.dropLast() + [sel.count]))
    case .activationMask:
        try arity(1...1); try fp32(0, "input")
        result = TensorType(t[0].shape, .bit)
    case .maxPoolArgmax(let w):
        try arity(1...1); try rank(0, 3, "input (HWC)")
        guard w.kernelH * w.kernelW <= 254 else {
            throw .invalidAttribute(node: node, detail: "max-pool window \(w.summary) has more than 254 positions (the argmax is one byte)")
        }
        let o = try window(w, t[0])
        result = TensorType(Shape(o.h, o.w, t[0].shape[2]), .uint8)
    case .maskedGradient:
        try arity(2...2); try fp32(0, "gradient")
        guard t[1] == TensorType(t[0].shape, .bit) else {
            throw .shapeMismatch(node: node, detail: "mask is \(t[1]), expected bit\(t[0].shape)")
        }
        result = t[0]
    case .maxPool2dBackward(let w), .avgPool2dBackward(let w):
        try arity(op == .avgPool2dBackward(w) ? 1...1 : 2...2)
        let d = try needDeclared()
        guard d.shape.rank == 3, let o = w.outputSize(inputH: d.shape[0], inputW: d.shape[1]),
              t[0].shape == Shape(o.h, o.w, d.shape[2]) else {
            throw .shapeMismatch(node: node, detail: "gradient \(t[0].shape) does not match a \(w.summary) pool of \(d.shape)")
        }
        if t.count == 2 { guard t[1] == TensorType(t[0].shape, .uint8) else {
            throw .shapeMismatch(node: node, detail: "argmax is \(t[1]), expected uint8\(t[0].shape)") } }
        result = d
    case .globalAvgPoolBackward:
        try arity(1...1)
        let d = try needDeclared()
        guard d.shape.rank == 3, t[0].shape == Shape(d.shape[2]) else {
            throw .shapeMismatch(node: node, detail: "gradient \(t[0].shape) does not match pooled \(d.shape)")
        }
        result = d
    case .conv2dInputGrad(let c):
        try arity(2...2)
        let d = try needDeclared()
        guard d.shape.rank == 3 else { throw .shapeMismatch(node: node, detail: "input gradient must be HWC, is \(d.shape)") }
        let y = try conv(c, x: d)
        guard t[0] == y, t[1].shape == c.weightShape(inChannels: d.shape[2]) else {
            throw .shapeMismatch(node: node, detail: "dy \(t[0].shape) and weight \(t[1].shape) do not match a conv of \(d.shape)")
        }
        result = d
    case .conv2dWeightGrad(let c):
        try arity(2...2); try rank(0, 3, "input (HWC)")
        let y = try conv(c, x: t[0])
        guard t[1] == y else { throw .shapeMismatch(node: node, detail: "dy is \(t[1].shape), expected \(y.shape)") }
        result = TensorType(c.weightShape(inChannels: t[0].shape[2]))
    case .linearInputGrad:
        try arity(2...2); try rank(0, 1, "dy"); try rank(1, 2, "weight")
        guard t[1].shape[0] == t[0].shape[0] else { throw .shapeMismatch(node: node, detail: "dy \(t[0].shape) vs weight \(t[1].shape)") }
        result = TensorType(Shape(t[1].shape[1]))
    case .linearWeightGrad:
        try arity(2...2); try rank(0, 1, "input"); try rank(1, 1, "dy")
        result = TensorType(Shape(t[1].shape[0], t[0].shape[0]))
    case .biasGrad:
        try arity(1...1); try fp32(0, "dy")
        guard let c = t[0].shape.dims.last else { throw .shapeMismatch(node: node, detail: "dy must not be a scalar") }
        result = TensorType(Shape(c))
    case .update:
        try arity(2...5)
        guard t[1] == t[0] else { throw .shapeMismatch(node: node, detail: "gradient \(t[1]) vs parameter \(t[0])") }
        for k in 2..<t.count where t[k] != t[0] {
            throw .shapeMismatch(node: node, detail: "optimizer state \(t[k]) vs parameter \(t[0])")
        }
        result = t[0]
    }
    if let d = declared, d != result {
        throw .shapeMismatch(node: node, detail: "declared \(d), but \(op.name) produces \(result)")
    }
    guard result.shape.rank == 0 || result.shape.isValid else {
        throw .shapeMismatch(node: node, detail: "invalid result shape \(result.shape)")
    }
    return result
}
