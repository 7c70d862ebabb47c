import SparrowIR
import SparrowPlanner
import SparrowRuntime

extension ModelSource {
    /// A call's arguments as C; with `staged`, call `stagedCall`'s tensors and scratch are its L1 copies.
    func arguments(_ call: KernelInvocation, staged stagedCall: Int? = nil) throws(ExportError) -> String {
        let l1 = stagedCall.flatMap { staging.calls[$0] }
        func tensor(_ id: NodeID) -> String {
            if let b = l1?.bands, id == b.input || id == b.output {
                return "((\(cType(memory.dtypes[id])) *)sparrow_band.\(id == b.input ? "in" : "out"))"
            }
            guard let k = stagedCall, let at = staging.l1Offset(of: id, call: k, plan: plan) else { return names[id] }
            return "((\(cType(memory.dtypes[id])) *)(sparrow_stage + \(at)))"
        }
        var args: [String] = []
        for (position, a) in call.arguments.enumerated() {
            if position == 0, l1?.bands != nil {  // a banded call's shape: the band's
                args.append("sparrow_band.shape")
                continue
            }
            switch a {
            case .int(let v): args.append(cInt(v))
            case .float(let f): args.append(cFloat(f))
            case .tensor(let id): args.append(tensor(id))
            case .scratch(let type):
                // A banded call's scratch is in L1 or absent (the kernels that take scratch accept NULL: same bits).
                let fallback = l1?.bands != nil ? "NULL" : "((\(type) *)sparrow_scratch)"
                args.append(l1?.scratch.map { "((\(type) *)(sparrow_stage + \($0)))" } ?? fallback)
            case .constant(let k):
                let e = executor.constantTables[k]
                args.append(e.isArray ? e.name : "&" + e.name)
            case .symbol(let s): args.append(s)
            case .context(let field): args.append("sparrow_ctx.\(field.rawValue)")
            case .core: args.append("core_id")
            case .cores: args.append("num_cores")
            case .null: args.append("NULL")
            case .status(let k): args.append(k == 0 ? "sparrow_status" : "sparrow_status + \(k)")
            case .update(let u):
                let m = u.m.map(tensor) ?? "NULL", v = u.v.map(tensor) ?? "NULL"
                args.append("&(sp_update){\(u.kind), \(tensor(u.weight)), \(m), \(v), sparrow_ctx.lr, \(cFloat(u.weightDecay)), sparrow_ctx.grad_scale, "
                            + "\(cFloat(u.momentum)), \(cFloat(u.beta1)), \(cFloat(u.beta2)), \(cFloat(u.eps)), sparrow_ctx.bias_correction1, "
                            + "sparrow_ctx.bias_correction2}")
            }
        }
        return args.joined(separator: ", ")
    }

    /// The C name prefix of banded call `k`'s tables.
    func bandName(_ k: Int) -> String { "sparrow_bands_k\(k)" }

    /// Banded call `k`'s per-band shapes and copies (rv32 builds).
    func bandTables(_ k: Int, _ b: L1Staging.Bands) -> String {
        let shapes = b.shapes.map { "{" + $0.map(String.init).joined(separator: ", ") + "}" }.joined(separator: ", ")
        let copies = zip(b.inputs, b.outputs).map { "{\($0.lowerBound), \($0.count), \($1.lowerBound), \($1.count)}" }.joined(separator: ", ")
        return "#ifdef SPARROW_L1_STAGING  /* call \(k) runs in \(b.shapes.count) bands of rows */\n"
            + "static SPARROW_TABLE sp_conv2d_shape \(bandName(k))_shapes[\(b.shapes.count)] = {\(shapes)};\n"
            + "static const sparrow_band_copy \(bandName(k))_copies[\(b.shapes.count)] = {\(copies)};\n#endif\n\n"
    }

