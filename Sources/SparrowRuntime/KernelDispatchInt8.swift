import CSparrowKernels
import SparrowIR
import SparrowPlanner

extension KernelBinding {
    /// The INT8 kernels of node `id` (the TTE recipe): int8 forward with int32
    /// accumulators and per-channel requantization, FP32 backward reading the
    /// int8 tensors the forward saved, and plain-SGD updates applied in place to
    /// the int8 weights and int32 biases with QAS step sizes (or the naive ones
    /// when the plan turns QAS off). Ops whose tensors are all FP32 (most of the
    /// backward pass, the loss) run the FP32 kernels.
    func bindInt8(_ id: NodeID) throws(ModelError) -> [KernelCall] {
        guard let q = quantization else {
            throw .planMismatch("this int8 plan carries no quantization parameters (it was compiled without calibration data); recompile it with calibration data to run it")
        }
        let node = graph[id]
        let x = node.inputs
        let count = Int32(node.type.shape.elementCount)
        func act(_ n: NodeID) throws(ModelError) -> QuantParams {
            guard let p = q.activations[n] else { throw unsupported(n, "int8 tensor without a scale and zero point in the plan") }
            return p
        }
        func scales(_ n: NodeID) throws(ModelError) -> [Float] {
            guard let s = q.weightScales[n] else { throw unsupported(n, "int8 weight without per-channel scales in the plan") }
            return s
        }
        /// Requantization of a conv / linear output: s_x · s_w[oc] / s_y per channel, no clamp.
        func requant(input: NodeID, weight: NodeID, output: NodeID) throws(ModelError) -> UnsafePointer<sp_requant_int8> {
            let (px, py, sw) = (try act(input), try act(output), try scales(weight))
            let m = sw.map { FixedPointMultiplier(real: Double(px.scale) * Double($0) / Double(py.scale)) }
            return pool.record(sp_requant_int8(in_zero_point: px.zeroPoint, out_zero_point: py.zeroPoint, act_min: -128, act_max: 127,
                                               mult: pool.ints(m.map(\.mult)), shift: pool.ints(m.map { Int32($0.shift) })))
        }
        if fused(id) { return [try fusedQAS(id, q)] }
        switch node.op {
        case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .reshape:
            return []
        case .gatherChannels(let sel) where dtypes[id] == .int8:
            let channels = Int32(graph[x[0]].type.shape.dims.last!)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            let (xp, idx, k, out) = (i8(x[0]), indices(sel), Int32(sel.count), i8(id))
            return [{ _, core, cores in sp_gather_channels_int8(positions, channels, xp, idx, k, out, core, cores) }]
        case .conv2d(let c):
            guard dtypes[id] == .int8 else { throw unsupported(id, "an int8 plan computes conv outputs in int8; a conv prediction is not supported") }
            var s = convShape(c, input: graph[x[0]].type.shape, output: node.type.shape)
            let (xp, bp, out) = (i8(x[0]), x.count > 2 ? i32(x[2]) : nil, i8(id))
            if let sp = split(x[1]) {
                let (w, slice, rq) = (i8(sp.full), i8(sp.slice), try requant(input: x[0], weight: sp.full, output: id))
                return [{ _, core, cores in sp_conv2d_fwd_split_int8(&s, xp, w, slice, sp.sel, sp.k, bp, rq, out, core, cores) }]
            }
            let (w, rq) = (i8(x[1]), try requant(input: x[0], weight: x[1], output: id))
            return [{ _, core, cores in sp_conv2d_fwd_int8(&s, xp, w, bp, rq, out, core, cores) }]
        case .linear:
            let i = Int32(graph[x[0]].type.shape[0])
            let (xp, bp) = (i8(x[0]), x.count > 2 ? i32(x[2]) : nil)
            if dtypes[id] == .fp32 {
                // The classifier of the prediction: fp32 logits acc · s_x · s_w[o].
                guard split(x[1]) == nil else { throw unsupported(id, "a partially trained classifier is not supported in int8 plans; train it whole") }
                let px = try act(x[0])
                let outScale = pool.floats(try scales(x[1]).map { px.scale * $0 })
                let (w, out) = (i8(x[1]), f32(id))
                return [{ _, core, cores in sp_linear_fwd_int8_f32(i, count, xp, px.zeroPoint, w, bp, outScale, out, core, cores) }]
            }
            let out = i8(id)
            if let sp = split(x[1]) {
                let (w, slice, rq) = (i8(sp.full), i8(sp.slice), try requant(input: x[0], weight: sp.full, output: id))
                return [{ _, core, cores in sp_linear_fwd_split_int8(i, count, xp, w, slice, sp.sel, sp.k, bp, rq, out, core, cores) }]
            }
            let (w, rq) = (i8(x[1]), try requant(input: x[0], weight: x[1], output: id))
            return [{ _, core, cores in sp_linear_fwd_int8(i, count, xp, w, bp, rq, out, core, cores) }]
        case .conv2dInputGrad(let c):
            var s = convShape(c, input: node.type.shape, output: graph[x[0]].type.shape)
            let (dy, out) = (f32(x[0]), f32(id))
            if let sp = split(x[1]) {
                let (w, slice, ws) = (i8(sp.full), i8(sp.slice), pool.floats(try scales(sp.full)))
                return [{ _, core, cores in sp_conv2d_bwd_input_split_int8w_f32(&s, dy, w, slice, sp.sel, sp.k, ws, out, core, cores) }]
            }
            let (w, ws) = (i8(x[1]), pool.floats(try scales(x[1])))
            return [{ _, core, cores in sp_conv2d_bwd_input_int8w_f32(&s, dy, w, ws, out, core, cores) }]
        case .linearInputGrad:
            let o = Int32(graph[x[0]].type.shape[0])
            let (dy, out) = (f32(x[0]), f32(id))
            if let sp = split(x[1]) {
                let (w, slice, ws) = (i8(sp.full), i8(sp.slice), pool.floats(try scales(sp.full)))
                return [{ _, core, cores in sp_linear_bwd_input_split_int8w_f32(count, o, dy, w, slice, sp.sel, sp.k, ws, out, core, cores) }]
            }
            let (w, ws) = (i8(x[1]), pool.floats(try scales(x[1])))
            return [{ _, core, cores in sp_linear_bwd_input_int8w_f32(count, o, dy, w, ws, out, core, cores) }]
        case .conv2dWeightGrad(let c) where dtypes[x[0]] == .int8:
            var s = convShape(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
            let (xp, px, dy, out) = (i8(x[0]), try act(x[0]), f32(x[1]), f32(id))
            return [{ ctx, core, cores in sp_conv2d_bwd_weight_int8x_f32(&s, xp, px.scale, px.zeroPoint, dy, out, ctx.accumulate, core, cores) }]
        case .linearWeightGrad where dtypes[x[0]] == .int8:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            let (xp, px, dy, out) = (i8(x[0]), try act(x[0]), f32(x[1]), f32(id))
            return [{ ctx, core, cores in sp_linear_bwd_weight_int8x_f32(i, o, xp, px.scale, px.zeroPoint, dy, out, ctx.accumulate, core, cores) }]
        case .add where dtypes[id] == .int8:
            let (pa, pb, py) = (try act(x[0]), try act(x[1]), try act(id))
            let (a, b, out) = (i8(x[0]), i8(x[1]), i8(id))
            return [{ _, core, cores in
                sp_add_int8(count, a, pa.scale, pa.zeroPoint, b, pb.scale, pb.zeroPoint, py.scale, py.zeroPoint, out, core, cores)
            }]
        case .activation(let a):
            let p = try act(id)
            let hi = a == .relu ? 127 : QuantizedActivation.relu6.range(p).upperBound
            let (xp, out) = (i8(x[0]), i8(id))
            return [{ _, core, cores in sp_clamp_int8(count, xp, p.zeroPoint, hi, out, core, cores) }]
        case .activationMask(let a) where dtypes[x[0]] == .int8:
            let p = try act(x[0])
            let (xp, m) = (i8(x[0]), u8(id))
            switch a {
            case .relu: return [{ _, core, cores in sp_relu_mask_int8(count, xp, p.zeroPoint, m, core, cores) }]
            case .relu6:
                let six = QuantizedActivation.relu6.range(p).upperBound
                return [{ _, core, cores in sp_relu6_mask_int8(count, xp, p.zeroPoint, six, m, core, cores) }]
            }
        case .maxPool2d(let w):
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let (xp, out) = (i8(x[0]), i8(id))
            return [{ _, core, cores in sp_maxpool_fwd_int8(&s, xp, out, nil, core, cores) }]
        case .maxPoolArgmax(let w) where dtypes[x[0]] == .int8:
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let (xp, idx, values) = (i8(x[0]), u8(id), scratch.assumingMemoryBound(to: Int8.self))
            return [{ _, core, cores in sp_maxpool_fwd_int8(&s, xp, values, idx, core, cores) }]
        case .avgPool2d(let w):
            var s = poolShape(w, input: graph[x[0]].type.shape, output: node.type.shape)
            let (px, py) = (try act(x[0]), try act(id))
            let m = FixedPointMultiplier(real: Double(px.scale) / (Double(py.scale) * Double(w.kernelH * w.kernelW)))
            let (xp, out) = (i8(x[0]), i8(id))
            return [{ _, core, cores in sp_avgpool_fwd_int8(&s, xp, px.zeroPoint, m.mult, Int32(m.shift), py.zeroPoint, out, core, cores) }]
        case .globalAvgPool:
            let sh = graph[x[0]].type.shape
            let (positions, channels) = (Int32(sh[0] * sh[1]), Int32(sh[2]))
            let (px, py) = (try act(x[0]), try act(id))
            let m = FixedPointMultiplier(real: Double(px.scale) / (Double(py.scale) * Double(positions)))
            let (xp, out) = (i8(x[0]), i8(id))
            return [{ _, core, cores in
                sp_global_avgpool_fwd_int8(positions, channels, xp, px.zeroPoint, m.mult, Int32(m.shift), py.zeroPoint, out, core, cores)
            }]
        case .update(let optimizer):
            if fused(x[1]) { return [] }  // applied inside the gradient kernel
            return [try updateInt8(node, optimizer: optimizer, q)]
        default:
            // FP32 tensors only (gradients, the loss): the FP32 kernels.
            for t in x + [id] where dtypes[t] != graph[t].type.dtype {
                throw unsupported(id, "reads or writes '\(graph[t].name)' as \(dtypes[t].rawValue); this op has no int8 kernel")
            }
            let call = bindKernel(id, in: graph, address: address, scratch: scratch.assumingMemoryBound(to: Float.self),
                                  indices: indices, fused: { _ in false }, fusedUpdate: { $0 })
            return call.map { [$0] } ?? []
        }
    }

    /// The conv or linear node reading parameter `p` (directly or through a split view), and whether it is depthwise.
    private func layer(reading p: NodeID) -> (id: NodeID, depthwise: Bool)? {
        for c in consumers[p] {
            if case .splitWeight = graph[c].op, let l = layer(reading: c) { return l }
            switch graph[c].op {
            case .conv2d(let conv): return (c, conv.isDepthwise(inChannels: graph[graph[c].inputs[0]].type.shape[2]))
            case .linear: return (c, false)
            default: continue
            }
        }
        return nil
    }

    /// QAS step sizes of a parameter's channels: its quantization steps, or their reciprocals without QAS.
    private func steps(_ values: [Float], qas: Bool) -> [Float] { qas ? values : values.map { Float(1 / Double($0)) } }

    /// How an int8 update reaches a parameter: an int8 weight (per-channel steps, layout) or an int32 bias.
    private enum QuantizedParameter {
        case weight(steps: UnsafePointer<Float>, channelStride: Int32, channels: Int32)
        case bias(inputStep: Float, steps: UnsafePointer<Float>)
    }

    private func quantizedParameter(_ p: NodeID, _ q: PlanQuantization) throws(ModelError) -> QuantizedParameter {
        guard let (l, depthwise) = layer(reading: p) else { throw unsupported(p, "an int8 parameter read by no conv or linear layer") }
        let lx = graph[l].inputs
        let full: NodeID
        if case .splitWeight = graph[lx[1]].op { full = graph[lx[1]].inputs[0] } else { full = lx[1] }
        switch dtypes[p] {
        case .int8:
            guard let s = q.weightScales[p] else { throw unsupported(p, "int8 weight without per-channel scales in the plan") }
            let shape = graph[p].type.shape
            let channels = depthwise ? shape.dims.last! : shape[0]
            return .weight(steps: pool.floats(steps(s, qas: q.qas)), channelStride: Int32(depthwise ? 1 : shape.elementCount / channels),
                           channels: Int32(channels))
        case .int32:
            guard let px = q.activations[lx[0]], let s = q.weightScales[full] else {
                throw unsupported(p, "int32 bias of a layer without quantization parameters")
            }
            return .bias(inputStep: steps([px.scale], qas: q.qas)[0], steps: pool.floats(steps(s, qas: q.qas)))
        default:
            throw unsupported(p, "an int8 plan trains int8 weights and int32 biases only, not \(dtypes[p].rawValue) tensors")
        }
    }

    private func requireSGD(_ optimizer: Optimizer, _ id: NodeID) throws(ModelError) {
        guard optimizer == .plainSGD else {
            throw unsupported(id, "int8 plans update with plain SGD (QAS, no momentum, no weight decay), not \(optimizer.name)")
        }
    }

    private func updateInt8(_ node: Node, optimizer: Optimizer, _ q: PlanQuantization) throws(ModelError) -> KernelCall {
        let (p, g) = (node.inputs[0], f32(node.inputs[1]))
        try requireSGD(optimizer, p)
        let n = Int32(node.type.shape.elementCount)
        switch try quantizedParameter(p, q) {
        case .weight(let step, let stride, let channels):
            let w = i8(p)
            return { ctx, core, cores in sp_sgd_qas_int8(n, stride, channels, w, g, step, ctx.learningRate, ctx.gradScale, core, cores) }
        case .bias(let xs, let step):
            let b = i32(p)
            return { ctx, core, cores in sp_sgd_qas_bias_int32(n, b, g, xs, step, ctx.learningRate, ctx.gradScale, core, cores) }
        }
    }

    /// A weight or bias gradient fused with its QAS update (the gradient is never stored).
    private func fusedQAS(_ id: NodeID, _ q: PlanQuantization) throws(ModelError) -> KernelCall {
        guard let u = update(consuming: id), case .update(let optimizer) = graph[u].op else {
            throw unsupported(id, "a fused gradient without its update")
        }
        try requireSGD(optimizer, id)
        let p = graph[u].inputs[0]
        let node = graph[id]
        let x = node.inputs
        switch (node.op, try quantizedParameter(p, q)) {
        case (.conv2dWeightGrad(let c), .weight(let step, _, _)) where dtypes[x[0]] == .int8:
            var s = convShape(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
            let (xp, px, dy, w) = (i8(x[0]), try activation(x[0], q), f32(x[1]), i8(p))
            return { ctx, core, cores in
                sp_conv2d_bwd_weight_qas_int8(&s, xp, px.scale, px.zeroPoint, dy, w, step, ctx.learningRate, ctx.gradScale, core, cores)
            }
        case (.linearWeightGrad, .weight(let step, _, _)) where dtypes[x[0]] == .int8:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            let (xp, px, dy, w) = (i8(x[0]), try activation(x[0], q), f32(x[1]), i8(p))
            return { ctx, core, cores in
                sp_linear_bwd_weight_qas_int8(i, o, xp, px.scale, px.zeroPoint, dy, w, step, ctx.learningRate, ctx.gradScale, core, cores)
            }
        case (.biasGrad, .bias(let xs, let step)):
            let channels = Int32(node.type.shape.elementCount)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            let (dy, b) = (f32(x[0]), i32(p))
            return { ctx, core, cores in sp_bias_grad_qas_int32(positions, channels, dy, b, xs, step, ctx.learningRate, ctx.gradScale, core, cores) }
        default:
            throw unsupported(id, "no fused int8 kernel for this gradient")
        }
    }

    private func activation(_ n: NodeID, _ q: PlanQuantization) throws(ModelError) -> QuantParams {
        guard let p = q.activations[n] else { throw unsupported(n, "int8 tensor without a scale and zero point in the plan") }
        return p
    }
}
