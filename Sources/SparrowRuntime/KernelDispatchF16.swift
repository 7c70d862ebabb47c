import CSparrowKernels
import SparrowIR

extension KernelBinding {
    /// The FP16 kernels of node `id` (every tensor binary16 but optimizer state and
    /// master weights, which are FP32). The gradient of each trainable parameter
    /// is followed by a count of its non-finite elements into `overflow[0]`, and
    /// every update is skipped while that count is non-zero: a step whose loss
    /// scale overflowed changes no parameter whose gradient was checked before it
    /// (with updates deferred to the end of the step: none at all).
    func bindF16(_ id: NodeID) throws(ModelError) -> [KernelCall] {
        guard !fused(id) else { throw unsupported(id, "FP16 plans have no fused gradient-update kernels; compile without fusing updates") }
        let mode = accumulation == .fp16 ? SP_F16_ACC_F16 : SP_F16_ACC_F32
        let node = graph[id]
        let x = node.inputs
        let out = f16(id)
        let count = Int32(node.type.shape.elementCount)
        let half = scratch.assumingMemoryBound(to: UInt16.self)
        var calls: [KernelCall] = []
        switch node.op {
        case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .reshape:
            return []
        case .gatherChannels(let sel):
            let channels = Int32(graph[x[0]].type.shape.dims.last!)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            let (xp, idx, k) = (f16(x[0]), indices(sel), Int32(sel.count))
            calls = [{ _, core, cores in sp_gather_channels_f16(positions, channels, xp, idx, k, out, core, cores) }]
        case .conv2d(let c):
            var s = convShape(c, input: graph[x[0]].type.shape, output: node.type.shape)
            let (xp, bp) = (f16(x[0]), x.count > 2 ? f16(x[2]) : nil)
            if let sp = split(x[1]) {
                let (w, slice) = (f16(sp.full), f16(sp.slice))
                calls = [{ _, core, cores in sp_conv2d_fwd_split_f16(&s, xp, w, slice, sp.sel, sp.k, bp, out, mode, core, cores) }]
            } else {
                let w = f16(x[1])
                calls = [{ _, core, cores in sp_conv2d_fwd_f16(&s, xp, w, bp, out, mode, core, cores) }]
            }
        case .conv2dInputGrad(let c):
            var s = convShape(c, input: node.type.shape, output: graph[x[0]].type.shape)
            let dy = f16(x[0])
            if let sp = split(x[1]) {
                let (w, slice) = (f16(sp.full), f16(sp.slice))
                calls = [{ _, core, cores in sp_conv2d_bwd_input_split_f16(&s, dy, w, slice, sp.sel, sp.k, out, mode, core, cores) }]
            } else {
                let w = f16(x[1])
                calls = [{ _, core, cores in sp_conv2d_bwd_input_f16(&s, dy, w, out, mode, core, cores) }]
            }
        case .conv2dWeightGrad(let c):
            var s = convShape(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
            let (xp, dy) = (f16(x[0]), f16(x[1]))
            calls = [{ ctx, core, cores in sp_conv2d_bwd_weight_f16(&s, xp, dy, out, ctx.accumulate, mode, core, cores) }]
        case .biasGrad:
            let channels = count
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            let dy = f16(x[0])
            calls = [{ ctx, core, cores in sp_bias_grad_f16(positions, channels, dy, out, ctx.accumulate, mode, core, cores) }]
        case .linear:
            let i = Int32(graph[x[0]].type.shape[0])
            let (xp, bp) = (f16(x[0]), x.count > 2 ? f16(x[2]) : nil)
            if let sp = split(x[1]) {
                let (w, slice) = (f16(sp.full), f16(sp.slice))
                calls = [{ _, core, cores in sp_linear_fwd_split_f16(i, count, xp, w, slice, sp.sel, sp.k, bp, out, mode, core, cores) }]
            } else {
                let w = f16(x[1])
                calls = [{ _, core, cores in sp_linear_fwd_f16(i, count, xp, w, bp, out, mode, core, cores) }]
            }
        case .linearInputGrad:
            let o = Int32(graph[x[0]].type.shape[0])
            let dy = f16(x[0])
            if let sp = split(x[1]) {
                let (w, slice) = (f16(sp.full), f16(sp.slice))
                calls = [{ _, core, cores in sp_linear_bwd_input_split_f16(count, o, dy, w, slice, sp.sel, sp.k, out, mode, core, cores) }]
            } else {
                let w = f16(x[1])
                calls = [{ _, core, cores in sp_linear_bwd_input_f16(count, o, dy, w, out, mode, core, cores) }]
            }
        case .linearWeightGrad:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            let (xp, dy) = (f16(x[0]), f16(x[1]))
            calls = [{ ctx, core, cores in sp_linear_bwd_weight_f16(i, o, xp, dy, out, ctx.accumulate, mode, core, cores) }]
        case .add:
            let (a, b) = (f16(x[0]), f16(x[1]))
            calls = [{ _, core, cores in sp_add_f16(count, a, b, out, core, cores) }]
        case .activation(let a):
            let xp = f16(x[0])
            switch a {
            case .relu: calls = [{ _, core, cores in sp_relu_f16(count, xp, out, core, cores) }]
            case .relu6: calls = [{ _, core, cores in sp_relu6_f16(count, xp, out, core, cores) }]
            }
        case .activationMask(let a):
            let (xp, m) = (f16(x[0]), u8(id))
            switch a {
            case .relu: calls = [{ _, core, cores in sp_relu_mask_f16(count, xp, m, core, cores) }]
            case .relu6: calls = [{ _, core, cores in sp_relu6_mask_f16(count, xp, m, core, cores) }]
            }
        case .maskedGradient:
            let (dy, m) = (f16(x[0]), u8(x[1]))
            calls = [{ _, core, cores in sp_mask_grad_f16(count, dy, m, out, core, cores) }]
        case .maxPool2d(let w):
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let xp = f16(x[0])
            calls = [{ _, core, cores in sp_maxpool_fwd_f16(&s, xp, out, nil, core, cores) }]
        case .maxPoolArgmax(let w):
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let (xp, idx) = (f16(x[0]), u8(id))
            calls = [{ _, core, cores in sp_maxpool_fwd_f16(&s, xp, half, idx, core, cores) }]
        case .maxPool2dBackward(let w):
            var s = poolShape(w, input: node.type.shape, output: graph[x[0]].type.shape)
            let (dy, idx) = (f16(x[0]), u8(x[1]))
            calls = [{ _, core, cores in sp_maxpool_bwd_f16(&s, dy, idx, out, mode, core, cores) }]
        case .avgPool2d(let w):
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let xp = f16(x[0])
            calls = [{ _, core, cores in sp_avgpool_fwd_f16(&s, xp, out, mode, core, cores) }]
        case .avgPool2dBackward(let w):
            var s = poolShape(w, input: node.type.shape, output: graph[x[0]].type.shape)
            let dy = f16(x[0])
            calls = [{ _, core, cores in sp_avgpool_bwd_f16(&s, dy, out, mode, core, cores) }]
        case .globalAvgPool:
            let sh = graph[x[0]].type.shape
            let (positions, channels) = (Int32(sh[0] * sh[1]), Int32(sh[2]))
            let xp = f16(x[0])
            calls = [{ _, core, cores in sp_global_avgpool_fwd_f16(positions, channels, xp, out, mode, core, cores) }]
        case .globalAvgPoolBackward:
            let (positions, channels) = (Int32(node.type.shape[0] * node.type.shape[1]), Int32(node.type.shape[2]))
            let dy = f16(x[0])
            calls = [{ _, core, cores in sp_global_avgpool_bwd_f16(positions, channels, dy, out, core, cores) }]
        case .softmaxCrossEntropy:
            let (z, label) = (f16(x[0]), i32(x[1]))
            let classes = Int32(graph[x[0]].type.shape.elementCount)
            calls = [{ _, core, cores in sp_softmax_ce_fwd_f16(classes, z, label, out, core, cores) }]
        case .softmaxCrossEntropyGrad:
            let (z, label) = (f16(x[0]), i32(x[1]))
            calls = [{ ctx, core, cores in sp_softmax_ce_bwd_f16(count, z, label, out, ctx.lossScale, core, cores) }]
        case .meanSquaredError:
            let (p, t) = (f16(x[0]), f16(x[1]))
            let n = Int32(graph[x[0]].type.shape.elementCount)
            calls = [{ _, core, cores in sp_mse_fwd_f16(n, p, t, out, core, cores) }]
        case .meanSquaredErrorGrad:
            let (p, t) = (f16(x[0]), f16(x[1]))
            calls = [{ ctx, core, cores in sp_mse_bwd_f16(count, p, t, out, ctx.lossScale, core, cores) }]
        case .update(let optimizer):
            return [updateF16(node, optimizer: optimizer, count: count)]
        }
        if update(consuming: id) != nil { calls.append(contentsOf: overflowCheck(out, count: count)) }
        return calls
    }

    /// Counts the non-finite elements of an FP16 gradient into `overflow[0]`: one
    /// call per core into its own slot, then the sum (after the join).
    private func overflowCheck(_ g: UnsafeMutablePointer<UInt16>, count: Int32) -> [KernelCall] {
        let status = overflow
        return [
            { _, core, cores in sp_f16_count_nonfinite(count, g, status + 1, core, cores) },
            { _, core, cores in
                if core == cores - 1 { for k in 1...Int(cores) { status[0] &+= status[k] } }
            },
        ]
    }

    /// An FP16 update with FP32 state (and FP32 master weights when the update reads
    /// a `.master` state), skipped while this step has seen an overflow.
    private func updateF16(_ node: Node, optimizer: Optimizer, count: Int32) -> KernelCall {
        let x = node.inputs
        let (w, g) = (f16(x[0]), f16(x[1]))
        let slots = optimizer.stateSlots.count
        let state = x.dropFirst(2).prefix(slots).map(f32)
        let master = x.count > 2 + slots ? f32(x[2 + slots]) : nil
        let status = overflow
        switch optimizer {
        case .sgd(let wd):
            return { ctx, core, cores in
                if status[0] == 0 { sp_sgd_f16(count, w, g, master, ctx.learningRate, wd, ctx.gradScale, core, cores) }
            }
        case .momentum(let mu, let wd):
            let v = state[0]
            return { ctx, core, cores in
                if status[0] == 0 { sp_sgd_momentum_f16(count, w, g, master, v, ctx.learningRate, mu, wd, ctx.gradScale, core, cores) }
            }
        case .adam(let b1, let b2, let eps, let wd):
            let (m, v) = (state[0], state[1])
            return { ctx, core, cores in
                if status[0] == 0 {
                    sp_adam_f16(count, w, g, master, m, v, ctx.learningRate, b1, b2, eps, ctx.biasCorrection1,
                                ctx.biasCorrection2, wd, ctx.gradScale, core, cores)
                }
            }
        }
    }
}
