import CSparrowKernels
import SparrowIR

extension KernelBinding {
    /// The FP16 kernels of node `id` (every tensor binary16 but optimizer state and
    /// master weights, which are FP32). The gradient of each trainable parameter
    /// is followed by a count of its non-finite elements into `overflow[0]`, and
    /// every update is skipped while that count is non-zero: a step whose loss
    /// scale overflowed changes no parameter whose gradient was checked before it
    /// (with updates deferred to the end of the step: none at all).
    func bindF16(_ id: NodeID) throws(ModelError) -> [BoundCall] {
        guard !fused(id) else { throw unsupported(id, "FP16 plans have no fused gradient-update kernels; compile without fusing updates") }
        typealias H = UInt16
        let mode = accumulation == .fp16 ? SP_F16_ACC_F16 : SP_F16_ACC_F32
        let node = graph[id]
        let x = node.inputs
        let y = node.type
        let count = Int32(y.shape.elementCount)
        let (core, cores) = (CoreArgument.core, CoreArgument.cores)
        let out = output(id, H.self)
        var calls: [BoundCall]
        switch node.op {
        case .input, .label, .parameter, .constant, .optimizerState, .splitWeight, .reshape:
            return []
        case .gatherChannels(let sel):
            let channels = Int32(graph[x[0]].type.shape.dims.last!)
            let positions = Int32(graph[x[0]].type.shape.elementCount) / channels
            calls = [call("sp_gather_channels_f16", sp_gather_channels_f16, positions, channels, input(x[0], H.self), self.channels(sel, of: id),
                          Int32(sel.count), out, core, cores)]
        case .conv2d(let c):
            let s = convolution(c, input: graph[x[0]].type.shape, output: y.shape, for: id)
            let (xp, bp) = (input(x[0], H.self), optionalInput(x.count > 2 ? x[2] : nil, H.self))
            if let sp = split(x[1]) {
                calls = [call("sp_conv2d_fwd_split_f16", sp_conv2d_fwd_split_f16, s, xp, input(sp.full, H.self), input(sp.slice, H.self), sp.sel,
                              sp.k, bp, out, mode, core, cores, rows: RowBands(kind: .convolution, input: x[0], output: id))]
            } else {
                calls = [call("sp_conv2d_fwd_f16", sp_conv2d_fwd_f16, s, xp, input(x[1], H.self), bp, out, mode, core, cores,
                              rows: RowBands(kind: .convolution, input: x[0], output: id))]
            }
        case .conv2dInputGrad(let c):
            let s = convolution(c, input: y.shape, output: graph[x[0]].type.shape, for: id)
            if let sp = split(x[1]) {
                calls = [call("sp_conv2d_bwd_input_split_f16", sp_conv2d_bwd_input_split_f16, s, input(x[0], H.self), input(sp.full, H.self),
                              input(sp.slice, H.self), sp.sel, sp.k, out, mode, core, cores,
                              rows: RowBands(kind: .convolutionInputGradient, input: x[0], output: id))]
            } else {
                calls = [call("sp_conv2d_bwd_input_f16", sp_conv2d_bwd_input_f16, s, input(x[0], H.self), input(x[1], H.self), out, mode, core, cores,
                              rows: RowBands(kind: .convolutionInputGradient, input: x[0], output: id))]
            }
        case .conv2dWeightGrad(let c):
            let s = convolution(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape, for: id)
            calls = [call("sp_conv2d_bwd_weight_f16", sp_conv2d_bwd_weight_f16, s, input(x[0], H.self), input(x[1], H.self), out,
                          ContextAccumulate(), mode, core, cores)]
        case .biasGrad:
            let positions = Int32(graph[x[0]].type.shape.elementCount) / count
            calls = [call("sp_bias_grad_f16", sp_bias_grad_f16, positions, count, input(x[0], H.self), out, ContextAccumulate(), mode, core, cores)]
        case .linear:
            let i = Int32(graph[x[0]].type.shape[0])
            let (xp, bp) = (input(x[0], H.self), optionalInput(x.count > 2 ? x[2] : nil, H.self))
            if let sp = split(x[1]) {
                calls = [call("sp_linear_fwd_split_f16", sp_linear_fwd_split_f16, i, count, xp, input(sp.full, H.self), input(sp.slice, H.self),
                              sp.sel, sp.k, bp, out, mode, core, cores)]
            } else {
                calls = [call("sp_linear_fwd_f16", sp_linear_fwd_f16, i, count, xp, input(x[1], H.self), bp, out, mode, core, cores)]
            }
        case .linearInputGrad:
            let o = Int32(graph[x[0]].type.shape[0])
            if let sp = split(x[1]) {
                calls = [call("sp_linear_bwd_input_split_f16", sp_linear_bwd_input_split_f16, count, o, input(x[0], H.self), input(sp.full, H.self),
                              input(sp.slice, H.self), sp.sel, sp.k, out, mode, core, cores)]
            } else {
                calls = [call("sp_linear_bwd_input_f16", sp_linear_bwd_input_f16, count, o, input(x[0], H.self), input(x[1], H.self), out, mode,
                              core, cores)]
            }
        case .linearWeightGrad:
            let (i, o) = (Int32(graph[x[0]].type.shape[0]), Int32(graph[x[1]].type.shape[0]))
            calls = [call("sp_linear_bwd_weight_f16", sp_linear_bwd_weight_f16, i, o, input(x[0], H.self), input(x[1], H.self), out,
                          ContextAccumulate(), mode, core, cores)]
        case .add:
            calls = [call("sp_add_f16", sp_add_f16, count, input(x[0], H.self), input(x[1], H.self), out, core, cores)]
        case .activation(let a):
            switch a {
            case .relu: calls = [call("sp_relu_f16", sp_relu_f16, count, input(x[0], H.self), out, core, cores)]
            case .relu6: calls = [call("sp_relu6_f16", sp_relu6_f16, count, input(x[0], H.self), out, core, cores)]
            }
        case .activationMask(let a):
            let m = output(id, UInt8.self)
            switch a {
            case .relu: calls = [call("sp_relu_mask_f16", sp_relu_mask_f16, count, input(x[0], H.self), m, core, cores)]
            case .relu6: calls = [call("sp_relu6_mask_f16", sp_relu6_mask_f16, count, input(x[0], H.self), m, core, cores)]
            }
        case .maskedGradient:
            calls = [call("sp_mask_grad_f16", sp_mask_grad_f16, count, input(x[0], H.self), input(x[1], UInt8.self), out, core, cores)]
        case .maxPool2d(let w):
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            calls = [call("sp_maxpool_fwd_f16", sp_maxpool_fwd_f16, s, input(x[0], H.self), out, Out<UInt8>(pointer: nil, c: .null), core, cores)]
        case .maxPoolArgmax(let w):
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            calls = [call("sp_maxpool_fwd_f16", sp_maxpool_fwd_f16, s, input(x[0], H.self), scratch(H.self, cType: "sp_f16"),
                          output(id, UInt8.self), core, cores)]
        case .maxPool2dBackward(let w):
            let s = window(w, input: y.shape, output: graph[x[0]].type.shape, for: id)
            calls = [call("sp_maxpool_bwd_f16", sp_maxpool_bwd_f16, s, input(x[0], H.self), input(x[1], UInt8.self), out, mode, core, cores)]
        case .avgPool2d(let w):
            let s = window(w, input: graph[x[0]].type.shape, output: y.shape, for: id)
            calls = [call("sp_avgpool_fwd_f16", sp_avgpool_fwd_f16, s, input(x[0], H.self), out, mode, core, cores)]
        case .avgPool2dBackward(let w):
            let s = window(w, input: y.shape, output: graph[x[0]].type.shape, for: id)
            calls = [call("sp_avgpool_bwd_f16", sp_avgpool_bwd_f16, s, input(x[0], H.self), out, mode, core, cores)]
        case .globalAvgPool:
            let sh = graph[x[0]].type.shape
            calls = [call("sp_global_avgpool_fwd_f16", sp_global_avgpool_fwd_f16, Int32(sh[0] * sh[1]), Int32(sh[2]), input(x[0], H.self), out,
                          mode, core, cores)]
        case .globalAvgPoolBackward:
            calls = [call("sp_global_avgpool_bwd_f16", sp_global_avgpool_bwd_f16, Int32(y.shape[0] * y.shape[1]), Int32(y.shape[2]),
                          input(x[0], H.self), out, core, cores)]
        case .softmaxCrossEntropy:
            let classes = Int32(graph[x[0]].type.shape.elementCount)
            calls = [call("sp_softmax_ce_fwd_f16", sp_softmax_ce_fwd_f16, classes, input(x[0], H.self), input(x[1], Int32.self), out, core, cores)]
        case .softmaxCrossEntropyGrad:
            calls = [call("sp_softmax_ce_bwd_f16", sp_softmax_ce_bwd_f16, count, input(x[0], H.self), input(x[1], Int32.self), out,
                          ContextFloat(field: .lossScale), core, cores)]
        case .meanSquaredError:
            let n = Int32(graph[x[0]].type.shape.elementCount)
            calls = [call("sp_mse_fwd_f16", sp_mse_fwd_f16, n, input(x[0], H.self), input(x[1], H.self), out, core, cores)]
        case .meanSquaredErrorGrad:
            calls = [call("sp_mse_bwd_f16", sp_mse_bwd_f16, count, input(x[0], H.self), input(x[1], H.self), out, ContextFloat(field: .lossScale),
                          core, cores)]
        case .update(let optimizer):
            return [updateF16(node, optimizer: optimizer, count: count)]
        }
        if update(consuming: id) != nil {
            // Count the gradient's non-finite elements, one slot per core, then total them after the join.
            let slots = Out(pointer: overflow + 1, c: .status(1)), status = Out(pointer: overflow, c: .status(0))
            calls.append(call("sp_f16_count_nonfinite", sp_f16_count_nonfinite, count, input(id, H.self), slots, core, cores))
            calls.append(call("sp_f16_overflow_total", sp_f16_overflow_total, status, core, cores))
        }
        return calls
    }

