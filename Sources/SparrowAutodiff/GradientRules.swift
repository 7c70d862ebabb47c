import SparrowIR

/// The gradient table: for each op, what its backward pass saves during the forward
/// pass, and its vector-Jacobian product. Adding an `Op` case does not compile
/// until both switches handle it.

/// A tensor the backward pass of `node` needs that the forward pass would not
/// keep, computed right after the node: ReLU keeps a 1-bit mask instead of the
/// activation (from its output, which marks the same elements, so the input can
/// be overwritten in place), max-pool a uint8 argmax instead of its input (from
/// the input), and a layer whose weight trains on some input channels keeps only
/// those channels of its input.
func savedForBackward(_ node: Node, in g: Graph) -> (suffix: String, op: Op, fromOutput: Bool)? {
    switch node.op {
    case .activation(let a): return ("mask", .activationMask(a), true)
    case .maxPool2d(let w): return ("argmax", .maxPoolArgmax(w), false)
    case .conv2d, .linear:
        if case .splitWeight(let sel) = g[node.inputs[1]].op { return ("input.selected", .gatherChannels(sel), false) }
        return nil
    case .input, .label, .parameter, .constant, .optimizerState, .add, .avgPool2d,
         .globalAvgPool, .reshape, .softmaxCrossEntropy, .meanSquaredError, .splitWeight, .gatherChannels,
         .activationMask, .maxPoolArgmax, .maskedGradient, .maxPool2dBackward, .avgPool2dBackward,
         .globalAvgPoolBackward, .conv2dInputGrad, .conv2dWeightGrad, .linearInputGrad, .linearWeightGrad,
         .biasGrad, .softmaxCrossEntropyGrad, .meanSquaredErrorGrad, .update:
        return nil
    }
}

/// What a VJP rule may ask for: the forward node, the gradient flowing into its
/// output (nil for the loss, whose gradient is 1), the saved tensor, and which
/// inputs need a gradient.
struct VJPContext {
    var node: Node
    var id: NodeID
    var dy: NodeID?
    var saved: NodeID?
    var wants: [Bool]
}

/// A backward node to append: name suffix, op, inputs, declared type (when the op needs it).
struct BackwardNode {
    var name: String
    var op: Op
    var inputs: [NodeID]
    var type: TensorType?
}

/// The vector-Jacobian product of one node: for each input that needs a gradient,
/// either an existing tensor (`.same`) or backward nodes to append, the last of
/// which is the gradient. Inside a chain, input `previousInChain` names the node
/// appended just before.
enum InputGradient {
    case none
    case same(NodeID)
    case node(BackwardNode)
    case chain([BackwardNode])
}

let previousInChain: NodeID = -1

/// The weight gradient of a layer whose weight is a split view (`splitWeight`):
/// only the trainable slice gets one, computed from the saved input channels, and
/// it is exactly that slice of the full weight gradient (same sums, same order).
/// Depthwise layers also gather the matching channels of `dy`.
private func slicedWeightGradient(_ n: Node, dy: NodeID, saved: NodeID?, in g: Graph) throws(AutodiffError) -> InputGradient {
    let view = g[n.inputs[1]]
    guard case .splitWeight(let sel) = view.op, let xSel = saved else {
        throw .graph(.invalidAttribute(node: n.name, detail: "selected input channels were not saved"))
    }
    let name = "grad/" + g[view.inputs[1]].name
    switch n.op {
    case .conv2d(let c) where c.isDepthwise(inChannels: g[n.inputs[0]].type.shape[2]):
        let narrow = Conv2D(window: c.window, outChannels: sel.count, groups: sel.count)
        return .chain([
            BackwardNode(name: "grad/\(n.name).selected", op: .gatherChannels(sel), inputs: [dy], type: nil),
            BackwardNode(name: name, op: .conv2dWeightGrad(narrow), inputs: [xSel, previousInChain], type: nil),
        ])
    case .conv2d(let c):
        return .node(BackwardNode(name: name, op: .conv2dWeightGrad(c), inputs: [xSel, dy], type: nil))
    default:
        return .node(BackwardNode(name: name, op: .linearWeightGrad, inputs: [xSel, dy], type: nil))
    }
}

