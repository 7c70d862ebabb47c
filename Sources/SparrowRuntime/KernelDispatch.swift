import CSparrowKernels
import SparrowIR
import SparrowPlanner

/// Per-call values that change between steps without recompiling the plan.
struct StepContext {
    var learningRate: Float = 0
    /// 1 when weight and bias gradients add onto the previous sample's (gradient accumulation).
    var accumulate: Int32 = 0
    /// Multiplies every gradient in the update (1 / batch size).
    var gradScale: Float = 1
    /// 1 − β₁ᵗ and 1 − β₂ᵗ for Adam, maintained by repeated multiplication.
    var biasCorrection1: Float = 1
    var biasCorrection2: Float = 1
    /// FP16 loss scaling: the loss gradient is multiplied by it (a power of two),
    /// and `gradScale` divides it out again in the update.
    var lossScale: Float = 1
}

extension KernelBinding {
    /// The FP32 kernels of node `id`. Leaves, split views and reshapes have none.
    /// A gradient whose plan region is `.fused` runs the fused kernel that applies
    /// its consumer update element by element (`fusedUpdates`); that update then has none.
    func bindF32(_ id: NodeID, fusedUpdates: Bool = true) -> [BoundCall] {
        typealias F = Float
        let node = graph[id]
        let x = node.inputs
        let y = node.type
        let count = Int32(y.shape.elementCount)
        let (core, cores) = (CoreArgument.core, CoreArgument.cores)
        if fusedUpdates, fused(id), let u = update(consuming: id) { return bindFusedUpdate(gradient: id, update: u) }
        switch node.op {
        case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .reshape:
            return []  // a reshape shares its input's bytes
        case .gatherChannels(let sel):
            let channels = Int32(graph[x[0]].type.shape.dims.last!)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            return [call("sp_gather_channels_f32", sp_gather_channels_f32, positions, channels, input(x[0], F.self),
                         self.channels(sel, of: id), Int32(sel.count), output(id, F.self), core, cores)]
        case .conv2d(let c):
            let s = convolution(c, input: graph[x[0]].type.shape, output: y.shape, for: id)
            let (xp, bp) = (input(x[0], F.self), optionalInput(x.count > 2 ? x[2] : nil, F.self))
            if let sp = split(x[1]) {
                return [call("sp_conv2d_fwd_split_f32", sp_conv2d_fwd_split_f32, s, xp, input(sp.full, F.self), input(sp.slice, F.self),
                             sp.sel, sp.k, bp, output(id, F.self), core, cores, rows: RowBands(kind: .convolution, input: x[0], output: id))]
            }
            return [call("sp_conv2d_fwd_f32", sp_conv2d_fwd_f32, s, xp, input(x[1], F.self), bp, output(id, F.self),
                         scratch(F.self, cType: "float"), core, cores, rows: RowBands(kind: .convolution, input: x[0], output: id))]
        case .conv2dInputGrad(let c):
            let s = convolution(c, input: y.shape, output: graph[x[0]].type.shape, for: id)
            if let sp = split(x[1]) {
                return [call("sp_conv2d_bwd_input_split_f32", sp_conv2d_bwd_input_split_f32, s, input(x[0], F.self), input(sp.full, F.self),
                             input(sp.slice, F.self), sp.sel, sp.k, output(id, F.self), core, cores,
                             rows: RowBands(kind: .convolutionInputGradient, input: x[0], output: id))]
            }
            return [call("sp_conv2d_bwd_input_f32", sp_conv2d_bwd_input_f32, s, input(x[0], F.self), input(x[1], F.self), output(id, F.self),
                         scratch(F.self, cType: "float"), core, cores, rows: RowBands(kind: .convolutionInputGradient, input: x[0], output: id))]
        case .conv2dWeightGrad(let c):
            let s = convolution(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape, for: id)
            return [call("sp_conv2d_bwd_weight_f32", sp_conv2d_bwd_weight_f32, s, input(x[0], F.self), input(x[1], F.self), output(id, F.self),
                         ContextAccumulate(), scratch(F.self, cType: "float"), core, cores)]
        case .biasGrad:
            let positions = Int32(graph[x[0]].type.shape.elementCount) / count
            return [call("sp_bias_grad_f32", sp_bias_grad_f32, positions, count, input(x[0], F.self), output(id, F.self), ContextAccumulate(),
                         core, cores)]
        case .linear:
            let i = Int32(graph[x[0]].type.shape[0])
            let (xp, bp) = (input(x[0], F.self), optionalInput(x.count > 2 ? x[2] : nil, F.self))
            if let sp = split(x[1]) {
                return [call("sp_linear_fwd_split_f32", sp_linear_fwd_split_f32, i, count, xp, input(sp.full, F.self), input(sp.slice, F.self),
                             sp.sel, sp.k, bp, output(id, F.self), core, cores)]
            }
            return [call("sp_linear_fwd_f32", sp_linear_fwd_f32, i, count, xp, input(x[1], F.self), bp, output(id, F.self), core, cores)]
        case .linearInputGrad:
            let o = Int32(graph[x[0]].type.shape[0])
            if let sp = split(x[1]) {
                return [call("sp_linear_bwd_input_split_f32", sp_linear_bwd_input_split_f32, count, o, input(x[0], F.self), input(sp.full, F.self),
                             input(sp.slice, F.self), sp.sel, sp.k, output(id, F.self), core, cores)]
            }
            return [call("sp_linear_bwd_input_f32", sp_linear_bwd_input_f32, count, o, input(x[0], F.self), input(x[1], F.self),
                         output(id, F.self), core, cores)]
        case .linearWeightGrad:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            return [call("sp_linear_bwd_weight_f32", sp_linear_bwd_weight_f32, i, o, input(x[0], F.self), input(x[1], F.self),
                         output(id, F.self), ContextAccumulate(), core, cores)]
        case .add:
            return [call("sp_add_f32", sp_add_f32, count, input(x[0], F.self), input(x[1], F.self), output(id, F.self), core, cores)]
        case .activation(let a):
            switch a {
            case .relu: return [call("sp_relu_f32", sp_relu_f32, count, input(x[0], F.self), output(id, F.self), core, cores)]
            case .relu6: return [call("sp_relu6_f32", sp_relu6_f32, count, input(x[0], F.self), output(id, F.self), core, cores)]
            }
        case .activationMask(let a):
            switch a {
            case .relu: return [call("sp_relu_mask", sp_relu_mask, count, input(x[0], F.self), output(id, UInt8.self), core, cores)]
            case .relu6: return [call("sp_relu6_mask", sp_relu6_mask, count, input(x[0], F.self), output(id, UInt8.self), core, cores)]
            }
        case .maskedGradient:
            return [call("sp_mask_grad_f32", sp_mask_grad_f32, count, input(x[0], F.self), input(x[1], UInt8.self), output(id, F.self), core, cores)]
        case .maxPool2d(let w):
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            return [call("sp_maxpool_fwd_f32", sp_maxpool_fwd_f32, s, input(x[0], F.self), output(id, F.self), Out<UInt8>(pointer: nil, c: .null),
                         core, cores)]
        case .maxPoolArgmax(let w):
            // The forward kernel writing indices; its values go to scratch.
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            return [call("sp_maxpool_fwd_f32", sp_maxpool_fwd_f32, s, input(x[0], F.self), scratch(F.self, cType: "float"),
                         output(id, UInt8.self), core, cores)]
        case .maxPool2dBackward(let w):
            let s = window(w, input: y.shape, output: graph[x[0]].type.shape, for: id)
            return [call("sp_maxpool_bwd_f32", sp_maxpool_bwd_f32, s, input(x[0], F.self), input(x[1], UInt8.self), output(id, F.self), core, cores)]
        case .avgPool2d(let w):
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            return [call("sp_avgpool_fwd_f32", sp_avgpool_fwd_f32, s, input(x[0], F.self), output(id, F.self), core, cores)]
        case .avgPool2dBackward(let w):
            let s = window(w, input: y.shape, output: graph[x[0]].type.shape, for: id)
            return [call("sp_avgpool_bwd_f32", sp_avgpool_bwd_f32, s, input(x[0], F.self), output(id, F.self), core, cores)]
        case .globalAvgPool:
            let sh = graph[x[0]].type.shape
            return [call("sp_global_avgpool_fwd_f32", sp_global_avgpool_fwd_f32, Int32(sh[0] * sh[1]), Int32(sh[2]), input(x[0], F.self),
                         output(id, F.self), core, cores)]
        case .globalAvgPoolBackward:
            return [call("sp_global_avgpool_bwd_f32", sp_global_avgpool_bwd_f32, Int32(y.shape[0] * y.shape[1]), Int32(y.shape[2]),
                         input(x[0], F.self), output(id, F.self), core, cores)]
        case .softmaxCrossEntropy:
            let classes = Int32(graph[x[0]].type.shape.elementCount)
            return [call("sp_softmax_ce_fwd_f32", sp_softmax_ce_fwd_f32, classes, input(x[0], F.self), input(x[1], Int32.self),
                         output(id, F.self), core, cores)]
        case .softmaxCrossEntropyGrad:
            return [call("sp_softmax_ce_bwd_f32", sp_softmax_ce_bwd_f32, count, input(x[0], F.self), input(x[1], Int32.self),
                         output(id, F.self), core, cores)]
        case .meanSquaredError:
            let n = Int32(graph[x[0]].type.shape.elementCount)
            return [call("sp_mse_fwd_f32", sp_mse_fwd_f32, n, input(x[0], F.self), input(x[1], F.self), output(id, F.self), core, cores)]
        case .meanSquaredErrorGrad:
            return [call("sp_mse_bwd_f32", sp_mse_bwd_f32, count, input(x[0], F.self), input(x[1], F.self), output(id, F.self), core, cores)]
        case .update(let optimizer):
            if fusedUpdates, fused(x[1]) { return [] }  // applied inside the gradient kernel
            let (w, g) = (output(x[0], F.self), input(x[1], F.self))
            let (lr, scale) = (ContextFloat(field: .learningRate), ContextFloat(field: .gradScale))
            switch optimizer {
            case .sgd(let wd):
                return [call("sp_sgd_f32", sp_sgd_f32, count, w, g, lr, wd, scale, core, cores)]
            case .momentum(let mu, let wd):
                return [call("sp_sgd_momentum_f32", sp_sgd_momentum_f32, count, w, g, output(x[2], F.self), lr, mu, wd, scale, core, cores)]
            case .adam(let b1, let b2, let eps, let wd):
                return [call("sp_adam_f32", sp_adam_f32, count, w, g, output(x[2], F.self), output(x[3], F.self), lr, b1, b2, eps,
                             ContextFloat(field: .biasCorrection1), ContextFloat(field: .biasCorrection2), wd, scale, core, cores)]
            }
        }
    }