    /// An FP16 update with FP32 state (and FP32 master weights when the update reads
    /// a `.master` state), skipped while this step has seen an overflow.
    private func updateF16(_ node: Node, optimizer: Optimizer, count: Int32) -> BoundCall {
        let x = node.inputs
        let (w, g) = (output(x[0], UInt16.self), input(x[1], UInt16.self))
        let slots = optimizer.stateSlots.count
        let master = x.count > 2 + slots ? output(x[2 + slots], Float.self) : Out<Float>(pointer: nil, c: .null)
        let (lr, scale) = (ContextFloat(field: .learningRate), ContextFloat(field: .gradScale))
        let (core, cores) = (CoreArgument.core, CoreArgument.cores)
        switch optimizer {
        case .sgd(let wd):
            return call("sp_sgd_f16", sp_sgd_f16, count, w, g, master, lr, wd, scale, core, cores, skippedOnOverflow: true)
        case .momentum(let mu, let wd):
            return call("sp_sgd_momentum_f16", sp_sgd_momentum_f16, count, w, g, master, output(x[2], Float.self), lr, mu, wd, scale, core, cores,
                        skippedOnOverflow: true)
        case .adam(let b1, let b2, let eps, let wd):
            return call("sp_adam_f16", sp_adam_f16, count, w, g, master, output(x[2], Float.self), output(x[3], Float.self), lr, b1, b2, eps,
                        ContextFloat(field: .biasCorrection1), ContextFloat(field: .biasCorrection2), wd, scale, core, cores,
                        skippedOnOverflow: true)
        }
    }
}
