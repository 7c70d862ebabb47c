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

/// A kernel call bound to arena addresses: called once per core.
typealias KernelCall = (_ context: StepContext, _ core: Int32, _ cores: Int32) -> Void

/// Binds node `id` to its C kernel. Leaves and views have no call. Tensor
/// addresses come from `address`, the shared scratch from `scratch`, and the
/// int32 channel lists of a selection (plan constants) from `indices`.
/// A gradient whose plan region is `.fused` runs the fused kernel that applies
/// `fusedUpdate` (its consumer update node) element by element; that update then has no call.
func bindKernel(_ id: NodeID, in graph: Graph, address: (NodeID) -> UnsafeMutableRawPointer,
                scratch: UnsafeMutablePointer<Float>, indices: (ChannelSelection) -> UnsafePointer<Int32>,
                fused: (NodeID) -> Bool, fusedUpdate: (NodeID) -> NodeID) -> KernelCall? {
    func f(_ id: NodeID) -> UnsafeMutablePointer<Float> { address(id).assumingMemoryBound(to: Float.self) }
    func u8(_ id: NodeID) -> UnsafeMutablePointer<UInt8> { address(id).assumingMemoryBound(to: UInt8.self) }
    func i32(_ id: NodeID) -> UnsafeMutablePointer<Int32> { address(id).assumingMemoryBound(to: Int32.self) }
    let node = graph[id]
    let x = node.inputs
    let y = node.type
    let out = f(id)
    let count = Int32(y.shape.elementCount)
    // A weight read through a split view: the frozen tensor, the trainable slice and the channel list.
    func split(_ w: NodeID) -> (w: UnsafeMutablePointer<Float>, slice: UnsafeMutablePointer<Float>, sel: UnsafePointer<Int32>, k: Int32)? {
        guard case .splitWeight(let sel) = graph[w].op else { return nil }
        return (f(graph[w].inputs[0]), f(graph[w].inputs[1]), indices(sel), Int32(sel.count))
    }
    if fused(id) { return bindFusedUpdate(gradient: id, update: fusedUpdate(id), in: graph, address: address, scratch: scratch) }
    switch node.op {
    case .input, .label, .parameter, .constant, .optimizerState, .splitWeight:
        return nil
    case .gatherChannels(let sel):
        let channels = Int32(graph[x[0]].type.shape.dims.last!)
        let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
        let (xp, idx, k) = (f(x[0]), indices(sel), Int32(sel.count))
        return { _, core, cores in sp_gather_channels_f32(positions, channels, xp, idx, k, out, core, cores) }
    case .conv2d(let c):
        var s = convShape(c, input: graph[x[0]].type.shape, output: y.shape)
        let (xp, bp) = (f(x[0]), x.count > 2 ? f(x[2]) : nil)
        if let sp = split(x[1]) {
            return { _, core, cores in sp_conv2d_fwd_split_f32(&s, xp, sp.w, sp.slice, sp.sel, sp.k, bp, out, core, cores) }
        }
        let wp = f(x[1])
        return { _, core, cores in sp_conv2d_fwd_f32(&s, xp, wp, bp, out, scratch, core, cores) }
    case .conv2dInputGrad(let c):
        var s = convShape(c, input: y.shape, output: graph[x[0]].type.shape)
        let dy = f(x[0])
        if let sp = split(x[1]) {
            return { _, core, cores in sp_conv2d_bwd_input_split_f32(&s, dy, sp.w, sp.slice, sp.sel, sp.k, out, core, cores) }
        }
        let w = f(x[1])
        return { _, core, cores in sp_conv2d_bwd_input_f32(&s, dy, w, out, scratch, core, cores) }
    case .conv2dWeightGrad(let c):
        var s = convShape(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
        let (xp, dy) = (f(x[0]), f(x[1]))
        return { ctx, core, cores in sp_conv2d_bwd_weight_f32(&s, xp, dy, out, ctx.accumulate, scratch, core, cores) }
    case .biasGrad:
        let channels = Int32(y.shape.elementCount)
        let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
        let dy = f(x[0])
        return { ctx, core, cores in sp_bias_grad_f32(positions, channels, dy, out, ctx.accumulate, core, cores) }
    case .linear:
        let (i, o) = (Int32(graph[x[0]].type.shape[0]), count)
        let (xp, bp) = (f(x[0]), x.count > 2 ? f(x[2]) : nil)
        if let sp = split(x[1]) {
            return { _, core, cores in sp_linear_fwd_split_f32(i, o, xp, sp.w, sp.slice, sp.sel, sp.k, bp, out, core, cores) }
        }
        let wp = f(x[1])
        return { _, core, cores in sp_linear_fwd_f32(i, o, xp, wp, bp, out, core, cores) }
    case .linearInputGrad:
        let (i, o) = (count, Int32(graph[x[0]].type.shape[0]))
        let dy = f(x[0])
        if let sp = split(x[1]) {
            return { _, core, cores in sp_linear_bwd_input_split_f32(i, o, dy, sp.w, sp.slice, sp.sel, sp.k, out, core, cores) }
        }
        let w = f(x[1])
        return { _, core, cores in sp_linear_bwd_input_f32(i, o, dy, w, out, core, cores) }
    case .linearWeightGrad:
        let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
        let (xp, dy) = (f(x[0]), f(x[1]))
        return { ctx, core, cores in sp_linear_bwd_weight_f32(i, o, xp, dy, out, ctx.accumulate, core, cores) }
    case .add:
        let (a, b) = (f(x[0]), f(x[1]))
        return { _, core, cores in sp_add_f32(count, a, b, out, core, cores) }
    case .activation(let a):
        let xp = f(x[0])
        switch a {
        case .relu: return { _, core, cores in sp_relu_f32(count, xp, out, core, cores) }
        case .relu6: return { _, core, cores in sp_relu6_f32(count, xp, out, core, cores) }
        }
    case .activationMask(let a):
        let (xp, m) = (f(x[0]), u8(id))
        switch a {
        case .relu: return { _, core, cores in sp_relu_mask(count, xp, m, core, cores) }
        case .relu6: return { _, core, cores in sp_relu6_mask(count, xp, m, core, cores) }
        }
    case .maskedGradient:
        let (dy, m) = (f(x[0]), u8(x[1]))
        return { _, core, cores in sp_mask_grad_f32(count, dy, m, out, core, cores) }
    case .maxPool2d(let w):
        var s = poolShape(w, input: graph[x[0]].type.shape, output: y.shape)
        let xp = f(x[0])
        return { _, core, cores in sp_maxpool_fwd_f32(&s, xp, out, nil, core, cores) }
    case .maxPoolArgmax(let w):
        var s = poolShape(w, input: graph[x[0]].type.shape, output: y.shape)
        // The argmax kernel is the forward kernel writing indices; its values go to scratch.
        let (xp, idx) = (f(x[0]), u8(id))
        return { _, core, cores in sp_maxpool_fwd_f32(&s, xp, scratch, idx, core, cores) }
    case .maxPool2dBackward(let w):
        var s = poolShape(w, input: y.shape, output: graph[x[0]].type.shape)
        let (dy, idx) = (f(x[0]), u8(x[1]))
        return { _, core, cores in sp_maxpool_bwd_f32(&s, dy, idx, out, core, cores) }
    case .avgPool2d(let w):
        var s = poolShape(w, input: graph[x[0]].type.shape, output: y.shape)
        let xp = f(x[0])
        return { _, core, cores in sp_avgpool_fwd_f32(&s, xp, out, core, cores) }
    case .avgPool2dBackward(let w):
        var s = poolShape(w, input: y.shape, output: graph[x[0]].type.shape)
        let dy = f(x[0])
        return { _, core, cores in sp_avgpool_bwd_f32(&s, dy, out, core, cores) }
    case .globalAvgPool:
        let s = graph[x[0]].type.shape
        let (positions, channels) = (Int32(s[0] * s[1]), Int32(s[2]))
        let xp = f(x[0])
        return { _, core, cores in sp_global_avgpool_fwd_f32(positions, channels, xp, out, core, cores) }
    case .globalAvgPoolBackward:
        let (positions, channels) = (Int32(y.shape[0] * y.shape[1]), Int32(y.shape[2]))
        let dy = f(x[0])
        return { _, core, cores in sp_global_avgpool_bwd_f32(positions, channels, dy, out, core, cores) }
    case .reshape:
        return nil  // shares its input's bytes (see planArena)
    case .softmaxCrossEntropy:
        let (z, label) = (f(x[0]), i32(x[1]))
        let classes = Int32(graph[x[0]].type.shape.elementCount)
        return { _, core, cores in sp_softmax_ce_fwd_f32(classes, z, label, out, core, cores) }
    case .softmaxCrossEntropyGrad:
        let (z, label) = (f(x[0]), i32(x[1]))
        return { _, core, cores in sp_softmax_ce_bwd_f32(count, z, label, out, core, cores) }
    case .meanSquaredError:
        let (p, t) = (f(x[0]), f(x[1]))
        let n = Int32(graph[x[0]].type.shape.elementCount)
        return { _, core, cores in sp_mse_fwd_f32(n, p, t, out, core, cores) }
    case .meanSquaredErrorGrad:
        let (p, t) = (f(x[0]), f(x[1]))
        return { _, core, cores in sp_mse_bwd_f32(count, p, t, out, core, cores) }
    case .update(let optimizer):
        if fused(x[1]) { return nil }  // applied inside the gradient kernel
        let (w, g) = (f(x[0]), f(x[1]))
        switch optimizer {
        case .sgd(let wd):
            return { ctx, core, cores in sp_sgd_f32(count, w, g, ctx.learningRate, wd, ctx.gradScale, core, cores) }
        case .momentum(let mu, let wd):
            let v = f(x[2])
            return { ctx, core, cores in sp_sgd_momentum_f32(count, w, g, v, ctx.learningRate, mu, wd, ctx.gradScale, core, cores) }
        case .adam(let b1, let b2, let eps, let wd):
            let (m, v) = (f(x[2]), f(x[3]))
            return { ctx, core, cores in
                sp_adam_f32(count, w, g, m, v, ctx.learningRate, b1, b2, eps, ctx.biasCorrection1, ctx.biasCorrection2,
                            wd, ctx.gradScale, core, cores)
            }
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

/// Bytes of kernel scratch a node needs with `cores` cores when stored at `precision`:
/// the FP32 convolutions' im2col panels, and the values a max-pool argmax
/// computes on the way (in the pooled tensor's storage type).
func scratchBytes(_ node: Node, in graph: Graph, cores: Int, precision: Precision) -> Int {
    let x = node.inputs
    switch node.op {
    case .conv2d(let c), .conv2dWeightGrad(let c):
        guard precision == .fp32 else { return 0 }
        var s = convShape(c, input: graph[x[0]].type.shape, output: node.op == .conv2d(c) ? node.type.shape : graph[x[1]].type.shape)
        return Int(sp_conv2d_scratch_floats(&s, Int32(cores))) * 4
    case .conv2dInputGrad(let c):
        guard precision == .fp32 else { return 0 }
        var s = convShape(c, input: node.type.shape, output: graph[x[0]].type.shape)
        return Int(sp_conv2d_scratch_floats(&s, Int32(cores))) * 4
    case .maxPoolArgmax:
        let bytes: Int
        switch precision {
        case .fp32: bytes = 4
        case .fp16: bytes = 2
        case .int8: bytes = 1
        }
        return node.type.shape.elementCount * bytes
    default:
        return 0
    }
}

/// The kernel scratch of a whole graph: the largest any node needs.
func scratchBytes(_ graph: Graph, cores: Int, precision: Precision) -> Int {
    graph.nodes.map { scratchBytes($0, in: graph, cores: cores, precision: precision) }.max() ?? 0
}

/// The call of a fused gradient node: its gradient kernel with the update applied in place.
private func bindFusedUpdate(gradient id: NodeID, update u: NodeID, in graph: Graph,
                             address: (NodeID) -> UnsafeMutableRawPointer, scratch: UnsafeMutablePointer<Float>) -> KernelCall? {
    func f(_ id: NodeID) -> UnsafeMutablePointer<Float> { address(id).assumingMemoryBound(to: Float.self) }
    guard case .update(let optimizer) = graph[u].op else { return nil }
    let ux = graph[u].inputs
    let w = f(ux[0])
    let m = ux.count > 2 ? f(ux[2]) : nil, v = ux.count > 3 ? f(ux[3]) : nil
    func update(_ ctx: StepContext) -> sp_update {
        switch optimizer {
        case .sgd(let wd):
            return sp_update(kind: SP_UPDATE_SGD, w: w, m: nil, v: nil, lr: ctx.learningRate, weight_decay: wd, grad_scale: ctx.gradScale,
                             momentum: 0, beta1: 0, beta2: 0, eps: 0, bias_correction1: 1, bias_correction2: 1)
        case .momentum(let mu, let wd):
            return sp_update(kind: SP_UPDATE_MOMENTUM, w: w, m: m, v: nil, lr: ctx.learningRate, weight_decay: wd, grad_scale: ctx.gradScale,
                             momentum: mu, beta1: 0, beta2: 0, eps: 0, bias_correction1: 1, bias_correction2: 1)
        case .adam(let b1, let b2, let eps, let wd):
            return sp_update(kind: SP_UPDATE_ADAM, w: w, m: m, v: v, lr: ctx.learningRate, weight_decay: wd, grad_scale: ctx.gradScale,
                             momentum: 0, beta1: b1, beta2: b2, eps: eps, bias_correction1: ctx.biasCorrection1,
                             bias_correction2: ctx.biasCorrection2)
        }
    }
    let node = graph[id]
    let x = node.inputs
    switch node.op {
    case .conv2dWeightGrad(let c):
        var s = convShape(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
        let (xp, dy) = (f(x[0]), f(x[1]))
        return { ctx, core, cores in
            var u = update(ctx)
            sp_conv2d_bwd_weight_update_f32(&s, xp, dy, &u, scratch, core, cores)
        }
    case .linearWeightGrad:
        let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
        let (xp, dy) = (f(x[0]), f(x[1]))
        return { ctx, core, cores in
            var u = update(ctx)
            sp_linear_bwd_weight_update_f32(i, o, xp, dy, &u, core, cores)
        }
    case .biasGrad:
        let channels = Int32(node.type.shape.elementCount)
        let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
        let dy = f(x[0])
        return { ctx, core, cores in
            var u = update(ctx)
            sp_bias_grad_update_f32(positions, channels, dy, &u, core, cores)
        }
    default:
        return nil
    }
}
