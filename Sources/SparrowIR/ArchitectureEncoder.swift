/// Describes a forward `Model` in the architecture format, and names its parameter
/// tensors as the weights file stores them (`<layer>.weight`, `<layer>.bias`).
///
/// Only what the format can express is accepted: one input, forward layers whose
/// weights are parameters used by that layer alone, and at most one loss reading
/// the prediction and the label. Anything else (constants, backward or update
/// nodes, shared weights) is `.unrepresentable` rather than silently dropped.
/// Batch-norm never appears: loaded models have it folded.
struct ArchitectureEncoder {
    let model: Model
    /// The architecture file being written, for errors.
    let file: String

    /// The JSON document, and for each parameter node the tensor name to save it under.
    struct Result {
        var json: JSONValue
        var tensorNames: [(node: String, tensor: String)]
    }

    func encode() throws(ModelFileError) -> Result {
        let g = model.graph
        do { try g.verify() } catch { throw .model(file: file, .graph(error)) }
        guard let prediction = g.prediction else { throw .model(file: file, .graph(.badOutput("the model has no prediction output"))) }

        var input: (name: String, shape: Shape)?
        var layerNames: Set<NodeID> = []  // ids that a layer may read: the input and layers
        var layers: [JSONValue] = []
        var previous: NodeID?
        var tensorNames: [(node: String, tensor: String)] = []
        var owner: [NodeID: String] = [:]  // parameter or label → the node reading it
        var loss = LossKind.none

        func fail(_ node: Node, _ detail: String) -> ModelFileError { .unrepresentable(file: file, node: node.name, detail: detail) }
        func claim(_ id: NodeID, by reader: Node, as role: String) throws(ModelFileError) {
            let leaf = g[id]
            guard leaf.op == (role == "label" ? .label : .parameter) else {
                throw fail(reader, "its \(role) '\(leaf.name)' is a \(leaf.op.name) node, expected a \(role == "label" ? "label" : "parameter")")
            }
            if let other = owner[id] { throw fail(leaf, "it is read by both '\(other)' and '\(reader.name)'; the format has no shared weights") }
            owner[id] = reader.name
            if role != "label" { tensorNames.append((leaf.name, "\(reader.name).\(role)")) }
        }
        func claimWeights(_ n: Node) throws(ModelFileError) {
            try claim(n.inputs[1], by: n, as: "weight")
            if n.inputs.count == 3 { try claim(n.inputs[2], by: n, as: "bias") }
        }

        for id in g.ids {
            let n = g[id]
            var fields: [String: JSONValue] = ["name": .string(n.name)]
            let reads = Array(n.inputs.prefix(n.op == .add ? 2 : 1))
            switch n.op {
            case .input:
                guard input == nil else { throw fail(n, "the format has one model input, and this is a second") }
                input = (n.name, n.type.shape)
                layerNames.insert(id)
                previous = id
                continue
            case .parameter, .label:
                continue  // claimed by the layer or loss that reads them
            case .softmaxCrossEntropy, .meanSquaredError:
                guard id == g.loss, n.inputs.count == 2, n.inputs[0] == prediction else {
                    throw fail(n, "a loss must be the model's loss and read its prediction")
                }
                try claim(n.inputs[1], by: n, as: "label")
                loss = n.op == .softmaxCrossEntropy ? .softmaxCrossEntropy : .mse
                continue
            case .conv2d(let c):
                let cin = g[n.inputs[0]].type.shape.dims.last ?? 0
                if c.isDepthwise(inChannels: cin) {
                    fields["op"] = .string("depthwise_conv2d")
                } else {
                    fields["op"] = .string("conv2d")
                    fields["out_channels"] = .int(c.outChannels)
                    fields["groups"] = .int(c.groups)
                }
                fields.merge(windowFields(c.window), uniquingKeysWith: { a, _ in a })
                fields["bias"] = .bool(n.inputs.count == 3)
                try claimWeights(n)
            case .linear:
                fields["op"] = .string("linear")
                fields["out_features"] = .int(n.type.shape.dims.first ?? 0)
                fields["bias"] = .bool(n.inputs.count == 3)
                try claimWeights(n)
            case .add:
                fields["op"] = .string("add")
            case .activation(let a):
                fields["op"] = .string(a.rawValue)
            case .maxPool2d(let w), .avgPool2d(let w):
                fields["op"] = .string(n.op.name)
                fields.merge(windowFields(w), uniquingKeysWith: { a, _ in a })
            case .globalAvgPool:
                fields["op"] = .string("global_avgpool")
            case .reshape:
                if n.type.shape.rank == 1 {
                    fields["op"] = .string("flatten")
                } else {
                    fields["op"] = .string("reshape")
                    fields["shape"] = .array(n.type.shape.dims.map { .int($0) })
                }
            default:
                throw fail(n, "\(n.op.name) is not a layer of the architecture format (forward layers only)")
            }
            for r in reads where !layerNames.contains(r) {
                throw fail(n, "it reads '\(g[r].name)', a \(g[r].op.name) node; layers read the input or other layers")
            }
            if n.op == .add || reads != [previous].compactMap({ $0 }) {
                fields["inputs"] = .array(reads.map { .string(g[$0].name) })
            }
            layers.append(.object(fields))
            layerNames.insert(id)
            previous = id
        }

        guard let input else { throw .unrepresentable(file: file, node: model.name, detail: "the model has no input node") }
        guard layerNames.contains(prediction) else {
            throw fail(g[prediction], "the prediction must be a layer or the input, is a \(g[prediction].op.name) node")
        }
        if let l = g.loss, owner.values.contains(g[l].name) == false {
            throw fail(g[l], "the loss must be softmax_cross_entropy or mse")
        }
        for id in g.ids where (g[id].op == .parameter || g[id].op == .label) && owner[id] == nil {
            throw fail(g[id], "no layer reads it, so the format cannot place it")
        }

        let json = JSONValue.object([
            "format": .string(ArchitectureSpec.format),
            "version": .int(ArchitectureSpec.version),
            "name": .string(model.name),
            "input": .object(["name": .string(input.name), "shape": .array(input.shape.dims.map { .int($0) })]),
            "layers": .array(layers),
            "output": .string(g[prediction].name),
            "loss": .string(loss.rawValue),
        ])
        return Result(json: json, tensorNames: tensorNames)
    }

    /// `kernel`, `stride` and `padding` in their shortest spelling.
    private func windowFields(_ w: Window2D) -> [String: JSONValue] {
        func pair(_ a: Int, _ b: Int) -> JSONValue { a == b ? .int(a) : .array([.int(a), .int(b)]) }
        let padding: JSONValue
        if w.padTop == w.padBottom && w.padLeft == w.padRight {
            padding = pair(w.padTop, w.padLeft)
        } else {
            padding = .array([w.padTop, w.padLeft, w.padBottom, w.padRight].map { .int($0) })
        }
        return ["kernel": pair(w.kernelH, w.kernelW), "stride": pair(w.strideH, w.strideW), "padding": padding]
    }
}
