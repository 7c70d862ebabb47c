import SparrowAutodiff
import SparrowIR
import SparrowPlanner

/// The quantization constants of an INT8 training plan, from calibration ranges
/// of the FP32 model and its initial weights (post-training quantization, the
/// starting point of TTE's on-device training):
///
/// - the input and every conv, linear, pooling and add output: per-tensor scale
///   and zero point from the calibrated range (widened to hold 0). A conv or
///   linear whose only reader is a ReLU/ReLU6 takes the activation's range, so
///   its int8 output is already clamped at the real 0 and the activation node is
///   an identity clamp with the same parameters;
/// - activations, max-pooling, reshapes and channel gathers: their input's parameters;
/// - conv and linear weights: symmetric per output channel (max |w| / 127), a
///   trainable slice sharing its full weight's scales (gathered for depthwise).
///
/// - Parameters:
///   - dtypes: the plan's storage types (`storageTypes(_:precision: .int8)`).
///   - qas: record whether updates use quantization-aware scaling.
/// - Throws: `RuntimeError.model` naming a tensor that was not calibrated.
public func quantizePlan(_ training: TrainingGraph, dtypes: [DType], model: Model, calibration: CalibrationRanges,
                         qas: Bool) throws(RuntimeError) -> PlanQuantization {
    let g = training.graph, forward = model.graph
    let forwardConsumers = forward.consumers()
    var activations = [NodeID: QuantParams]()
    func calibrated(_ name: String, for node: String) throws(RuntimeError) -> QuantParams {
        guard let p = calibration.params(name) else {
            throw .model("int8 plan: tensor '\(name)' (for '\(node)') has no calibrated range")
        }
        return p
    }
    for id in g.ids where dtypes[id] == .int8 {
        let node = g[id]
        switch node.op {
        case .parameter, .constant, .splitWeight, .update:
            continue  // weights (and updates, views of them): per-channel scales below
        case .activation, .maxPool2d, .reshape, .gatherChannels:
            guard let p = activations[node.inputs[0]] else {
                throw .model("int8 plan: '\(node.name)' reads '\(g[node.inputs[0]].name)', which is not an int8 activation")
            }
            activations[id] = p
        case .conv2d, .linear:
            var source = node.name
            if let f = forward.id(named: node.name), forwardConsumers[f].count == 1,
               case .activation = forward[forwardConsumers[f][0]].op {
                source = forward[forwardConsumers[f][0]].name
            }
            activations[id] = try calibrated(source, for: node.name)
        default:
            activations[id] = try calibrated(node.name, for: node.name)
        }
    }
    // Weight scales: each conv / linear weight read directly or through a split view.
    var weightScales = [NodeID: [Float]]()
    for id in g.ids {
        let node = g[id]
        let depthwise: Bool
        switch node.op {
        case .conv2d(let c): depthwise = c.isDepthwise(inChannels: g[node.inputs[0]].type.shape[2])
        case .linear: depthwise = false
        default: continue
        }
        let channels = node.type.shape.dims.last ?? 1
        let w = node.inputs[1]
        let full: NodeID, slice: (NodeID, ChannelSelection)?
        if case .splitWeight(let sel) = g[w].op { (full, slice) = (g[w].inputs[0], (g[w].inputs[1], sel)) } else { (full, slice) = (w, nil) }
        guard dtypes[full] == .int8 else { continue }
        let name = g[full].name
        guard let values = model.weights[name] else { throw .model("int8 plan: weight '\(name)' is missing from the model") }
        let scales = ChannelQuantizedWeights(values.scalars, channels: depthwise ? .inner(channels) : .outer(channels)).scales
        weightScales[full] = scales
        if let (s, sel) = slice { weightScales[s] = depthwise ? sel.indices.map { scales[$0] } : scales }
    }
    return PlanQuantization(activations: activations, weightScales: weightScales, qas: qas)
}
