import SparrowAutodiff
import SparrowIR

/// Reads the parts of a plan file that describe the training graph beyond its
/// nodes — `trainable`, `gradients`, `updates`, `slices` — and the resolved spec
/// (`layers`), and checks them against the schedule: the runtime indexes an
/// update's optimizer state and gathers slice channels by these, so a map that
/// disagrees with the nodes must not get through.
struct TrainingMaps {
    let file: String
    let top: PlanFields
    let graph: Graph
    let optimizer: Optimizer

    private func node(_ name: String, field: String, at: PlanFileError.Location) throws(PlanFileError) -> NodeID {
        guard let id = graph.id(named: name) else {
            throw .unknownName(file: file, at: at, field: field, name: name, detail: "is no schedule entry")
        }
        return id
    }

    private func parameter(_ name: String, field: String, at: PlanFileError.Location) throws(PlanFileError) -> NodeID {
        let id = try node(name, field: field, at: at)
        guard graph[id].op == .parameter else {
            throw .training(file: file, at: at, detail: "'\(field)' names '\(name)', a \(OpCoding.kind(of: graph[id].op)), not a parameter")
        }
        return id
    }

    /// Trainable parameters, in schedule order.
    func trainable() throws(PlanFileError) -> [NodeID] {
        var ids: [NodeID] = []
        for (k, name) in try top.names("trainable").enumerated() {
            let id = try parameter(name, field: "trainable[\(k)]", at: .topLevel)
            if let last = ids.last, last >= id {
                throw top.invalid("trainable", "'\(name)' is listed after '\(graph[last].name)'; list each parameter once, in schedule order")
            }
            ids.append(id)
        }
        return ids
    }

