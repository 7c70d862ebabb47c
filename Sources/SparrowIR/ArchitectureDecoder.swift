import Foundation

/// Reads an architecture file into an `ArchitectureSpec`, checking every field.
///
/// Unknown fields are errors, not ignored: a misspelt `"strides"` would otherwise
/// silently fall back to stride 1 and train a different model. Numeric fields are
/// bounded (`maxDimension`, the window limits of `Window2D`) so that nothing built
/// from a file can overflow or allocate absurd amounts of memory.
struct ArchitectureDecoder {
    let file: String
    /// Used as the model name when the file has no `"name"`.
    let defaultName: String

    typealias Location = ModelFileError.Location

    /// Largest channel count, feature count or input dimension a file may ask for.
    static let maxDimension = 1 << 20
    /// Largest kernel or stride (`Window2D.outputSize` rejects larger ones).
    static let maxWindow = 1024

    private static let topLevelFields = ["format", "version", "name", "input", "layers", "output", "loss"]
    private static let commonFields = ["name", "op", "inputs"]
    private static let windowFields = ["kernel", "stride", "padding"]

    func decode(_ data: Data) throws(ModelFileError) -> ArchitectureSpec {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch {
            throw .badJSON(file: file, line: error.line, column: error.column, detail: error.message)
        }
        guard case .object(let top) = root else {
            throw .wrongFormat(file: file, detail: "the JSON is \(root.kindDescription), expected an object with \"format\": \"\(ArchitectureSpec.format)\"")
        }
        // Format and version first: for a file of another kind, field errors would only confuse.
        guard let formatValue = top["format"] else {
            throw .wrongFormat(file: file, detail: "it has no \"format\" field (expected \"format\": \"\(ArchitectureSpec.format)\")")
        }
        guard case .string(let format) = formatValue, format == ArchitectureSpec.format else {
            throw .wrongFormat(file: file, detail: "\"format\" is \(show(formatValue)), expected \"\(ArchitectureSpec.format)\"")
        }
        let version = try int(top, "version", at: .topLevel, range: 0...Int.max, default: nil)
        guard version == ArchitectureSpec.version else {
            throw .unsupportedVersion(file: file, found: version, supported: ArchitectureSpec.version)
        }
        try rejectUnknown(top, known: ArchitectureDecoder.topLevelFields, at: .topLevel)

        let name = try string(top, "name", at: .topLevel, default: defaultName)
        let (inputName, inputShape) = try decodeInput(top)
        guard let layersValue = top["layers"] else { throw .missingField(file: file, at: .topLevel, field: "layers") }
        guard case .array(let items) = layersValue else {
            throw .invalidField(file: file, at: .topLevel, field: "layers", detail: "expected an array of layer objects, found \(show(layersValue))")
        }
        let lossText = try string(top, "loss", at: .topLevel, default: nil)
        guard let loss = LossKind(rawValue: lossText) else {
            throw .invalidField(file: file, at: .topLevel, field: "loss",
                                detail: "\"\(lossText)\" is not a loss; use one of \(LossKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        var defined: Set<String> = [inputName]
        var layers: [LayerSpec] = []
        for (i, item) in items.enumerated() {
            let layer = try decodeLayer(item, index: i)
            if loss != .none, layer.name == "label" || layer.name == "loss" {
                throw .invalidField(file: file, at: .layer(layer.name), field: "name",
                                    detail: "'\(layer.name)' is reserved for the loss and its target; rename the layer")
            }
            guard !defined.contains(layer.name) else { throw .duplicateLayer(file: file, layer: layer.name) }
            for input in layer.inputs ?? [] where !defined.contains(input) {
                throw .unknownInput(file: file, layer: layer.name, input: input)
            }
            defined.insert(layer.name)
            layers.append(layer)
        }
        var output: String?
        if top["output"] != nil {
            let o = try string(top, "output", at: .topLevel, default: nil)
            guard defined.contains(o) else {
                throw .invalidField(file: file, at: .topLevel, field: "output", detail: "'\(o)' is neither a layer nor the input")
            }
            output = o
        }
        return ArchitectureSpec(name: name, inputName: inputName, inputShape: inputShape, layers: layers, output: output, loss: loss)
    }

    private func decodeInput(_ top: [String: JSONValue]) throws(ModelFileError) -> (String, Shape) {
        guard let value = top["input"] else { throw .missingField(file: file, at: .topLevel, field: "input") }
        guard case .object(let f) = value else {
            throw .invalidField(file: file, at: .topLevel, field: "input", detail: "expected an object {\"name\", \"shape\"}, found \(show(value))")
        }
        try rejectUnknown(f, known: ["name", "shape"], at: .input)
        let name = try string(f, "name", at: .input, default: "input")
        return (name, try shape(f, "shape", at: .input))
    }

    private func decodeLayer(_ value: JSONValue, index: Int) throws(ModelFileError) -> LayerSpec {
        guard case .object(let f) = value else {
            throw .invalidField(file: file, at: .layerIndex(index), field: "layers", detail: "the entry is \(show(value)), expected an object")
        }
        guard f["name"] != nil else { throw .missingField(file: file, at: .layerIndex(index), field: "name") }
        let name = try string(f, "name", at: .layerIndex(index), default: nil)
        let at = Location.layer(name)
        let opName = try string(f, "op", at: at, default: nil)

        let op: LayerOp
        var extra: [String]
        switch opName {
        case "conv2d":
            extra = ArchitectureDecoder.windowFields + ["out_channels", "groups", "bias"]
            op = .conv2d(window: try window(f, at: at, defaultStrideIsKernel: false),
                         outChannels: try int(f, "out_channels", at: at, range: 1...ArchitectureDecoder.maxDimension, default: nil),
                         groups: try int(f, "groups", at: at, range: 1...ArchitectureDecoder.maxDimension, default: 1),
                         bias: try bool(f, "bias", at: at, default: true))
        case "depthwise_conv2d":
            extra = ArchitectureDecoder.windowFields + ["bias"]
            op = .depthwiseConv2d(window: try window(f, at: at, defaultStrideIsKernel: false), bias: try bool(f, "bias", at: at, default: true))
        case "linear":
            extra = ["out_features", "bias"]
            op = .linear(outFeatures: try int(f, "out_features", at: at, range: 1...ArchitectureDecoder.maxDimension, default: nil),
                         bias: try bool(f, "bias", at: at, default: true))
        case "add": extra = []; op = .add
        case "relu": extra = []; op = .activation(.relu)
        case "relu6": extra = []; op = .activation(.relu6)
        case "maxpool2d": extra = ArchitectureDecoder.windowFields; op = .maxPool2d(try window(f, at: at, defaultStrideIsKernel: true))
        case "avgpool2d": extra = ArchitectureDecoder.windowFields; op = .avgPool2d(try window(f, at: at, defaultStrideIsKernel: true))
        case "global_avgpool": extra = []; op = .globalAvgPool
        case "flatten": extra = []; op = .flatten
        case "reshape": extra = ["shape"]; op = .reshape(try shape(f, "shape", at: at))
        case "batchnorm":
            extra = ["eps"]
            var eps = 1e-5
            if let v = f["eps"] {
                guard let e = v.numberValue, e.isFinite, e >= 0 else {
                    throw .invalidField(file: file, at: at, field: "eps", detail: "expected a non-negative number, found \(show(v))")
                }
                eps = e
            }
            op = .batchNorm(eps: eps)
        default:
            throw .unknownOp(file: file, layer: name, op: opName, known: knownLayerOps)
        }
        try rejectUnknown(f, known: ArchitectureDecoder.commonFields + extra, at: at)

        var inputs: [String]?
        if let v = f["inputs"] {
            guard case .array(let items) = v else {
                throw .invalidField(file: file, at: at, field: "inputs", detail: "expected an array of layer names, found \(show(v))")
            }
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item, !s.isEmpty else {
                    throw .invalidField(file: file, at: at, field: "inputs", detail: "expected layer names, found \(show(item))")
                }
                names.append(s)
            }
            inputs = names
        }
        if op == .add, inputs == nil { throw .missingField(file: file, at: at, field: "inputs") }
        if let inputs, inputs.count != op.arity {
            throw .invalidField(file: file, at: at, field: "inputs", detail: "\(opName) reads \(op.arity) input\(op.arity == 1 ? "" : "s"), found \(inputs.count)")
        }
        return LayerSpec(name: name, op: op, inputs: inputs)
    }

    // MARK: - Field readers

    /// `kernel`, `stride` and `padding`: an int, `[h, w]`, or for padding also `[top, left, bottom, right]`.
    private func window(_ f: [String: JSONValue], at: Location, defaultStrideIsKernel: Bool) throws(ModelFileError) -> Window2D {
        let k = try pair(f, "kernel", at: at, range: 1...ArchitectureDecoder.maxWindow, default: nil)
        let s = try pair(f, "stride", at: at, range: 1...ArchitectureDecoder.maxWindow, default: defaultStrideIsKernel ? k : (1, 1))
        let p: [Int]
        switch f["padding"] {
        case nil: p = [0, 0, 0, 0]
        case .array(let items) where items.count == 4:
            p = try items.map { (v) throws(ModelFileError) in try intValue(v, "padding", at: at, range: 0...ArchitectureDecoder.maxWindow) }
        default:
            let hw = try pair(f, "padding", at: at, range: 0...ArchitectureDecoder.maxWindow, default: nil)
            p = [hw.0, hw.1, hw.0, hw.1]
        }
        guard p[0] < k.0, p[2] < k.0, p[1] < k.1, p[3] < k.1 else {
            throw .invalidField(file: file, at: at, field: "padding", detail: "padding \(p) must be smaller than the kernel \(k.0)×\(k.1) on every side")
        }
        return Window2D(kernel: k, stride: s, padding: (p[0], p[1], p[2], p[3]))
    }

    private func pair(_ f: [String: JSONValue], _ key: String, at: Location, range: ClosedRange<Int>, default d: (Int, Int)?) throws(ModelFileError) -> (Int, Int) {
        guard let v = f[key] else {
            guard let d else { throw .missingField(file: file, at: at, field: key) }
            return d
        }
        if case .array(let items) = v {
            guard items.count == 2 else {
                let shapes = key == "padding" ? "an integer, [h, w] or [top, left, bottom, right]" : "an integer or [h, w]"
                throw .invalidField(file: file, at: at, field: key, detail: "expected \(shapes), found \(show(v))")
            }
            return (try intValue(items[0], key, at: at, range: range), try intValue(items[1], key, at: at, range: range))
        }
        let n = try intValue(v, key, at: at, range: range)
        return (n, n)
    }

    private func int(_ f: [String: JSONValue], _ key: String, at: Location, range: ClosedRange<Int>, default d: Int?) throws(ModelFileError) -> Int {
        guard let v = f[key] else {
            guard let d else { throw .missingField(file: file, at: at, field: key) }
            return d
        }
        return try intValue(v, key, at: at, range: range)
    }

    private func intValue(_ v: JSONValue, _ key: String, at: Location, range: ClosedRange<Int>) throws(ModelFileError) -> Int {
        guard case .int(let n) = v else { throw .invalidField(file: file, at: at, field: key, detail: "expected an integer, found \(show(v))") }
        guard range.contains(n) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw .invalidField(file: file, at: at, field: key, detail: "\(n) is out of range; it must be \(bound)")
        }
        return n
    }

