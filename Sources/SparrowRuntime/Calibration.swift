import SparrowData
import SparrowIR

/// The value range of every FP32 forward tensor of a model over calibration
/// samples: what post-training quantization turns into per-tensor scales and
/// zero points (`QuantParams.activation(min:max:)`).
public struct CalibrationRanges: Hashable, Sendable {
    /// Smallest and largest value seen, by node name (inputs and layer outputs).
    public var ranges: [String: ClosedRange<Float>]
    public var samples: Int

    /// Quantization parameters of a tensor, or nil if it was not calibrated.
    public func params(_ name: String) -> QuantParams? {
        ranges[name].map { QuantParams.activation(min: $0.lowerBound, max: $0.upperBound) }
    }
}

/// Runs the model's forward graph over the first `samples` samples of `data`
/// and records the range of every FP32 activation (parameters excluded).
/// Non-finite values are an error naming the tensor: they cannot be quantized.
public func calibrate(_ model: Model, on data: Dataset, samples: Int) throws(RuntimeError) -> CalibrationRanges {
    let g = model.graph
    let observed = g.ids.filter { id in
        g[id].type.dtype == .fp32 && !g[id].op.isPersistentLeaf && g[id].op != .label && g[id].type.shape.rank > 0
    }
    let executor: Executor
    do { executor = try Executor(graph: g, weights: model.weights, pinned: Set(observed)) } catch { throw .model(error.description) }
    guard let input = g.ids(where: { $0 == .input }).first else { throw .model("the model has no input to calibrate") }
    guard data.sampleShape == g[input].type.shape.dims else {
        throw .datasetMismatch("calibration data '\(data.name)' has samples of \(Shape(data.sampleShape)), the model's input is \(g[input].type.shape)")
    }
    let label = g.ids(where: { $0 == .label }).first
    var lo = [Float](repeating: .infinity, count: g.count), hi = [Float](repeating: -.infinity, count: g.count)
    let n = min(max(samples, 1), data.count)
    for i in 0..<n {
        data.sample(at: i).withUnsafeBufferPointer { executor.write($0, to: input) }
        if let label {
            if g[label].type.dtype == .int32 { executor.write(int32: [data.labels[i]], to: label) }
            else { executor.write([Float](repeating: 0, count: g[label].type.shape.elementCount), to: label) }
        }
        executor.run(g.ids, context: StepContext(), updates: false)
        for id in observed {
            for v in executor.read(id) {
                guard v.isFinite else { throw .model("calibration: tensor '\(g[id].name)' holds \(v) for sample \(i)") }
                lo[id] = min(lo[id], v)
                hi[id] = max(hi[id], v)
            }
        }
    }
    var ranges = [String: ClosedRange<Float>]()
    for id in observed { ranges[g[id].name] = lo[id]...hi[id] }
    return CalibrationRanges(ranges: ranges, samples: n)
}