    /// `gradients` or `updates`: an object from each trainable parameter's name to a node's name.
    func map(_ key: String, trainable: [NodeID]) throws(PlanFileError) -> [NodeID: NodeID] {
        let f = try top.object(key)
        var result: [NodeID: NodeID] = [:]
        let known = Set(trainable)
        for param in f.fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let value = f.fields[param]!
            let p = try node(param, field: "\(key).\(param)", at: .topLevel)
            guard known.contains(p) else {
                throw .training(file: file, at: .section(key), detail: "'\(param)' is not in 'trainable'")
            }
            let target = try PlanFields.name(value) { f.invalid(param, $0) }
            result[p] = try node(target, field: "\(key).\(param)", at: .topLevel)
        }
        if let missing = trainable.first(where: { result[$0] == nil }) {
            throw .training(file: file, at: .section(key), detail: "trainable parameter '\(graph[missing].name)' has no entry")
        }
        return result
    }

    /// Each update node is `update(optimizer)` of its parameter and gradient, with the
    /// optimizer's state slots in order, and every update node is some parameter's update.
    func checkUpdates(trainable: [NodeID], gradients: [NodeID: NodeID], updates: [NodeID: NodeID]) throws(PlanFileError) {
        for p in trainable {
            let (u, g) = (updates[p]!, gradients[p]!)
            let node = graph[u], at = PlanFileError.Location.entry(node.name)
            guard case .update(let o) = node.op else {
                throw .training(file: file, at: .section("updates"), detail: "'\(graph[p].name)' maps to '\(node.name)', which is not an update")
            }
            guard o == optimizer else {
                throw .training(file: file, at: at, detail: "updates with \(o.name), but the plan's optimizer is \(optimizer.name)")
            }
            let hasMaster = node.inputs.count == 3 + o.stateSlots.count
            guard node.inputs.count == 2 + o.stateSlots.count || hasMaster, node.inputs[0] == p, node.inputs[1] == g else {
                throw .training(file: file, at: at, detail: "must read '\(graph[p].name)', its gradient '\(graph[g].name)', \(o.stateSlots.count) optimizer state tensor(s) and optionally a master copy, in that order")
            }
            for (k, slot) in (o.stateSlots + (hasMaster ? [.master] : [])).enumerated() {
                let s = graph[node.inputs[2 + k]]
                guard s.op == .optimizerState(slot), s.inputs == [p] else {
                    throw .training(file: file, at: at, detail: "input \(2 + k) '\(s.name)' must be the \(slot.rawValue) state of '\(graph[p].name)'")
                }
            }
        }
        let targets = Set(updates.values)
        for i in graph.ids {
            if case .update = graph[i].op, !targets.contains(i) {
                throw .training(file: file, at: .entry(graph[i].name), detail: "is an update of no trainable parameter listed in 'updates'")
            }
        }
    }

    /// Trainable slices: each a parameter holding some input channels of a weight.
    func slices() throws(PlanFileError) -> [String: WeightSlice] {
        let f = try top.object("slices")
        var result: [String: WeightSlice] = [:]
        for name in f.fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let at = PlanFileError.Location.section("slices.\(name)")
            let s = try PlanFields(f.fields[name]!, file: file, at: at, field: "slices.\(name)")
            try s.only(["source", "channels"])
            let slice = try parameter(name, field: "slices", at: at)
            let source = try parameter(try s.name("source"), field: "source", at: at)
            let channels = try s.channels("channels")
            let w = graph[source].type.shape.dims
            guard let c = w.last, channels.indices.last! < c, graph[slice].type.shape.dims == Array(w.dropLast()) + [channels.count] else {
                throw .training(file: file, at: at, detail: "a slice of \(graph[slice].type.shape) cannot hold channels \(channels.indices.prefix(8))… of '\(graph[source].name)' \(graph[source].type.shape)")
            }
            result[name] = WeightSlice(source: graph[source].name, channels: channels)
        }
        // The split views read exactly these slices, with the same channels.
        for i in graph.ids {
            guard case .splitWeight(let sel) = graph[i].op else { continue }
            let (w, s) = (graph[graph[i].inputs[0]].name, graph[graph[i].inputs[1]].name)
            guard result[s] == WeightSlice(source: w, channels: sel) else {
                throw .training(file: file, at: .entry(graph[i].name), detail: "splits '\(w)' with slice '\(s)' on channels \(sel.indices.prefix(8))…, but 'slices' does not list that slice of that weight on those channels")
            }
        }
        return result
    }

    /// The resolved spec: one entry per conv/linear layer.
    func layers(slices: [String: WeightSlice]) throws(PlanFileError) -> [LayerPlan] {
        var result: [LayerPlan] = []
        for (k, v) in try top.array("layers").enumerated() {
            let probe = try PlanFields(v, file: file, at: .section("layers[\(k)]"), field: "layers[\(k)]")
            let layerName = try probe.name("layer")
            let f = PlanFields(file: file, at: .layer(layerName), path: "", fields: probe.fields)
            try f.only(["layer", "update", "weight", "bias", "channels", "channel_count"])
            let layer = try node(layerName, field: "layer", at: f.at)
            switch graph[layer].op {
            case .conv2d, .linear: break
            default: throw .training(file: file, at: f.at, detail: "'\(layerName)' is a \(OpCoding.kind(of: graph[layer].op)), not a conv2d or linear layer")
            }
            let text = try f.string("update")
            let update: LayerUpdate
            switch text {
            case "frozen": update = .frozen
            case "bias": update = .bias
            case "weights": update = .allWeights
            default:
                guard text.hasPrefix("weights "), let r = Ratio(parsing: String(text.dropFirst("weights ".count))) else {
                    throw f.invalid("update", "'\(text)' is not an update; known: frozen, bias, weights, weights P/Q")
                }
                update = .weights(r)
            }
            let weight = try parameter(try f.name("weight"), field: "weight", at: f.at)
            let bias = try f.optionalName("bias")
            if let bias { _ = try parameter(bias, field: "bias", at: f.at) }
            let count = try f.int("channel_count", 1...Int(Int32.max))
            guard graph[weight].type.shape.dims.last == count else {
                throw f.invalid("channel_count", "is \(count), but weight '\(graph[weight].name)' \(graph[weight].type.shape) has \(graph[weight].type.shape.dims.last ?? 0) input channels")
            }
            var channels: [Int]?
            if try f.value("channels") != .null {
                let sel = try f.channels("channels")
                guard sel.indices.last! < count else { throw f.invalid("channels", "channel \(sel.indices.last!) is out of range for \(count) channels") }
                channels = sel.indices
            }
            if let slice = slices.values.first(where: { $0.source == graph[weight].name }), slice.channels.indices != channels {
                throw f.invalid("channels", "the weight's trainable slice holds channels \(slice.channels.indices.prefix(8))…, not \(channels.map { "\($0.prefix(8))…" } ?? "all")")
            }
            result.append(LayerPlan(layer: layerName, update: update, weight: graph[weight].name, bias: bias,
                                    channels: channels, channelCount: count))
        }
        return result
    }
}