    private func bool(_ f: [String: JSONValue], _ key: String, at: Location, default d: Bool) throws(ModelFileError) -> Bool {
        guard let v = f[key] else { return d }
        guard case .bool(let b) = v else { throw .invalidField(file: file, at: at, field: key, detail: "expected true or false, found \(show(v))") }
        return b
    }

    private func string(_ f: [String: JSONValue], _ key: String, at: Location, default d: String?) throws(ModelFileError) -> String {
        guard let v = f[key] else {
            guard let d else { throw .missingField(file: file, at: at, field: key) }
            return d
        }
        guard case .string(let s) = v, !s.isEmpty else {
            throw .invalidField(file: file, at: at, field: key, detail: "expected a non-empty string, found \(show(v))")
        }
        return s
    }

    /// A list of dimensions, each in 1...maxDimension, with an element count the kernels can index.
    private func shape(_ f: [String: JSONValue], _ key: String, at: Location) throws(ModelFileError) -> Shape {
        guard let v = f[key] else { throw .missingField(file: file, at: at, field: key) }
        guard case .array(let items) = v, (1...8).contains(items.count) else {
            throw .invalidField(file: file, at: at, field: key, detail: "expected an array of 1 to 8 dimensions, found \(show(v))")
        }
        let dims = try items.map { (x) throws(ModelFileError) in try intValue(x, key, at: at, range: 1...ArchitectureDecoder.maxDimension) }
        let s = Shape(dims)
        guard s.isValid else {
            throw .invalidField(file: file, at: at, field: key, detail: "\(s) has 2^31 or more elements")
        }
        return s
    }

    private func rejectUnknown(_ f: [String: JSONValue], known: [String], at: Location) throws(ModelFileError) {
        for key in f.keys.sorted() where !known.contains(key) {
            throw .unknownField(file: file, at: at, field: key, known: known)
        }
    }

    /// A value for an error message: its kind and, when short, its text.
    private func show(_ v: JSONValue) -> String {
        let text = v.serialized(pretty: false)
        return text.count <= 40 ? "\(v.kindDescription) \(text)" : v.kindDescription
    }
}
