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
    func bindInt8(_ id: NodeID) throws(ModelError) -> [BoundCall] {
        guard let q = quantization else {
            throw .planMismatch("this int8 plan carries no quantization parameters (it was compiled without calibration data); recompile it with calibration data to run it")
        }
        typealias B = Int8
        typealias F = Float
        let node = graph[id]
        let x = node.inputs
        let y = node.type
        let count = Int32(y.shape.elementCount)
        let (core, cores) = (CoreArgument.core, CoreArgument.cores)
        func act(_ n: NodeID) throws(ModelError) -> QuantParams { try activation(n, q) }
        func scales(_ n: NodeID) throws(ModelError) -> [Float] {
            guard let s = q.weightScales[n] else { throw unsupported(n, "int8 weight without per-channel scales in the plan") }
            return s
        }
        /// Requantization of a conv / linear output: s_x · s_w[oc] / s_y per channel, no clamp.
        func requant(input x: NodeID, weight: NodeID) throws(ModelError) -> In<sp_requant_int8> {
            let (px, py, sw) = (try act(x), try act(id), try scales(weight))
            var m: [FixedPointMultiplier] = []
            for s in sw { m.append(try multiplier(Double(px.scale) * Double(s) / Double(py.scale), for: id)) }
            let name = graph[id].name
            return pool.requantization(inZeroPoint: px.zeroPoint, outZeroPoint: py.zeroPoint, range: -128...127,
                                       mult: pool.ints(m.map(\.mult), name: name + "_mult"),
                                       shift: pool.ints(m.map { Int32($0.shift) }, name: name + "_shift"), name: name + "_requant")
        }
        func weightScales(_ n: NodeID) throws(ModelError) -> In<Float> { pool.floats(try scales(n), name: graph[n].name + "_scale") }
        if fused(id) { return [try fusedQAS(id, q)] }
        switch node.op {
        case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .reshape:
            return []
        case .gatherChannels(let sel) where dtypes[id] == .int8:
            let channels = Int32(graph[x[0]].type.shape.dims.last!)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            return [call("sp_gather_channels_int8", sp_gather_channels_int8, positions, channels, input(x[0], B.self), self.channels(sel, of: id),
                         Int32(sel.count), output(id, B.self), core, cores)]
        case .conv2d(let c):
            guard dtypes[id] == .int8 else { throw unsupported(id, "an int8 plan computes conv outputs in int8; a conv prediction is not supported") }
            let s = convolution(c, input: graph[x[0]].type.shape, output: y.shape, for: id)
            let (xp, bp) = (input(x[0], B.self), optionalInput(x.count > 2 ? x[2] : nil, Int32.self))
            if let sp = split(x[1]) {
                return [call("sp_conv2d_fwd_split_int8", sp_conv2d_fwd_split_int8, s, xp, input(sp.full, B.self), input(sp.slice, B.self), sp.sel,
                             sp.k, bp, try requant(input: x[0], weight: sp.full), output(id, B.self), core, cores)]
            }
            return [call("sp_conv2d_fwd_int8", sp_conv2d_fwd_int8, s, xp, input(x[1], B.self), bp, try requant(input: x[0], weight: x[1]),
                         output(id, B.self), core, cores)]
        case .linear:
            let i = Int32(graph[x[0]].type.shape[0])
            let (xp, bp) = (input(x[0], B.self), optionalInput(x.count > 2 ? x[2] : nil, Int32.self))
            if dtypes[id] == .fp32 {
                // The classifier of the prediction: fp32 logits acc · s_x · s_w[o].
                guard split(x[1]) == nil else { throw unsupported(id, "a partially trained classifier is not supported in int8 plans; train it whole") }
                let px = try act(x[0])
                let outScale = pool.floats(try scales(x[1]).map { px.scale * $0 }, name: node.name + "_out_scale")
                return [call("sp_linear_fwd_int8_f32", sp_linear_fwd_int8_f32, i, count, xp, px.zeroPoint, input(x[1], B.self), bp, outScale,
                             output(id, F.self), core, cores)]
            }
            if let sp = split(x[1]) {
                return [call("sp_linear_fwd_split_int8", sp_linear_fwd_split_int8, i, count, xp, input(sp.full, B.self), input(sp.slice, B.self),
                             sp.sel, sp.k, bp, try requant(input: x[0], weight: sp.full), output(id, B.self), core, cores)]
            }
            return [call("sp_linear_fwd_int8", sp_linear_fwd_int8, i, count, xp, input(x[1], B.self), bp, try requant(input: x[0], weight: x[1]),
                         output(id, B.self), core, cores)]
        case .conv2dInputGrad(let c):
            let s = convolution(c, input: y.shape, output: graph[x[0]].type.shape, for: id)
            if let sp = split(x[1]) {
                return [call("sp_conv2d_bwd_input_split_int8w_f32", sp_conv2d_bwd_input_split_int8w_f32, s, input(x[0], F.self),
                             input(sp.full, B.self), input(sp.slice, B.self), sp.sel, sp.k, try weightScales(sp.full), output(id, F.self),
                             core, cores)]
            }
            return [call("sp_conv2d_bwd_input_int8w_f32", sp_conv2d_bwd_input_int8w_f32, s, input(x[0], F.self), input(x[1], B.self),
                         try weightScales(x[1]), output(id, F.self), core, cores)]
        case .linearInputGrad:
            let o = Int32(graph[x[0]].type.shape[0])
            if let sp = split(x[1]) {
                return [call("sp_linear_bwd_input_split_int8w_f32", sp_linear_bwd_input_split_int8w_f32, count, o, input(x[0], F.self),
                             input(sp.full, B.self), input(sp.slice, B.self), sp.sel, sp.k, try weightScales(sp.full), output(id, F.self),
                             core, cores)]
            }
            return [call("sp_linear_bwd_input_int8w_f32", sp_linear_bwd_input_int8w_f32, count, o, input(x[0], F.self), input(x[1], B.self),
                         try weightScales(x[1]), output(id, F.self), core, cores)]
        case .conv2dWeightGrad(let c) where dtypes[x[0]] == .int8:
            let s = convolution(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape, for: id)
            let px = try act(x[0])
            return [call("sp_conv2d_bwd_weight_int8x_f32", sp_conv2d_bwd_weight_int8x_f32, s, input(x[0], B.self), px.scale, px.zeroPoint,
                         input(x[1], F.self), output(id, F.self), ContextAccumulate(), core, cores)]
        case .linearWeightGrad where dtypes[x[0]] == .int8:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            let px = try act(x[0])
            return [call("sp_linear_bwd_weight_int8x_f32", sp_linear_bwd_weight_int8x_f32, i, o, input(x[0], B.self), px.scale, px.zeroPoint,
                         input(x[1], F.self), output(id, F.self), ContextAccumulate(), core, cores)]
        case .add where dtypes[id] == .int8:
            let (pa, pb, py) = (try act(x[0]), try act(x[1]), try act(id))
            return [call("sp_add_int8", sp_add_int8, count, input(x[0], B.self), pa.scale, pa.zeroPoint, input(x[1], B.self), pb.scale,
                         pb.zeroPoint, py.scale, py.zeroPoint, output(id, B.self), core, cores)]
        case .activation(let a) where dtypes[id] == .int8:
            let p = try act(id)
            let hi = a == .relu ? 127 : QuantizedActivation.relu6.range(p).upperBound
            return [call("sp_clamp_int8", sp_clamp_int8, count, input(x[0], B.self), p.zeroPoint, hi, output(id, B.self), core, cores)]
        case .activationMask(let a) where dtypes[x[0]] == .int8:
            let p = try act(x[0])
            switch a {
            case .relu:
                return [call("sp_relu_mask_int8", sp_relu_mask_int8, count, input(x[0], B.self), p.zeroPoint, output(id, UInt8.self), core, cores)]
            case .relu6:
                return [call("sp_relu6_mask_int8", sp_relu6_mask_int8, count, input(x[0], B.self), p.zeroPoint,
                             QuantizedActivation.relu6.range(p).upperBound, output(id, UInt8.self), core, cores)]
            }
        case .maxPool2d(let w) where dtypes[id] == .int8:
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            return [call("sp_maxpool_fwd_int8", sp_maxpool_fwd_int8, s, input(x[0], B.self), output(id, B.self), Out<UInt8>(pointer: nil, c: .null),
                         core, cores)]
        case .maxPoolArgmax(let w) where dtypes[x[0]] == .int8:
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            return [call("sp_maxpool_fwd_int8", sp_maxpool_fwd_int8, s, input(x[0], B.self), scratch(B.self, cType: "int8_t"),
                         output(id, UInt8.self), core, cores)]
        case .avgPool2d(let w) where dtypes[id] == .int8:
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            let (px, py) = (try act(x[0]), try act(id))
            let m = try multiplier(Double(px.scale) / (Double(py.scale) * Double(w.kernelH * w.kernelW)), for: id)
            return [call("sp_avgpool_fwd_int8", sp_avgpool_fwd_int8, s, input(x[0], B.self), px.zeroPoint, m.mult, Int32(m.shift), py.zeroPoint,
                         output(id, B.self), core, cores)]
        case .globalAvgPool where dtypes[id] == .int8:
            let sh = graph[x[0]].type.shape
            let (positions, channels) = (Int32(sh[0] * sh[1]), Int32(sh[2]))
            let (px, py) = (try act(x[0]), try act(id))
            let m = try multiplier(Double(px.scale) / (Double(py.scale) * Double(positions)), for: id)
            return [call("sp_global_avgpool_fwd_int8", sp_global_avgpool_fwd_int8, positions, channels, input(x[0], B.self), px.zeroPoint, m.mult,
                         Int32(m.shift), py.zeroPoint, output(id, B.self), core, cores)]
        case .update(let optimizer):
            if fused(x[1]) { return [] }  // applied inside the gradient kernel
            return [try updateInt8(node, optimizer: optimizer, q)]
        default:
            // FP32 tensors only (gradients, the loss): the FP32 kernels.
            for t in x + [id] where dtypes[t] != graph[t].type.dtype {
                throw unsupported(id, "reads or writes '\(graph[t].name)' as \(dtypes[t].rawValue); this op has no int8 kernel")
            }
            return bindF32(id, fusedUpdates: false)
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
        case weight(steps: In<Float>, channelStride: Int32, channels: Int32)
        case bias(inputStep: Float, steps: In<Float>)
    }

    private func quantizedParameter(_ p: NodeID, _ q: PlanQuantization) throws(ModelError) -> QuantizedParameter {
        guard let (l, depthwise) = layer(reading: p) else { throw unsupported(p, "an int8 parameter read by no conv or linear layer") }
        let lx = graph[l].inputs
        let full: NodeID
        if case .splitWeight = graph[lx[1]].op { full = graph[lx[1]].inputs[0] } else { full = lx[1] }
        let name = graph[p].name + (q.qas ? "_qas_step" : "_step")
        switch dtypes[p] {
        case .int8:
            guard let s = q.weightScales[p] else { throw unsupported(p, "int8 weight without per-channel scales in the plan") }
            let shape = graph[p].type.shape
            let channels = depthwise ? shape.dims.last! : shape[0]
            return .weight(steps: pool.floats(steps(s, qas: q.qas), name: name), channelStride: Int32(depthwise ? 1 : shape.elementCount / channels),
                           channels: Int32(channels))
        case .int32:
            guard let px = q.activations[lx[0]], let s = q.weightScales[full] else {
                throw unsupported(p, "int32 bias of a layer without quantization parameters")
            }
            return .bias(inputStep: steps([px.scale], qas: q.qas)[0], steps: pool.floats(steps(s, qas: q.qas), name: name))
        default:
            throw unsupported(p, "an int8 plan trains int8 weights and int32 biases only, not \(dtypes[p].rawValue) tensors")
        }
    }

    private func requireSGD(_ optimizer: Optimizer, _ id: NodeID) throws(ModelError) {
        guard optimizer == .plainSGD else {
            throw unsupported(id, "int8 plans update with plain SGD (QAS, no momentum, no weight decay), not \(optimizer.name)")
        }
    }

    private func updateInt8(_ node: Node, optimizer: Optimizer, _ q: PlanQuantization) throws(ModelError) -> BoundCall {
        let (p, g) = (node.inputs[0], input(node.inputs[1], Float.self))
        try requireSGD(optimizer, p)
        let n = Int32(node.type.shape.elementCount)
        let (lr, scale, core, cores) = (ContextFloat(field: .learningRate), ContextFloat(field: .gradScale), CoreArgument.core, CoreArgument.cores)
        switch try quantizedParameter(p, q) {
        case .weight(let step, let stride, let channels):
            return call("sp_sgd_qas_int8", sp_sgd_qas_int8, n, stride, channels, output(p, Int8.self), g, step, lr, scale, core, cores)
        case .bias(let xs, let step):
            return call("sp_sgd_qas_bias_int32", sp_sgd_qas_bias_int32, n, output(p, Int32.self), g, xs, step, lr, scale, core, cores)
        }
    }

    /// A weight or bias gradient fused with its QAS update (the gradient is never stored).
    private func fusedQAS(_ id: NodeID, _ q: PlanQuantization) throws(ModelError) -> BoundCall {
        guard let u = update(consuming: id), case .update(let optimizer) = graph[u].op else {
            throw unsupported(id, "a fused gradient without its update")
        }
        try requireSGD(optimizer, id)
        let p = graph[u].inputs[0]
        let node = graph[id]
        let x = node.inputs
        let (lr, scale, core, cores) = (ContextFloat(field: .learningRate), ContextFloat(field: .gradScale), CoreArgument.core, CoreArgument.cores)
        switch (node.op, try quantizedParameter(p, q)) {
        case (.conv2dWeightGrad(let c), .weight(let step, _, _)) where dtypes[x[0]] == .int8:
            let s = convolution(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape, for: id)
            let px = try activation(x[0], q)
            return call("sp_conv2d_bwd_weight_qas_int8", sp_conv2d_bwd_weight_qas_int8, s, input(x[0], Int8.self), px.scale, px.zeroPoint,
                        input(x[1], Float.self), output(p, Int8.self), step, lr, scale, core, cores)
        case (.linearWeightGrad, .weight(let step, _, _)) where dtypes[x[0]] == .int8:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            let px = try activation(x[0], q)
            return call("sp_linear_bwd_weight_qas_int8", sp_linear_bwd_weight_qas_int8, i, o, input(x[0], Int8.self), px.scale, px.zeroPoint,
                        input(x[1], Float.self), output(p, Int8.self), step, lr, scale, core, cores)
        case (.biasGrad, .bias(let xs, let step)):
            let channels = Int32(node.type.shape.elementCount)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            return call("sp_bias_grad_qas_int32", sp_bias_grad_qas_int32, positions, channels, input(x[0], Float.self), output(p, Int32.self), xs,
                        step, lr, scale, core, cores)
        default:
            throw unsupported(id, "no fused int8 kernel for this gradient")
        }
    }

    /// A requantization multiplier the kernels can represent, or an error naming the layer.
    private func multiplier(_ real: Double, for id: NodeID) throws(ModelError) -> FixedPointMultiplier {
        guard real.isFinite, real >= 0, real < 0x1p31 else {
            throw unsupported(id, "its requantization multiplier \(real) is out of range: the plan's scales are inconsistent")
        }
        return FixedPointMultiplier(real: real)
    }

    /// The scale and zero point of int8 activation `n`.
    private func activation(_ n: NodeID, _ q: PlanQuantization) throws(ModelError) -> QuantParams {
        guard let p = q.activations[n] else { throw unsupported(n, "int8 tensor without a scale and zero point in the plan") }
        return p
    }
}
