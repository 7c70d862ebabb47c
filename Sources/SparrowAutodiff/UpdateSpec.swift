import SparrowIR

/// A sparse-update scheme: which parameterized layers (convs and linears) learn
/// what. Rules apply in order, later ones overriding earlier ones for the layers
/// they name, and resolve against a model into one `LayerUpdate` per layer.
///
/// Classifier-only, bias-only and full update are specs like any other:
/// `.classifierOnly`, `.biasOnly`, `.full`.
public struct UpdateSpec: Hashable, Sendable {
    public enum Rule: Hashable, Sendable {
        /// Every parameterized layer.
        case all(LayerUpdate)
        /// The last `n` parameterized layers in graph order (the classifier is the last).
        case lastLayers(Int, LayerUpdate)
        /// The layer with this name.
        case layer(String, LayerUpdate)
        /// The layer at this index among parameterized layers; negative indices count from the end.
        case index(Int, LayerUpdate)
    }

    public var rules: [Rule]

    public init(_ rules: [Rule]) { self.rules = rules }

    public static let full = UpdateSpec([.all(.allWeights)])
    public static let classifierOnly = UpdateSpec([.lastLayers(1, .allWeights)])
    public static let biasOnly = UpdateSpec([.all(.bias)])

    /// The Tiny-Training-Engine style: biases of the last `nBiasUpdate` layers, the
    /// weights of the layers at `weightIndices` (indices among parameterized layers,
    /// negative from the end) with the matching channel `ratios`, and the classifier.
    public static func tinyTrainingEngine(nBiasUpdate: Int, weightIndices: [Int], ratios: [Ratio]) -> UpdateSpec {
        var rules: [Rule] = [.lastLayers(nBiasUpdate, .bias)]
        for (i, r) in zip(weightIndices, ratios) { rules.append(.index(i, .weights(r))) }
        rules.append(.lastLayers(1, .allWeights))
        return UpdateSpec(rules)
    }
}

/// The update of one layer after resolution against a model.
public struct LayerPlan: Hashable, Sendable {
    /// The conv or linear node.
    public var layer: String
    public var update: LayerUpdate
    /// Weight and bias parameter names (bias nil when the layer has none).
    public var weight: String
    public var bias: String?
    /// Input channels whose weights train, ascending; nil when the update is frozen,
    /// bias-only, or covers every channel.
    public var channels: [Int]?
    /// Input channels of the weight (channels of a depthwise layer).
    public var channelCount: Int

    public init(layer: String, update: LayerUpdate, weight: String, bias: String?, channels: [Int]?, channelCount: Int) {
        self.layer = layer
        self.update = update
        self.weight = weight
        self.bias = bias
        self.channels = channels
        self.channelCount = channelCount
    }
}

/// Why a spec does not fit a model; names the rule, layer or value.
public enum SpecError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownLayer(String, known: [String])
    case indexOutOfRange(Int, layers: Int)
    case noBias(String)
    case groupedPartialUpdate(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownLayer(let n, let k):
            return "no conv or linear layer named '\(n)'; the model's are: \(k.joined(separator: ", "))"
        case .indexOutOfRange(let i, let n): return "layer index \(i) is out of range for \(n) conv/linear layers"
        case .noBias(let n): return "layer '\(n)' has no bias, so it cannot be bias-only; use frozen or weights"
        case .groupedPartialUpdate(let n):
            return "layer '\(n)' is a grouped (not depthwise) convolution; only a ratio of 1 is supported for it"
        case .invalid(let m): return m
        }
    }
}

extension UpdateSpec {
    /// One plan per conv/linear layer of `model`, in graph order. Partial updates
    /// select the input channels with the largest weight L2 norm (ties to the lower
    /// index) from the model's current weights; the compiled kernels update exactly
    /// these channels.
    public func resolve(_ model: Model) throws(SpecError) -> [LayerPlan] {
        let g = model.graph
        let layers = parameterizedLayers(g)
        var updates = Array(repeating: LayerUpdate.frozen, count: layers.count)
        let names = layers.map { g[$0].name }
        for rule in rules {
            switch rule {
            case .all(let u):
                for k in updates.indices { updates[k] = u }
            case .lastLayers(let n, let u):
                guard n >= 0 else { throw .invalid("last-layers count must not be negative, got \(n)") }
                for k in updates.indices.suffix(n) { updates[k] = u }
            case .layer(let name, let u):
                guard let k = names.firstIndex(of: name) else { throw .unknownLayer(name, known: names) }
                updates[k] = u
            case .index(let i, let u):
                let k = i < 0 ? layers.count + i : i
                guard updates.indices.contains(k) else { throw .indexOutOfRange(i, layers: layers.count) }
                updates[k] = u
            }
        }
        var plans: [LayerPlan] = []
        for (k, id) in layers.enumerated() {
            let node = g[id]
            let weight = g[node.inputs[1]].name
            let bias = node.inputs.count > 2 ? g[node.inputs[2]].name : nil
            let w = g[node.inputs[1]].type.shape
            let channelCount = w.dims.last ?? 0
            var plan = LayerPlan(layer: node.name, update: updates[k], weight: weight, bias: bias, channels: nil, channelCount: channelCount)
            switch updates[k] {
            case .frozen:
                break
            case .bias:
                guard bias != nil else { throw .noBias(node.name) }
            case .weights(let r):
                if case .conv2d(let c) = node.op, c.groups > 1, !c.isDepthwise(inChannels: g[node.inputs[0]].type.shape[2]) {
                    guard r == .one else { throw .groupedPartialUpdate(node.name) }
                }
                let k = r.count(of: channelCount)
                if k < channelCount, let value = model.weights[weight] {
                    plan.channels = topChannels(value, count: k)
                }
            }
            plans.append(plan)
        }
        return plans
    }
}

/// Indices of the `count` input channels (last dimension) with the largest L2 norm,
/// ascending; ties go to the lower index.
func topChannels(_ w: Tensor, count: Int) -> [Int] {
    let c = w.shape.dims.last ?? 1
    var norms = [Double](repeating: 0, count: c)
    for (i, v) in w.scalars.enumerated() { norms[i % c] += Double(v) * Double(v) }
    let ranked = norms.indices.sorted { norms[$0] != norms[$1] ? norms[$0] > norms[$1] : $0 < $1 }
    return ranked.prefix(count).sorted()
}

/// The conv and linear nodes whose weight is a parameter, in graph order: the
/// layers an update spec talks about (the last one is the classifier).
public func parameterizedLayers(_ g: Graph) -> [NodeID] {
    g.ids.filter { id in
        switch g[id].op {
        case .conv2d, .linear: return g[id].inputs.count > 1 && g[g[id].inputs[1]].op == .parameter
        default: return false
        }
    }
}
