import SparrowIR

/// How each `Op` and `Optimizer` is written in a plan file.
///
/// An op is an object whose `kind` is the op's short name (`Op.name`, except
/// `optimizer_state` and `update`, whose attributes are fields), followed by its
/// attributes: windows as `kernel` [h, w], `stride` [h, w] and `padding`
/// [top, left, bottom, right]; convolutions add `groups` and `out_channels`;
/// channel selections a `channels` list; optimizer state its `slot`; an update its
/// `optimizer` (the plan's optimizer's name when it is that one, else the full object).
enum OpCoding {
    /// Every op kind a plan file may name, in `Op` declaration order.
    static let kinds: [String] = [
        "input", "label", "parameter", "constant", "optimizer_state",
        "conv2d", "linear", "add", "relu", "relu6", "maxpool2d", "avgpool2d", "global_avgpool", "reshape",
        "softmax_cross_entropy", "mse", "split_weight", "gather_channels", "relu_mask", "relu6_mask", "maxpool_argmax",
        "masked_grad", "maxpool2d_grad", "avgpool2d_grad", "global_avgpool_grad", "conv2d_input_grad",
        "conv2d_weight_grad", "linear_input_grad", "linear_weight_grad", "bias_grad", "softmax_cross_entropy_grad",
        "mse_grad", "update",
    ]

    static func kind(of op: Op) -> String {
        switch op {
        case .optimizerState: return "optimizer_state"
        case .update: return "update"
        default: return op.name
        }
    }

    // MARK: Encoding

    static func encode(_ op: Op, planOptimizer: Optimizer) -> OrderedJSON {
        var fields: [(String, OrderedJSON)] = [("kind", .string(kind(of: op)))]
        switch op {
        case .input, .label, .parameter, .constant, .linear, .add, .activation, .globalAvgPool, .reshape,
             .softmaxCrossEntropy, .meanSquaredError, .activationMask, .maskedGradient, .globalAvgPoolBackward,
             .linearInputGrad, .linearWeightGrad, .biasGrad, .softmaxCrossEntropyGrad, .meanSquaredErrorGrad:
            break
        case .optimizerState(let slot):
            fields.append(("slot", .string(slot.rawValue)))
        case .conv2d(let c), .conv2dInputGrad(let c), .conv2dWeightGrad(let c):
            fields += window(c.window) + [("groups", .int(c.groups)), ("out_channels", .int(c.outChannels))]
        case .maxPool2d(let w), .avgPool2d(let w), .maxPoolArgmax(let w), .maxPool2dBackward(let w), .avgPool2dBackward(let w):
            fields += window(w)
        case .splitWeight(let sel), .gatherChannels(let sel):
            fields.append(("channels", .ints(sel.indices)))
        case .update(let o):
            fields.append(("optimizer", o == planOptimizer ? .string(o.name) : encode(o)))
        }
        return .object(fields)
    }

    private static func window(_ w: Window2D) -> [(String, OrderedJSON)] {
        [("kernel", .ints([w.kernelH, w.kernelW])), ("stride", .ints([w.strideH, w.strideW])),
         ("padding", .ints([w.padTop, w.padLeft, w.padBottom, w.padRight]))]
    }

    static func encode(_ o: Optimizer) -> OrderedJSON {
        switch o {
        case .sgd(let wd):
            return .object([("name", .string(o.name)), ("weight_decay", .float(wd))])
        case .momentum(let mu, let wd):
            return .object([("name", .string(o.name)), ("momentum", .float(mu)), ("weight_decay", .float(wd))])
        case .adam(let b1, let b2, let eps, let wd):
            return .object([("name", .string(o.name)), ("beta1", .float(b1)), ("beta2", .float(b2)),
                            ("epsilon", .float(eps)), ("weight_decay", .float(wd))])
        }
    }

    // MARK: Decoding