    /// The double-buffered band loop of the rv32 build (emitted once if a call is banded).
    var bandRunner: String {
        """
        #ifdef SPARROW_L1_STAGING
        /* Calls too large for L1 run in bands of rows (each band's elements computed as by
         * the whole call). Band k computes out of one half of the L1 buffer while the DMA
         * writes band k-1's output rows back from the other half and then fetches band
         * k+1's input rows into it (the DMA completes transfers in the order they were
         * programmed). */
        typedef struct { uint32_t in_offset, in_bytes, out_offset, out_bytes; } sparrow_band_copy;
        static struct { const sp_conv2d_shape *shape; uint8_t *in, *out; } sparrow_band;

        static void sparrow_run_bands(void (*body)(int, int), const sp_conv2d_shape *shapes, const sparrow_band_copy *copies, int n,
                                      uint32_t half0, uint32_t half1, uint32_t out_at) {
          uint8_t *half[2] = {sparrow_stage + half0, sparrow_stage + half1};
          SPARROW_DMA(half[0], sparrow_arena + copies[0].in_offset, copies[0].in_bytes);
          for (int k = 0; k < n; k++) {
            SPARROW_DMA_WAIT();
            if (k > 0) SPARROW_DMA(sparrow_arena + copies[k - 1].out_offset, half[(k - 1) & 1] + out_at, copies[k - 1].out_bytes);
            if (k + 1 < n) SPARROW_DMA(half[(k + 1) & 1], sparrow_arena + copies[k + 1].in_offset, copies[k + 1].in_bytes);
            sparrow_band.shape = &shapes[k];
            sparrow_band.in = half[k & 1];
            sparrow_band.out = half[k & 1] + out_at;
            sparrow_parallel(body);
          }
          SPARROW_DMA(sparrow_arena + copies[n - 1].out_offset, half[(n - 1) & 1] + out_at, copies[n - 1].out_bytes);
          SPARROW_DMA_WAIT();
        }
        #endif

        """
    }

    /// The DMA copies around staged call `k` (rv32 builds): in before it, back after it.
    func stagingCopies(_ k: Int, back: Bool) -> String {
        guard let c = staging.calls[k] else { return "" }
        var lines: [String] = []
        for copy in c.copies where !back || copy.writeBack {
            let memory = copy.fromFlash ? "sparrow_flash" : "sparrow_arena"
            let (l1, other) = ("sparrow_stage + \(copy.l1Offset)", "\(memory) + \(copy.offset)")
            lines.append(back ? "  SPARROW_DMA(\(other), \(l1), \(copy.bytes));" : "  SPARROW_DMA(\(l1), \(other), \(copy.bytes));")
        }
        guard !lines.isEmpty else { return "" }
        return "#ifdef SPARROW_L1_STAGING\n" + lines.joined(separator: "\n") + "\n  SPARROW_DMA_WAIT();\n#endif\n"
    }

    /// The name of call `k` of the schedule.
    func functionName(_ k: Int) -> String {
        let call = executor.invocations[k]
        return "k\(k)_" + names[call.node].dropFirst(2)
    }

    /// One function per kernel call, run on every core by `sparrow_parallel`.
    func callFunctions() throws(ExportError) -> String {
        var out = "/* ------------------------------------------------ kernel calls, in schedule order */\n\n"
        out += "typedef struct {\n  float lr, grad_scale, loss_scale, bias_correction1, bias_correction2;\n  int accumulate;\n} sparrow_context;\n"
        out += "static sparrow_context sparrow_ctx;\n\n"
        if staging.calls.values.contains(where: { $0.bands != nil }) { out += bandRunner }
        for (k, call) in executor.invocations.enumerated() {
            if let b = staging.calls[k]?.bands { out += bandTables(k, b) }
            let node = graph[call.node]
            let phase = plan.training.phase(of: call.node).rawValue
            out += "/* step \(call.node) (\(phase)) '\(commentSafe(node.name))': \(node.op.name)"
            if memory.regions[call.node] == .sram { out += " -> arena offset \(memory.offsets[call.node]), \(memory.sizes[call.node]) B" }
            if memory.regions[call.node] == .fused { out += " (gradient never stored: the update is applied inside the kernel)" }
            out += " */\nstatic void \(functionName(k))(int core_id, int num_cores) {\n"
            if !call.arguments.contains(.core) { out += "  (void)core_id;\n" }
            if !call.arguments.contains(.cores) { out += "  (void)num_cores;\n" }
            if staging.calls[k] != nil {
                out += "#ifdef SPARROW_L1_STAGING\n  \(call.function)(\(try arguments(call, staged: k)));\n#else\n"
                out += "  \(call.function)(\(try arguments(call)));\n#endif\n}\n\n"
            } else {
                out += "  \(call.function)(\(try arguments(call)));\n}\n\n"
            }
        }
        return out
    }

