import SparrowIR

/// Derives the training graph of a model for a sparse-update spec: see
/// `deriveTrainingGraph(_:trainable:partial:optimizer:reorderUpdates:)`.
public func deriveTrainingGraph(_ model: Model, spec: UpdateSpec, optimizer: Optimizer,
                                reorderUpdates: Bool = true, masterWeights: Bool = false) throws(AutodiffError) -> TrainingGraph {
    let plans: [LayerPlan]
    do { plans = try spec.resolve(model) } catch { throw .spec(error) }
    var trainable = Set<String>()
    var partial = [String: ChannelSelection]()
    for p in plans {
        switch p.update {
        case .frozen: break
        case .bias: if let b = p.bias { trainable.insert(b) }
        case .weights:
            if let b = p.bias { trainable.insert(b) }
            if let channels = p.channels, let sel = ChannelSelection(channels) { partial[p.weight] = sel } else { trainable.insert(p.weight) }
        }
    }
    guard !trainable.isEmpty || !partial.isEmpty else { throw .nothingToTrain }
    return try deriveTrainingGraph(model.graph, trainable: trainable, partial: partial, optimizer: optimizer,
                                   reorderUpdates: reorderUpdates, masterWeights: masterWeights)
}

/// Derives the training graph of a forward graph with a loss.
///
/// 0. Nodes neither the prediction nor the loss depends on are dropped.
/// 1. Which nodes need a gradient is computed forward from the trainable
///    parameters (as ggml does): a node needs one when any input does, and only
///    nodes that reach the loss count. Back-propagation therefore stops at the
///    earliest trainable layer, and a bias-only layer keeps no input activation.
/// 2. The forward pass is copied. A partially trained weight becomes a frozen
///    full tensor plus a trainable slice of the selected input channels, read by
///    its layer through a `splitWeight` view. Next to each op whose backward pass
///    needs a saved tensor (`savedForBackward`) that tensor is computed from the
///    op's input: 1-bit ReLU masks, max-pool argmaxes, selected input channels.
/// 3. The gradient table (`vjp`) is applied in reverse order; contributions to a
///    tensor read by several nodes are summed with `add`.
/// 4. With `reorderUpdates`, each parameter's update follows as soon as its
///    gradient is complete and every reader of the parameter (including the
///    input-gradient op that reads the weight) has run, so gradient buffers of
///    different layers never coexist. Without it, all updates run at the end, as
///    in a framework that computes every gradient first.
///
/// - Parameters:
///   - trainable: names of the parameters trained whole; nil trains all of them.
///   - partial: weights trained on some input channels only.
///   - optimizer: the update rule, with its persistent state added per parameter.
///   - masterWeights: give every update an FP32 master copy of its parameter (a
///     `.master` optimizer state), for plans that store parameters in FP16.
public func deriveTrainingGraph(_ model: Graph, trainable names: Set<String>? = nil,
                                partial: [String: ChannelSelection] = [:], optimizer: Optimizer,
                                reorderUpdates: Bool = true, masterWeights: Bool = false) throws(AutodiffError) -> TrainingGraph {
    do { try model.verify() } catch { throw .graph(error) }
    for n in model.nodes where !isForwardOp(n.op) { throw .notAForwardGraph(node: n.name, op: n.op.name) }
    let forward = eliminatingDeadNodes(model)
    guard let loss = forward.loss else { throw .noLoss }
    let parameters = forward.ids { $0 == .parameter }
    var trainable = Set<NodeID>()
    for name in (names.map { Array($0) } ?? parameters.map { forward[$0].name }).sorted() + partial.keys.sorted() {
        guard let id = forward.id(named: name), forward[id].op == .parameter else { throw .unknownParameter(name) }
        trainable.insert(id)
    }
    let consumers = forward.consumers()
    for p in trainable.sorted() where consumers[p].count > 1 {
        throw .sharedParameter(name: forward[p].name, consumers: consumers[p].map { forward[$0].name })
    }
    for (name, sel) in partial.sorted(by: { $0.key < $1.key }) {
        let id = forward.id(named: name)!
        guard let reader = consumers[id].first else { throw .spec(.invalid("weight '\(name)' is not read by any layer")) }
        let layer = forward[reader]
        guard forward[id].type.shape.dims.last.map({ sel.indices.last! < $0 }) == true, layer.inputs.count > 1, layer.inputs[1] == id else {
            throw .spec(.invalid("channels \(sel.indices) do not select input channels of '\(name)'"))
        }
        switch layer.op {
        case .conv2d(let c) where c.groups == 1 || c.isDepthwise(inChannels: forward[layer.inputs[0]].type.shape[2]): break
        case .linear: break
        default: throw .spec(.groupedPartialUpdate(layer.name))
        }
    }

    // 1. needs-gradient, forward from the parameters, restricted to ancestors of the loss.
    var reachesLoss = Array(repeating: false, count: forward.count)
    reachesLoss[loss] = true
    for i in forward.ids.reversed() where reachesLoss[i] { for j in forward[i].inputs { reachesLoss[j] = true } }
    var needs = Array(repeating: false, count: forward.count)
    for i in forward.ids {
        needs[i] = reachesLoss[i] && (trainable.contains(i) || forward[i].inputs.contains { needs[$0] })
    }
    guard needs[loss] else { throw .nothingToTrain }

    // 2. Forward copy with split weights and saved tensors.
    var b = Builder()
    var map = Array(repeating: -1, count: forward.count)
    var saved = [NodeID: NodeID]()
    var slices = [String: WeightSlice]()
    var learned = [NodeID: NodeID]()   // forward parameter → the node whose update trains it (itself or its slice)
    for i in forward.ids {
        let n = forward[i]
        map[i] = try b.append(n.name, n.op, n.inputs.map { map[$0] }, type: n.type)
        learned[i] = trainable.contains(i) && needs[i] ? map[i] : nil
        if let sel = partial[n.name], needs[i] {
            let sliceName = b.unique("\(n.name).trainable")
            let shape = Shape(Array(n.type.shape.dims.dropLast()) + [sel.count])
            let slice = try b.append(sliceName, .parameter, [], type: TensorType(shape))
            slices[sliceName] = WeightSlice(source: n.name, channels: sel)
            map[i] = try b.append(b.unique("\(n.name).split"), .splitWeight(sel), [map[i], slice], type: nil)
            learned[i] = slice
        }
        if needs[i], let s = savedForBackward(b.graph[map[i]], in: b.graph) {
            let source = s.fromOutput ? map[i] : b.graph[map[i]].inputs[0]
            saved[map[i]] = try b.append(b.unique("\(n.name).\(s.suffix)"), s.op, [source], type: nil)
        }
    }
    b.graph.prediction = forward.prediction.map { map[$0] }
    b.graph.loss = map[loss]
    let forwardEnd = b.graph.count

    // 3–4. Backward sweep; updates as soon as a parameter's gradient is complete (or at the end).
    var grads = [NodeID: NodeID]()
    var gradients = [NodeID: NodeID]()
    var updates = [NodeID: NodeID]()
    var deferred: [(NodeID, NodeID)] = []
    func update(_ p: NodeID, _ g: NodeID) throws(AutodiffError) {
        let pname = b.graph[p].name
        var inputs = [p, g]
        for slot in optimizer.stateSlots + (masterWeights ? [.master] : []) {
            inputs.append(try b.append(b.unique("\(pname).\(slot.rawValue)"), .optimizerState(slot), [p], type: nil))
        }
        updates[p] = try b.append(b.unique("update/\(pname)"), .update(optimizer), inputs, type: nil)
    }
    for i in forward.ids.reversed() where needs[i] {
        let id = map[i]
        guard grads[id] != nil || i == loss else { continue }
        let n = b.graph[id]
        let context = VJPContext(node: n, id: id, dy: grads[id], saved: saved[id], wants: forward[i].inputs.map { needs[$0] })
        for (k, result) in try vjp(context, in: b.graph).enumerated() {
            // A split view's gradient is its trainable slice's.
            var target = n.inputs[k]
            if b.graph[target].op.isSplitWeight { target = b.graph[target].inputs[1] }
            let contribution: NodeID
            switch result {
            case .none: continue
            case .same(let t): contribution = t
            case .node(let bn): contribution = try b.append(b.unique(bn.name), bn.op, bn.inputs, type: bn.type)
            case .chain(let nodes):
                var last = -1
                for bn in nodes {
                    last = try b.append(b.unique(bn.name), bn.op, bn.inputs.map { $0 == previousInChain ? last : $0 }, type: bn.type)
                }
                contribution = last
            }
            if let existing = grads[target] {
                grads[target] = try b.append(b.unique("grad/\(b.graph[target].name)"), .add, [existing, contribution], type: nil)
            } else {
                grads[target] = contribution
            }
        }
        for k in forward[i].inputs {
            guard let p = learned[k], let g = grads[p] else { continue }
            gradients[p] = g
            if reorderUpdates { try update(p, g) } else { deferred.append((p, g)) }
        }
    }
    for (p, g) in deferred { try update(p, g) }
    return TrainingGraph(graph: b.graph, trainable: gradients.keys.sorted(), gradients: gradients, updates: updates,
                         optimizer: optimizer, forwardEnd: forwardEnd, slices: slices)
}