    /// The op of a schedule entry from its `op` field.
    static func decode(_ value: JSONValue, entry: PlanFields, name: String, planOptimizer: Optimizer) throws(PlanFileError) -> Op {
        let f = try PlanFields(value, file: entry.file, at: entry.at, field: "op", path: "op.")
        let kind = try f.string("kind")
        let window = ["kind", "kernel", "stride", "padding"]
        let conv = window + ["groups", "out_channels"]
        switch kind {
        case "input": try f.only(["kind"]); return .input
        case "label": try f.only(["kind"]); return .label
        case "parameter": try f.only(["kind"]); return .parameter
        case "constant": try f.only(["kind"]); return .constant
        case "optimizer_state":
            try f.only(["kind", "slot"])
            let s = try f.string("slot")
            guard let slot = OptimizerSlot(rawValue: s) else {
                throw f.invalid("slot", "'\(s)' is not an optimizer slot; known: \(OptimizerSlot.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .optimizerState(slot)
        case "conv2d": try f.only(conv); return .conv2d(try conv2D(f))
        case "conv2d_input_grad": try f.only(conv); return .conv2dInputGrad(try conv2D(f))
        case "conv2d_weight_grad": try f.only(conv); return .conv2dWeightGrad(try conv2D(f))
        case "linear": try f.only(["kind"]); return .linear
        case "add": try f.only(["kind"]); return .add
        case "maxpool2d": try f.only(window); return .maxPool2d(try window2D(f))
        case "avgpool2d": try f.only(window); return .avgPool2d(try window2D(f))
        case "maxpool_argmax": try f.only(window); return .maxPoolArgmax(try window2D(f))
        case "maxpool2d_grad": try f.only(window); return .maxPool2dBackward(try window2D(f))
        case "avgpool2d_grad": try f.only(window); return .avgPool2dBackward(try window2D(f))
        case "global_avgpool": try f.only(["kind"]); return .globalAvgPool
        case "global_avgpool_grad": try f.only(["kind"]); return .globalAvgPoolBackward
        case "reshape": try f.only(["kind"]); return .reshape
        case "softmax_cross_entropy": try f.only(["kind"]); return .softmaxCrossEntropy
        case "softmax_cross_entropy_grad": try f.only(["kind"]); return .softmaxCrossEntropyGrad
        case "mse": try f.only(["kind"]); return .meanSquaredError
        case "mse_grad": try f.only(["kind"]); return .meanSquaredErrorGrad
        case "split_weight": try f.only(["kind", "channels"]); return .splitWeight(try f.channels("channels"))
        case "gather_channels": try f.only(["kind", "channels"]); return .gatherChannels(try f.channels("channels"))
        case "masked_grad": try f.only(["kind"]); return .maskedGradient
        case "linear_input_grad": try f.only(["kind"]); return .linearInputGrad
        case "linear_weight_grad": try f.only(["kind"]); return .linearWeightGrad
        case "bias_grad": try f.only(["kind"]); return .biasGrad
        case "update":
            try f.only(["kind", "optimizer"])
            let o = try f.value("optimizer")
            if case .string(let s) = o {
                guard s == planOptimizer.name else {
                    throw f.invalid("optimizer", "'\(s)' is not the plan's optimizer '\(planOptimizer.name)'; write the optimizer object instead")
                }
                return .update(planOptimizer)
            }
            return .update(try optimizer(o, file: f.file, at: f.at, field: "op.optimizer"))
        default:
            for a in Activation.allCases {
                if kind == a.rawValue { try f.only(["kind"]); return .activation(a) }
                if kind == "\(a.rawValue)_mask" { try f.only(["kind"]); return .activationMask(a) }
            }
            throw .unknownOp(file: f.file, entry: name, op: kind, known: kinds)
        }
    }

    /// Kernel and stride 1…1024 and padding 0…1023, as `Window2D.outputSize` requires;
    /// checked here so that no later product of them can overflow.
    private static func window2D(_ f: PlanFields) throws(PlanFileError) -> Window2D {
        let k = try f.ints("kernel", count: 2, 1...1024)
        let s = try f.ints("stride", count: 2, 1...1024)
        let p = try f.ints("padding", count: 4, 0...1023)
        return Window2D(kernel: (k[0], k[1]), stride: (s[0], s[1]), padding: (p[0], p[1], p[2], p[3]))
    }

    private static func conv2D(_ f: PlanFields) throws(PlanFileError) -> Conv2D {
        Conv2D(window: try window2D(f), outChannels: try f.int("out_channels", 1...Int(Int32.max)),
               groups: try f.int("groups", 1...Int(Int32.max)))
    }

    /// An optimizer object: `name` and its hyper-parameters, all required.
    static func optimizer(_ value: JSONValue, file: String, at: PlanFileError.Location, field: String) throws(PlanFileError) -> Optimizer {
        let f = try PlanFields(value, file: file, at: at, field: field, path: field + ".")
        let name = try f.string("name")
        switch name {
        case "sgd":
            try f.only(["name", "weight_decay"])
            return .sgd(weightDecay: try f.float("weight_decay"))
        case "momentum":
            try f.only(["name", "momentum", "weight_decay"])
            return .momentum(momentum: try f.float("momentum"), weightDecay: try f.float("weight_decay"))
        case "adam":
            try f.only(["name", "beta1", "beta2", "epsilon", "weight_decay"])
            return .adam(beta1: try f.float("beta1"), beta2: try f.float("beta2"), epsilon: try f.float("epsilon"),
                         weightDecay: try f.float("weight_decay"))
        default:
            throw f.invalid("name", "unknown optimizer '\(name)'; known: sgd, momentum, adam")
        }
    }
}
