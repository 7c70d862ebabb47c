import SparrowIR

/// Derives the training graph of a forward graph with a loss.
///
/// 1. Which nodes need a gradient is computed forward from the trainable
///    parameters (as ggml does): a node needs one when any input does, and only
///    nodes that reach the loss count. Back-propagation therefore stops at the
///    earliest trainable layer: the image input never gets a gradient.
/// 2. The forward pass is copied, and next to each op whose backward pass needs a
///    saved tensor (`savedForBackward`) that tensor is computed from the op's input.
/// 3. The gradient table (`vjp`) is applied in reverse order; contributions to a
///    tensor read by several nodes are summed with `add`.
/// 4. Each parameter's update is appended as soon as its gradient is complete and
///    every reader of the parameter (including the input-gradient op that reads
///    the weight) has run, so an update never changes a weight that is still needed.
///
/// - Parameters:
///   - forward: a verified forward graph whose `loss` is set.
///   - trainable: names of the parameters to train; nil trains all of them.
///   - optimizer: the update rule, with its persistent state added per parameter.
public func deriveTrainingGraph(_ forward: Graph, trainable names: Set<String>? = nil, optimizer: Optimizer) throws(AutodiffError) -> TrainingGraph {
    do { try forward.verify() } catch { throw .graph(error) }
    guard let loss = forward.loss else { throw .noLoss }
    for (i, n) in forward.nodes.enumerated() where !isForwardOp(n.op) {
        throw .notAForwardGraph(node: forward[i].name, op: n.op.name)
    }
    let parameters = forward.ids { $0 == .parameter }
    var trainable = Set<NodeID>()
    if let names {
        for name in names.sorted() {
            guard let id = forward.id(named: name), forward[id].op == .parameter else { throw .unknownParameter(name) }
            trainable.insert(id)
        }
    } else {
        trainable = Set(parameters)
    }
    let consumers = forward.consumers()
    for p in trainable.sorted() where consumers[p].count > 1 {
        throw .sharedParameter(name: forward[p].name, consumers: consumers[p].map { forward[$0].name })
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

    // 2. Forward copy with saved tensors.
    var b = Builder()
    var map = Array(repeating: -1, count: forward.count)
    var saved = [NodeID: NodeID]()
    for i in forward.ids {
        let n = forward[i]
        map[i] = try b.append(n.name, n.op, n.inputs.map { map[$0] }, type: n.type)
        if needs[i], let s = savedForBackward(n.op) {
            saved[map[i]] = try b.append(b.unique("\(n.name).\(s.suffix)"), s.op, [map[n.inputs[0]]], type: nil)
        }
    }
    b.graph.prediction = forward.prediction.map { map[$0] }
    b.graph.loss = map[loss]
    let forwardEnd = b.graph.count

    // 3–4. Backward sweep with updates as soon as a parameter's gradient is complete.
    var grads = [NodeID: NodeID]()
    var gradients = [NodeID: NodeID]()
    var updates = [NodeID: NodeID]()
    for i in forward.ids.reversed() where needs[i] {
        let id = map[i]
        let dy = grads[id]
        guard dy != nil || i == loss else { continue }
        let n = b.graph[id]
        let context = VJPContext(node: n, id: id, dy: dy, saved: saved[id], wants: forward[i].inputs.map { needs[$0] })
        for (k, result) in try vjp(context, in: b.graph).enumerated() {
            let target = n.inputs[k]
            let contribution: NodeID
            switch result {
            case .none: continue
            case .same(let t): contribution = t
            case .node(let bn): contribution = try b.append(b.unique(bn.name), bn.op, bn.inputs, type: bn.type)
            }
            if let existing = grads[target] {
                grads[target] = try b.append(b.unique("grad/\(b.graph[target].name)"), .add, [existing, contribution], type: nil)
            } else {
                grads[target] = contribution
            }
        }
        for k in forward[i].inputs where trainable.contains(k) {
            let p = map[k]
            guard let g = grads[p] else { continue }
            gradients[p] = g
            let pname = b.graph[p].name
            var inputs = [p, g]
            for slot in optimizer.stateSlots {
                inputs.append(try b.append(b.unique("\(pname).\(slot.rawValue)"), .optimizerState(slot), [p], type: nil))
            }
            updates[p] = try b.append(b.unique("update/\(pname)"), .update(optimizer), inputs, type: nil)
        }
    }
    return TrainingGraph(graph: b.graph, trainable: gradients.keys.sorted(), gradients: gradients, updates: updates,
                         optimizer: optimizer, forwardEnd: forwardEnd)
}

private func isForwardOp(_ op: Op) -> Bool {
    switch op {
    case .input, .label, .parameter, .constant, .conv2d, .linear, .add, .activation, .maxPool2d, .avgPool2d,
         .globalAvgPool, .reshape, .softmaxCrossEntropy, .meanSquaredError:
        return true
    case .optimizerState, .activationMask, .maxPoolArgmax, .maskedGradient, .maxPool2dBackward, .avgPool2dBackward,
         .globalAvgPoolBackward, .conv2dInputGrad, .conv2dWeightGrad, .linearInputGrad, .linearWeightGrad, .biasGrad,
         .softmaxCrossEntropyGrad, .meanSquaredErrorGrad, .update:
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