    /// `sparrow_train_step`, `sparrow_infer` and the small API around them.
    func stepFunctions() -> String {
        let calls = executor.invocations
        let n = graph[input].type.shape.elementCount
        let optimizer = plan.training.optimizer
        var betas = ("1.0f", "1.0f")
        if case .adam(let b1, let b2, _, _) = optimizer { betas = (cFloat(b1), cFloat(b2)) }
        func run(_ k: Int) -> String {
            let call = calls[k]
            var marker = "  SPARROW_STEP_MARKER(\(call.node));\n"
            if let v = options.kernelVariant ?? plan.tuning.map({ $0.variants[call.node] ?? 0 }) {
                marker += "  sp_kernel_variant_set(\(v));\n"
            }
            var body = stagingCopies(k, back: false) + "  sparrow_parallel(\(functionName(k)));\n" + stagingCopies(k, back: true)
            if let b = staging.calls[k]?.bands {
                body = stagingCopies(k, back: false) + "#ifdef SPARROW_L1_STAGING\n"
                    + "  sparrow_run_bands(\(functionName(k)), \(bandName(k))_shapes, \(bandName(k))_copies, \(b.shapes.count), \(b.halves[0]), \(b.halves[1]), \(b.outputAt));\n"
                    + "#else\n  sparrow_parallel(\(functionName(k)));\n#endif\n" + stagingCopies(k, back: true)
            }
            if call.skippedOnOverflow { return marker + "  if (sparrow_status[0] == 0) {\n" + body + "  }\n" }
            return marker + body
        }
        var out = "/* ------------------------------------------------------------- the API */\n\n"
        out += "static float sparrow_learning_rate = \(cFloat(options.learningRate));\n"
        out += "static float sparrow_beta1_power = 1.0f, sparrow_beta2_power = 1.0f;\n"
        out += "static int32_t sparrow_skipped;\n"
        let fp16 = memory.precision == .fp16
        if fp16 {
            let s = options.lossScaling
            out += "/* loss scaling: a power of two; \(lossScalingComment(s)) */\n"
            out += "static float sparrow_loss_scale = \(cFloat(s.scale));\nstatic int32_t sparrow_clean_steps;\n"
        }
        out += "\nvoid sparrow_set_learning_rate(float lr) { sparrow_learning_rate = lr; }\n"
        out += "int32_t sparrow_skipped_steps(void) { return sparrow_skipped; }\n\n"
        out += "void sparrow_init(void) {\n  sparrow_load_initial();\n  sparrow_beta1_power = 1.0f;\n  sparrow_beta2_power = 1.0f;\n"
        out += "  sparrow_skipped = 0;\n"
        if fp16 { out += "  sparrow_loss_scale = \(cFloat(options.lossScaling.scale));\n  sparrow_clean_steps = 0;\n" }
        out += "}\n\n"
        out += "/* The sample into the input tensor, in its storage type. */\nstatic void sparrow_write_input(const float *input) {\n"
        switch memory.dtypes[input] {
        case .fp16: out += "  sp_f32_to_f16_tensor(\(n), input, \(names[input]), 0, 1);\n"
        case .int8:
            // The executor checked that an int8 plan has its quantization (it built the calls from it).
            let p = plan.quantization!.activations[input]!
            out += "  sp_quantize_f32_to_int8(\(n), input, \(cFloat(p.scale)), \(p.zeroPoint), \(names[input]), 0, 1);\n"
        default: out += "  for (int i = 0; i < \(n); i++) \(names[input])[i] = input[i];\n"
        }
        out += "}\n\n"
        out += "static float sparrow_read_scalar(void) {\n"
        out += memory.dtypes[loss] == .fp16 ? "  return sp_f16_to_f32(\(names[loss])[0]);\n" : "  return \(names[loss])[0];\n"
        out += "}\n\nfloat sparrow_loss(void) { return sparrow_read_scalar(); }\n\n"
        // Training step.
        out += "float sparrow_train_step(const float *input, int32_t label) {\n"
        out += "  sparrow_beta1_power *= \(betas.0);\n  sparrow_beta2_power *= \(betas.1);\n"
        let scale = fp16 ? "sparrow_loss_scale" : "1.0f"
        out += "  sparrow_ctx.lr = sparrow_learning_rate;\n  sparrow_ctx.accumulate = 0;\n"
        out += "  sparrow_ctx.grad_scale = 1.0f * (1.0f / \(scale));\n  sparrow_ctx.loss_scale = \(scale);\n"
        out += "  sparrow_ctx.bias_correction1 = 1.0f - sparrow_beta1_power;\n  sparrow_ctx.bias_correction2 = 1.0f - sparrow_beta2_power;\n"
        out += "  SPARROW_STEP_MARKER(-1);  /* between plan steps: the harness writes the sample */\n"
        out += "  sparrow_status[0] = 0;\n  sparrow_write_input(input);\n" + labelWrite()
        for k in calls.indices { out += run(k) }
        if fp16 { out += lossScalerUpdate() }
        out += "  return sparrow_read_scalar();\n}\n\n"
        // Inference: the forward pass without the loss and without updates.
        out += "void sparrow_infer(const float *input, float *output) {\n  SPARROW_STEP_MARKER(-1);\n  sparrow_write_input(input);\n"
        for k in calls.indices where calls[k].node < plan.training.forwardEnd && !calls[k].isUpdate && calls[k].node != loss { out += run(k) }
        let classes = graph[prediction].type.shape.elementCount
        switch memory.dtypes[prediction] {
        case .fp16: out += "  for (int i = 0; i < \(classes); i++) output[i] = sp_f16_to_f32(\(names[prediction])[i]);\n"
        default: out += "  for (int i = 0; i < \(classes); i++) output[i] = \(names[prediction])[i];\n"
        }
        out += "}\n\n"
        out += "const sparrow_tensor sparrow_state[] = {\n"
        let state = plan.training.stateTensors
        for id in state { out += "  {\(cString(graph[id].name)), \(names[id]), \(executor.storedSize(id))},\n" }
        if state.isEmpty { out += "  {\"\", NULL, 0},\n" }
        out += "};\nconst int32_t sparrow_state_count = \(state.count);\n"
        return out
    }

