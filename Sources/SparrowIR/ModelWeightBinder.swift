/// Puts the tensors of a weights file into an assembled model and folds batch-norms.
///
/// Every tensor the architecture implies (`<layer>.weight`, `<layer>.bias` when the
/// layer has `bias: true`, and `<bn>.weight`, `.bias`, `.running_mean`,
/// `.running_var` per batch-norm) must be in the file with the expected shape and
/// finite values; a tensor the architecture does not use is an error too, because
/// it almost always means a layer name in the two files disagrees.
///
/// Without a weights file the builder's seeded initialisation stays, and batch-norms
/// fold with fresh statistics (γ = 1, β = 0, μ = 0, σ² = 1): the same values a newly
/// constructed PyTorch model computes in evaluation mode.
struct ModelWeightBinder {
    let spec: ArchitectureSpec
    let folds: [String: ModelAssembler.Fold]
    /// The weights file's name, for errors.
    let file: String
    /// The architecture file's name, for errors about folding.
    let architectureFile: String

    func bind(_ model: inout Model, weights: SafetensorsFile?) throws(ModelFileError) {
        if let weights, let format = weights.metadata["format"], format != SafetensorsFile.sparrowFormat {
            throw .foreignLayout(file: file, format: format)
        }
        let expected = expectedTensorNames()
        let unexpected = weights.map { Set($0.tensors.keys).subtracting(expected).sorted() } ?? []

        func take(_ tensor: String, _ shape: Shape, layer: String, default fallback: Tensor?) throws(ModelFileError) -> Tensor {
            guard let weights else {
                return fallback ?? Tensor(zeros: shape)
            }
            guard let t = weights.tensors[tensor] else {
                throw .missingTensor(file: file, tensor: tensor, layer: layer, unexpected: unexpected)
            }
            guard t.shape == shape else { throw .tensorShape(file: file, tensor: tensor, expected: shape, found: t.shape) }
            if let bad = t.firstNonFinite { throw .nonFinite(file: file, tensor: tensor, index: bad) }
            return t
        }

        for layer in spec.layers where layer.op.hasWeights {
            guard let id = model.graph.id(named: layer.name), model.graph[id].inputs.count >= 2 else { continue }
            let node = model.graph[id]
            let weightNode = model.graph[node.inputs[1]]
            let biasNode = node.inputs.count == 3 ? model.graph[node.inputs[2]] : nil
            let channels = node.type.shape.dims.last ?? 0

            var w = try take("\(layer.name).weight", weightNode.type.shape, layer: layer.name, default: model.weights[weightNode.name])
            var b: Tensor?
            if layer.op.hasBias, let biasNode {
                b = try take("\(layer.name).bias", biasNode.type.shape, layer: layer.name, default: model.weights[biasNode.name])
            }
            if let fold = folds[layer.name] {
                let bn = fold.batchNorm
                let vector = Shape(channels)
                var stats = BatchNormFolding.Statistics.identity(channels: channels, eps: fold.eps)
                if weights != nil {
                    stats.gamma = try take("\(bn).weight", vector, layer: bn, default: nil).scalars
                    stats.beta = try take("\(bn).bias", vector, layer: bn, default: nil).scalars
                    stats.mean = try take("\(bn).running_mean", vector, layer: bn, default: nil).scalars
                    stats.variance = try take("\(bn).running_var", vector, layer: bn, default: nil).scalars
                }
                let axis: BatchNormFolding.ChannelAxis
                if case .conv2d(let c) = node.op, c.isDepthwise(inChannels: model.graph[node.inputs[0]].type.shape.dims.last ?? 0) {
                    axis = .last
                } else {
                    axis = .first
                }
                do { (w, b) = try BatchNormFolding.fold(weight: w, bias: b, channelAxis: axis, stats: stats) } catch {
                    throw .batchNorm(file: weights == nil ? architectureFile : file, layer: bn,
                                     detail: "folding into '\(layer.name)' fails at channel \(error.channel): \(error.reason); check \(bn).running_var")
                }
            }
            model.weights[weightNode.name] = w
            if let biasNode { model.weights[biasNode.name] = b ?? Tensor(zeros: biasNode.type.shape) }
        }

        if !unexpected.isEmpty { throw .extraTensors(file: file, tensors: unexpected) }
        do { try model.validate() } catch { throw .model(file: file, error) }
    }

    /// Names of every tensor the architecture reads from a weights file.
    func expectedTensorNames() -> Set<String> {
        var names = Set<String>()
        for layer in spec.layers {
            switch layer.op {
            case .conv2d, .depthwiseConv2d, .linear:
                names.insert("\(layer.name).weight")
                if layer.op.hasBias { names.insert("\(layer.name).bias") }
            case .batchNorm:
                for suffix in ["weight", "bias", "running_mean", "running_var"] { names.insert("\(layer.name).\(suffix)") }
            default:
                break
            }
        }
        return names
    }
}