    /// The call of a fused gradient node: its gradient kernel with update `u` applied in place.
    private func bindFusedUpdate(gradient id: NodeID, update u: NodeID) -> [BoundCall] {
        guard case .update(let optimizer) = graph[u].op else { return [] }
        let ux = graph[u].inputs
        let f = { (n: NodeID) in address(n).assumingMemoryBound(to: Float.self) }
        var d = UpdateDescription(kind: "SP_UPDATE_SGD", weight: ux[0], m: ux.count > 2 ? ux[2] : nil, v: ux.count > 3 ? ux[3] : nil,
                                  weightDecay: 0, momentum: 0, beta1: 0, beta2: 0, eps: 0)
        var base = sp_update(kind: SP_UPDATE_SGD, w: f(ux[0]), m: d.m.map(f), v: d.v.map(f), lr: 0, weight_decay: 0, grad_scale: 1,
                             momentum: 0, beta1: 0, beta2: 0, eps: 0, bias_correction1: 1, bias_correction2: 1)
        switch optimizer {
        case .sgd(let wd):
            (base.weight_decay, d.weightDecay) = (wd, wd)
        case .momentum(let mu, let wd):
            (base.kind, d.kind) = (SP_UPDATE_MOMENTUM, "SP_UPDATE_MOMENTUM")
            (base.weight_decay, d.weightDecay, base.momentum, d.momentum) = (wd, wd, mu, mu)
        case .adam(let b1, let b2, let eps, let wd):
            (base.kind, d.kind) = (SP_UPDATE_ADAM, "SP_UPDATE_ADAM")
            (base.weight_decay, d.weightDecay, base.beta1, d.beta1, base.beta2, d.beta2, base.eps, d.eps) = (wd, wd, b1, b1, b2, b2, eps, eps)
        }
        let update = UpdateArgument(storage: pool.mutable(base), base: base, description: d)
        let node = graph[id]
        let x = node.inputs
        let (core, cores) = (CoreArgument.core, CoreArgument.cores)
        switch node.op {
        case .conv2dWeightGrad(let c):
            let s = convolution(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape, for: id)
            return [call("sp_conv2d_bwd_weight_update_f32", sp_conv2d_bwd_weight_update_f32, s, input(x[0], Float.self), input(x[1], Float.self),
                         update, scratch(Float.self, cType: "float"), core, cores)]
        case .linearWeightGrad:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            return [call("sp_linear_bwd_weight_update_f32", sp_linear_bwd_weight_update_f32, i, o, input(x[0], Float.self), input(x[1], Float.self),
                         update, core, cores)]
        case .biasGrad:
            let channels = Int32(node.type.shape.elementCount)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            return [call("sp_bias_grad_update_f32", sp_bias_grad_update_f32, positions, channels, input(x[0], Float.self), update, core, cores)]
        default:
            return []
        }
    }
}