    private func labelWrite() -> String {
        switch memory.dtypes[label] {
        case .int32: return "  \(names[label])[0] = label;\n"
        case let d:
            let n = graph[label].type.shape.elementCount
            let one = d == .fp16 ? "0x3c00" : "1.0f", zero = d == .fp16 ? "0" : "0.0f"
            return "  for (int i = 0; i < \(n); i++) \(names[label])[i] = i == label ? \(one) : \(zero);\n"
        }
    }

    private func lossScalingComment(_ s: LossScaler) -> String {
        switch s.mode {
        case .static: return "static"
        case .dynamic(let interval, let minimum, let maximum):
            return "dynamic: halved on overflow (not below \(minimum)), doubled after \(interval) clean steps (not above \(maximum))"
        }
    }

    /// `LossScaler.record(overflow:)` in C.
    private func lossScalerUpdate() -> String {
        var out = "  if (sparrow_status[0] == 0) {\n    sparrow_clean_steps += 1;\n"
        if case .dynamic(let interval, let minimum, let maximum) = options.lossScaling.mode {
            out += "    if (sparrow_clean_steps >= \(interval) && sparrow_loss_scale * 2.0f <= \(cFloat(maximum))) {\n"
            out += "      sparrow_loss_scale *= 2.0f;\n      sparrow_clean_steps = 0;\n    }\n"
            out += "  } else {\n    sparrow_skipped += 1;\n    sparrow_clean_steps = 0;\n"
            out += "    if (sparrow_loss_scale / 2.0f >= \(cFloat(minimum))) sparrow_loss_scale /= 2.0f;\n  }\n"
        } else {
            out += "  } else {\n    sparrow_skipped += 1;\n    sparrow_clean_steps = 0;\n  }\n"
        }
        return out
    }
}