private func isForwardOp(_ op: Op) -> Bool {
    switch op {
    case .input, .label, .parameter, .constant, .conv2d, .linear, .add, .activation, .maxPool2d, .avgPool2d,
         .globalAvgPool, .reshape, .softmaxCrossEntropy, .meanSquaredError:
        return true
    case .optimizerState, .splitWeight, .gatherChannels, .activationMask, .maxPoolArgmax, .maskedGradient,
         .maxPool2dBackward, .avgPool2dBackward, .globalAvgPoolBackward, .conv2dInputGrad, .conv2dWeightGrad,
         .linearInputGrad, .linearWeightGrad, .biasGrad, .softmaxCrossEntropyGrad, .meanSquaredErrorGrad, .update:
        return false
    }
}

/// Graph under construction; graph errors here are internal errors.
private struct Builder {
    var graph = Graph()

    mutating func append(_ name: String, _ op: Op, _ inputs: [NodeID], type: TensorType?) throws(AutodiffError) -> NodeID {
        do { return try graph.append(name, op, inputs, type: type) } catch { throw .graph(error) }
    }

    /// `base`, or `base.2`, `base.3`… if taken.
    func unique(_ base: String) -> String {
        guard graph.id(named: base) != nil else { return base }
        var k = 2
        while graph.id(named: "\(base).\(k)") != nil { k += 1 }
        return "\(base).\(k)"
    }
}