func vjp(_ c: VJPContext, in g: Graph) throws(AutodiffError) -> [InputGradient] {
    let n = c.node
    let x = n.inputs
    func want(_ k: Int, _ make: () -> InputGradient) -> InputGradient { k < c.wants.count && c.wants[k] ? make() : .none }
    func grad(_ k: Int) -> String { "grad/" + g[x[k]].name }
    func dy() throws(AutodiffError) -> NodeID {
        guard let d = c.dy else { throw .unsupportedLoss(node: n.name, op: n.op.name) }
        return d
    }
    switch n.op {
    case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .gatherChannels, .activationMask,
         .maxPoolArgmax:
        return x.map { _ in .none }
    case .conv2d(let conv):
        let d = try dy()
        let split = g[x[1]].op.isSplitWeight
        return [
            want(0) { .node(BackwardNode(name: grad(0), op: .conv2dInputGrad(conv), inputs: [d, x[1]], type: g[x[0]].type)) },
            split ? try slicedWeightGradient(n, dy: d, saved: c.saved, in: g)
                : want(1) { .node(BackwardNode(name: grad(1), op: .conv2dWeightGrad(conv), inputs: [x[0], d], type: nil)) },
        ] + (x.count > 2 ? [want(2) { .node(BackwardNode(name: grad(2), op: .biasGrad, inputs: [d], type: nil)) }] : [])
    case .linear:
        let d = try dy()
        let split = g[x[1]].op.isSplitWeight
        return [
            want(0) { .node(BackwardNode(name: grad(0), op: .linearInputGrad, inputs: [d, x[1]], type: nil)) },
            split ? try slicedWeightGradient(n, dy: d, saved: c.saved, in: g)
                : want(1) { .node(BackwardNode(name: grad(1), op: .linearWeightGrad, inputs: [x[0], d], type: nil)) },
        ] + (x.count > 2 ? [want(2) { .node(BackwardNode(name: grad(2), op: .biasGrad, inputs: [d], type: nil)) }] : [])
    case .add:
        let d = try dy()
        return [want(0) { .same(d) }, want(1) { .same(d) }]
    case .activation:
        let d = try dy()
        guard let mask = c.saved else { throw .graph(.invalidAttribute(node: n.name, detail: "mask was not saved")) }
        return [want(0) { .node(BackwardNode(name: grad(0), op: .maskedGradient, inputs: [d, mask], type: nil)) }]
    case .maxPool2d(let w):
        let d = try dy()
        guard let argmax = c.saved else { throw .graph(.invalidAttribute(node: n.name, detail: "argmax was not saved")) }
        return [want(0) { .node(BackwardNode(name: grad(0), op: .maxPool2dBackward(w), inputs: [d, argmax], type: g[x[0]].type)) }]
    case .avgPool2d(let w):
        let d = try dy()
        return [want(0) { .node(BackwardNode(name: grad(0), op: .avgPool2dBackward(w), inputs: [d], type: g[x[0]].type)) }]
    case .globalAvgPool:
        let d = try dy()
        return [want(0) { .node(BackwardNode(name: grad(0), op: .globalAvgPoolBackward, inputs: [d], type: g[x[0]].type)) }]
    case .reshape:
        let d = try dy()
        return [want(0) { .node(BackwardNode(name: grad(0), op: .reshape, inputs: [d], type: g[x[0]].type)) }]
    case .softmaxCrossEntropy:
        guard c.dy == nil else { throw .unsupportedLoss(node: n.name, op: "loss used as an intermediate value") }
        return [want(0) { .node(BackwardNode(name: grad(0), op: .softmaxCrossEntropyGrad, inputs: x, type: nil)) }, .none]
    case .meanSquaredError:
        guard c.dy == nil else { throw .unsupportedLoss(node: n.name, op: "loss used as an intermediate value") }
        return [want(0) { .node(BackwardNode(name: grad(0), op: .meanSquaredErrorGrad, inputs: x, type: nil)) }, .none]
    case .maskedGradient, .maxPool2dBackward, .avgPool2dBackward, .globalAvgPoolBackward, .conv2dInputGrad,
         .conv2dWeightGrad, .linearInputGrad, .linearWeightGrad, .biasGrad, .softmaxCrossEntropyGrad,
         .meanSquaredErrorGrad, .update:
        throw .notAForwardGraph(node: n.name, op: n.op.name)
    }
}