func convShape(_ c: Conv2D, input: Shape, output: Shape) -> sp_conv2d_shape {
    sp_conv2d_shape(
        in_h: Int32(input[0]), in_w: Int32(input[1]), in_c: Int32(input[2]),
        out_h: Int32(output[0]), out_w: Int32(output[1]), out_c: Int32(output[2]),
        k_h: Int32(c.window.kernelH), k_w: Int32(c.window.kernelW),
        stride_h: Int32(c.window.strideH), stride_w: Int32(c.window.strideW),
        pad_top: Int32(c.window.padTop), pad_left: Int32(c.window.padLeft), groups: Int32(c.groups))
}

func poolShape(_ w: Window2D, input: Shape, output: Shape) -> sp_pool_shape {
    sp_pool_shape(
        in_h: Int32(input[0]), in_w: Int32(input[1]), c: Int32(input[2]),
        out_h: Int32(output[0]), out_w: Int32(output[1]),
        k_h: Int32(w.kernelH), k_w: Int32(w.kernelW), stride_h: Int32(w.strideH), stride_w: Int32(w.strideW),
        pad_top: Int32(w.padTop), pad_left: Int32(w.padLeft))
}

/// Bytes of kernel scratch a node needs with `cores` cores, given every node's
/// storage type: the FP32 convolutions' im2col panels, and the values a max-pool
/// argmax computes on the way (in the pooled tensor's storage type).
func scratchBytes(_ node: Node, in graph: Graph, cores: Int, types: [DType]) -> Int {
    let x = node.inputs
    switch node.op {
    case .conv2d(let c), .conv2dWeightGrad(let c):
        guard x.prefix(2).allSatisfy({ types[$0] == .fp32 }) else { return 0 }  // only the FP32 kernels use scratch
        var s = convShape(c, input: graph[x[0]].type.shape, output: node.op == .conv2d(c) ? node.type.shape : graph[x[1]].type.shape)
        return Int(sp_conv2d_scratch_floats(&s, Int32(cores))) * 4
    case .conv2dInputGrad(let c):
        guard x.prefix(2).allSatisfy({ types[$0] == .fp32 }) else { return 0 }
        var s = convShape(c, input: node.type.shape, output: graph[x[0]].type.shape)
        return Int(sp_conv2d_scratch_floats(&s, Int32(cores))) * 4
    case .maxPoolArgmax:
        return types[x[0]].byteCount(elements: node.type.shape.elementCount)
    default:
        return 0
    }
}

/// The kernel scratch of a whole graph stored at `precision`: the largest any node needs.
func scratchBytes(_ graph: Graph, cores: Int, precision: Precision) -> Int {
    let types = storageTypes(graph, precision: precision)
    return graph.nodes.map { scratchBytes($0, in: graph, cores: cores, types: types) }.max() ?? 0
}
