/// Turns an `ArchitectureSpec` into a `Model` through `ModelBuilder`, with batch-norm
/// layers removed: each is recorded as a fold into the layer before it, whose
/// weights `ModelWeightBinder` then rewrites.
///
/// The graph's structure depends only on the architecture, never on whether a
/// weights file is given: a conv/linear followed by batch-norm always gets a bias,
/// because folding produces one.
struct ModelAssembler {
    let spec: ArchitectureSpec
    let file: String

    /// A batch-norm layer folded into the conv/linear layer before it.
    struct Fold: Hashable, Sendable {
        var batchNorm: String
        var eps: Double
    }

    /// The built model (parameters initialised from the seed) and the folds, keyed by
    /// the name of the layer each batch-norm folds into.
    struct Result {
        var model: Model
        var folds: [String: Fold]
    }

    func assemble(seed: UInt64) throws(ModelFileError) -> Result {
        let inputs = resolvedInputs()
        let folds = try planFolds(inputs: inputs)
        var alias: [String: String] = [:]
        for (target, fold) in folds { alias[fold.batchNorm] = target }

        var b = ModelBuilder(name: spec.name, seed: seed)
        var ids: [String: NodeID] = [:]
        do { ids[spec.inputName] = try b.input(spec.inputShape, name: spec.inputName) } catch {
            throw .graph(file: file, layer: spec.inputName, error)
        }
        // The decoder checked that inputs name the input or earlier layers, so lookups succeed;
        // the guard keeps that an error rather than a trap should the two ever disagree.
        func node(_ name: String, for layer: String) throws(ModelFileError) -> NodeID {
            guard let id = ids[alias[name] ?? name] else { throw .unknownInput(file: file, layer: layer, input: name) }
            return id
        }

        for (layer, names) in zip(spec.layers, inputs) {
            if case .batchNorm = layer.op { continue }
            let x = try node(names[0], for: layer.name)
            let folded = folds[layer.name] != nil
            do {
                switch layer.op {
                case .conv2d(let window, let outChannels, let groups, let bias):
                    let conv = Conv2D(window: window, outChannels: outChannels, groups: groups)
                    try checkSize(of: conv, input: b.graph[x].type.shape, layer: layer.name)
                    ids[layer.name] = try b.conv2d(x, conv, bias: bias || folded, name: layer.name)
                case .depthwiseConv2d(let window, let bias):
                    let s = b.graph[x].type.shape
                    let c = s.rank == 3 ? s[2] : 1  // a wrong rank is reported by the builder
                    let conv = Conv2D(window: window, outChannels: c, groups: c)
                    try checkSize(of: conv, input: s, layer: layer.name)
                    ids[layer.name] = try b.conv2d(x, conv, bias: bias || folded, name: layer.name)
                case .linear(let outFeatures, let bias):
                    let s = b.graph[x].type.shape
                    if s.rank == 1 { try checkSize([outFeatures, s[0]], layer: layer.name, field: "out_features") }
                    ids[layer.name] = try b.linear(x, outFeatures: outFeatures, bias: bias || folded, name: layer.name)
                case .add:
                    ids[layer.name] = try b.add(x, try node(names[1], for: layer.name), name: layer.name)
                case .activation(.relu):
                    ids[layer.name] = try b.relu(x, name: layer.name)
                case .activation(.relu6):
                    ids[layer.name] = try b.relu6(x, name: layer.name)
                case .maxPool2d(let w):
                    ids[layer.name] = try b.maxPool2d(x, w, name: layer.name)
                case .avgPool2d(let w):
                    ids[layer.name] = try b.avgPool2d(x, w, name: layer.name)
                case .globalAvgPool:
                    ids[layer.name] = try b.globalAvgPool(x, name: layer.name)
                case .flatten:
                    ids[layer.name] = try b.flatten(x, name: layer.name)
                case .reshape(let shape):
                    ids[layer.name] = try b.reshape(x, to: shape, name: layer.name)
                case .batchNorm:
                    break
                }
            } catch let e as GraphError {
                throw .graph(file: file, layer: layer.name, e)
            } catch let e as ModelFileError {
                throw e
            } catch {
                throw .graph(file: file, layer: layer.name, .invalidAttribute(node: layer.name, detail: "\(error)"))
            }
        }

        let outputName = spec.output ?? spec.layers.last?.name ?? spec.inputName
        let output = try node(outputName, for: "output")
        let model: Model
        do {
            switch spec.loss {
            case .softmaxCrossEntropy: model = try b.softmaxCrossEntropy(output)
            case .mse: model = try b.meanSquaredError(output)
            case .none: model = try b.build(output: output)
            }
        } catch {
            if case .graph(let g) = error { throw .graph(file: file, layer: "loss", g) }
            throw .model(file: file, error)
        }
        return Result(model: model, folds: folds)
    }

    /// Each layer's input names, with the default (the previous layer, or the model
    /// input for the first layer) filled in.
    func resolvedInputs() -> [[String]] {
        var previous = spec.inputName
        var result: [[String]] = []
        for layer in spec.layers {
            result.append(layer.inputs ?? [previous])
            previous = layer.name
        }
        return result
    }

    /// Checks each batch-norm can be folded: it reads a conv2d/depthwise/linear layer
    /// that nothing else reads (folding changes that layer's output for every reader).
    private func planFolds(inputs: [[String]]) throws(ModelFileError) -> [String: Fold] {
        var readers: [String: [String]] = [:]
        for (layer, names) in zip(spec.layers, inputs) {
            for n in names { readers[n, default: []].append(layer.name) }
        }
        let outputName = spec.output ?? spec.layers.last?.name ?? spec.inputName
        readers[outputName, default: []].append("the model output")
        let byName = Dictionary(spec.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        var folds: [String: Fold] = [:]
        for (layer, names) in zip(spec.layers, inputs) {
            guard case .batchNorm(let eps) = layer.op else { continue }
            let source = names[0]
            guard let producer = byName[source], producer.op.hasWeights else {
                let what = byName[source].map { "'\(source)' (\($0.op.fileName))" } ?? "the model input '\(source)'"
                throw .batchNorm(file: file, layer: layer.name,
                                 detail: "it reads \(what), but must directly follow a conv2d, depthwise_conv2d or linear layer to be folded into it")
            }
            let others = (readers[source] ?? []).filter { $0 != layer.name }
            guard others.isEmpty else {
                throw .batchNorm(file: file, layer: layer.name,
                                 detail: "'\(source)' is also read by \(others.joined(separator: ", ")); folding would change that value too. "
                                     + "Give the batch-norm output to those readers instead")
            }
            folds[source] = Fold(batchNorm: layer.name, eps: eps)
        }
        return folds
    }

    private func checkSize(of conv: Conv2D, input: Shape, layer: String) throws(ModelFileError) {
        guard input.rank == 3, conv.groups > 0 else { return }  // the builder reports these
        let w = conv.window
        try checkSize([conv.outChannels, w.kernelH, w.kernelW, input[2] / conv.groups], layer: layer, field: "out_channels")
    }

    /// Rejects parameters above `ModelFile.maxParameterElements` before the builder allocates them.
    private func checkSize(_ dims: [Int], layer: String, field: String) throws(ModelFileError) {
        guard let n = SafetensorsFile.elementCount(dims), n <= ModelFile.maxParameterElements else {
            throw .invalidField(file: file, at: .layer(layer), field: field,
                                detail: "the weight \(Shape(dims)) would have more than \(ModelFile.maxParameterElements) elements, Sparrow's limit per tensor")
        }
    }
}
