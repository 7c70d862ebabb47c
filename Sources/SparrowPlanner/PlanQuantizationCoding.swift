import SparrowIR

/// The `quantization` section of an INT8 plan file:
///
///     "quantization": {
///       "qas": true,
///       "activations": { "<tensor>": [scale, zero_point], … },
///       "weights": { "<weight>": [scale of channel 0, …], … }
///     }
///
/// Scales are written as the shortest decimal of their fp32 value, so they read
/// back bit for bit.
enum PlanQuantizationCoding {
    static func encode(_ q: PlanQuantization, graph g: Graph) -> OrderedJSON {
        func sorted<V>(_ map: [NodeID: V]) -> [(NodeID, V)] {
            map.sorted { g[$0.key].name.utf8.lexicographicallyPrecedes(g[$1.key].name.utf8) }
        }
        return .object([
            ("qas", .bool(q.qas)),
            ("activations", .object(sorted(q.activations).map { id, p in
                (g[id].name, .array([.float(p.scale), .int(Int(p.zeroPoint))]))
            })),
            ("weights", .object(sorted(q.weightScales).map { id, s in (g[id].name, .array(s.map { .float($0) })) })),
        ])
    }

    /// Reads the section; every name must be a schedule entry stored as int8.
    static func decode(_ f: PlanFields, graph g: Graph, dtypes: [DType]) throws(PlanFileError) -> PlanQuantization {
        try f.only(["qas", "activations", "weights"])
        let qas = try f.bool("qas")
        func entry(_ section: PlanFields, _ name: String) throws(PlanFileError) -> NodeID {
            guard let id = g.id(named: name) else {
                throw .unknownName(file: f.file, at: .section("quantization"), field: section.path + name, name: name,
                                   detail: "is no schedule entry")
            }
            guard dtypes[id] == .int8 else {
                throw section.invalid(name, "'\(name)' is stored as \(dtypes[id].rawValue), not int8")
            }
            return id
        }
        func scale(_ v: JSONValue, _ key: String, _ section: PlanFields) throws(PlanFileError) -> Float {
            let s: Float?
            switch v {
            case .int(let i): s = Float(i)
            case .double(let d): s = d.isFinite ? Float(d.description) : nil
            default: s = nil
            }
            guard let s, s > 0, s.isFinite else { throw section.invalid(key, "scales must be positive finite numbers, found \(v.kindDescription)") }
            return s
        }
        let a = try f.object("activations")
        var activations = [NodeID: QuantParams]()
        for (name, v) in a.fields {
            let id = try entry(a, name)
            guard case .array(let pair) = v, pair.count == 2 else { throw a.invalid(name, "must be [scale, zero_point]") }
            let s = try scale(pair[0], name, a)
            let zp = try PlanFields.int(pair[1], -128...127) { a.invalid(name, "zero point: " + $0) }
            activations[id] = QuantParams(scale: s, zeroPoint: Int32(zp))
        }
        let w = try f.object("weights")
        var weights = [NodeID: [Float]]()
        let consumers = g.consumers()
        for (name, v) in w.fields {
            let id = try entry(w, name)
            guard let channels = outputChannels(of: id, in: g, consumers: consumers) else {
                throw w.invalid(name, "'\(name)' is not the weight of a conv or linear layer")
            }
            guard case .array(let items) = v, items.count == channels else {
                throw w.invalid(name, "must be an array of \(channels) per-channel scales, one per output channel")
            }
            var scales: [Float] = []
            for item in items { scales.append(try scale(item, name, w)) }
            weights[id] = scales
        }
        return PlanQuantization(activations: activations, weightScales: weights, qas: qas)
    }

    /// The output channels of a weight read by a conv or linear layer (directly or
    /// through a split view): the last dimension of a depthwise weight (and of its
    /// trainable slice), else the first.
    static func outputChannels(of id: NodeID, in g: Graph, consumers: [[NodeID]]) -> Int? {
        guard let depthwise = readAsDepthwise(id, in: g, consumers: consumers) else { return nil }
        return depthwise ? g[id].type.shape.dims.last : g[id].type.shape.dims.first
    }

    /// Whether a weight's layer is a depthwise conv (nil: no conv or linear reads it).
    private static func readAsDepthwise(_ id: NodeID, in g: Graph, consumers: [[NodeID]]) -> Bool? {
        for c in consumers[id] {
            switch g[c].op {
            case .splitWeight:
                if let d = readAsDepthwise(c, in: g, consumers: consumers) { return d }
            case .conv2d(let conv) where g[c].inputs.count > 1 && g[c].inputs[1] == id:
                return conv.isDepthwise(inChannels: g[g[c].inputs[0]].type.shape[2])
            case .linear where g[c].inputs.count > 1 && g[c].inputs[1] == id:
                return false
            default:
                continue
            }
        }
        return nil
    }
}
