import SparrowAutodiff
import SparrowIR
import SparrowPlanner

/// Trains a model natively by executing a compiled training plan sample by
/// sample over one arena, with gradient accumulation for batches.
///
/// Evaluation runs the plan's forward part (`0..<forwardEnd`) in the same arena,
/// as a device would: no second copy of the weights.
public final class Trainer {
    public let options: TrainingOptions
    public let plan: TrainingPlan
    /// Architecture and initial weights.
    public let initial: Model
    let executor: Executor
    private let input: NodeID, label: NodeID, prediction: NodeID, loss: NodeID
    /// Optimizer steps taken so far.
    public private(set) var step = 0
    /// β₁ᵗ and β₂ᵗ of Adam, kept by repeated multiplication so every execution agrees bit for bit.
    private(set) var beta1Power: Float = 1, beta2Power: Float = 1
    /// The loss scale of an FP16 plan, with the count of steps skipped because a
    /// gradient overflowed (nil for FP32 and INT8 plans).
    public private(set) var lossScaler: LossScaler?

    /// Compiles `model` for `options.spec` (no budget; gradients kept across a batch
    /// when the batch is larger than one) and prepares to train it.
    public convenience init(model: Model, options: TrainingOptions) throws(RuntimeError) {
        try options.validate()
        do { try model.validate() } catch { throw .model(error.description) }
        var c = CompileOptions()
        c.spec = options.spec
        c.optimizer = options.optimizer
        c.gradientAccumulation = options.batchSize > 1
        c.cores = options.cores
        let plan: TrainingPlan
        do { plan = try compilePlan(model, options: c) } catch { throw .model(String(describing: error)) }
        try self.init(plan: plan, model: model, options: options)
    }

    /// Trains through a compiled plan; `model` gives the architecture and weights.
    public init(plan: TrainingPlan, model: Model, options: TrainingOptions) throws(RuntimeError) {
        try options.validate()
        guard options.batchSize == 1 || plan.gradientAccumulation else {
            throw .invalidOption("the plan keeps no gradients across steps, so it trains with batch size 1 only (got \(options.batchSize))")
        }
        guard options.optimizer == plan.training.optimizer else {
            throw .invalidOption("the plan was compiled for \(plan.training.optimizer.name), not \(options.optimizer.name)")
        }
        switch plan.memory.precision {
        case .fp16:
            lossScaler = options.lossScaling ?? .standardDynamic
        case .fp32, .int8:
            guard options.lossScaling == nil else {
                throw .invalidOption("loss scaling applies to fp16 plans; this plan is \(plan.memory.precision.rawValue)")
            }
        }
        self.options = options
        self.plan = plan
        initial = model
        let g = plan.graph
        guard let p = g.prediction, let l = g.loss, let i = g.ids(where: { $0 == .input }).first,
              let lab = g.ids(where: { $0 == .label }).first, g.ids(where: { $0 == .input }).count == 1 else {
            throw .model("a trainable model needs exactly one input, a label, a prediction and a loss")
        }
        (input, label, prediction, loss) = (i, lab, p, l)
        do {
            executor = try Executor(plan: plan, weights: plan.training.parameterValues(from: model.weights), cores: options.cores)
        } catch { throw .model(error.description) }
    }

    /// The training graph being executed.
    public var training: TrainingGraph { plan.training }

    /// Arena bytes of the training executor.
    public var arenaBytes: Int { executor.arenaBytes }

    /// Shape of one input sample.
    public var inputShape: Shape { training.graph[input].type.shape }

    /// Number of classes (elements of the prediction).
    public var classes: Int { training.graph[prediction].type.shape.elementCount }

    /// The model with the current weights (trained slices merged into their weights).
    public var model: Model {
        var m = initial
        m.weights = plan.training.mergedWeights(executor.weights())
        return m
    }

    /// Trains on one batch: every sample runs forward and backward with gradients
    /// accumulated, and the last one applies the update with the mean gradient.
    /// - Parameters:
    ///   - count: samples in the batch.
    ///   - sample: writes sample `k` of the batch through `feed` (input values, class label).
    ///   - learningRate: rate of this optimizer step.
    /// - Returns: summed loss and number of correct predictions over the batch.
    public func trainBatch(count: Int, learningRate: Float,
                           sample: (Int, (UnsafeBufferPointer<Float>, Int32) -> Void) -> Void) -> (loss: Double, correct: Int) {
        precondition(count >= 1 && count <= options.batchSize, "trainBatch: \(count) samples for batch size \(options.batchSize)")
        step += 1
        beta1Power *= adamBetas.0
        beta2Power *= adamBetas.1
        let scale = lossScaler?.scale ?? 1, factor = lossScaler?.gradientFactor ?? 1
        var context = StepContext(learningRate: learningRate, accumulate: 0, gradScale: 1 / Float(count) * factor,
                                  biasCorrection1: 1 - beta1Power, biasCorrection2: 1 - beta2Power, lossScale: scale)
        var total = 0.0, correct = 0
        executor.resetOverflow()
        for k in 0..<count {
            context.accumulate = k == 0 ? 0 : 1
            let r = runSample(k, nodes: training.graph.ids, context: context, updates: k == count - 1, sample: sample)
            total += Double(r.loss)
            if r.predicted == Int(r.label) { correct += 1 }
        }
        _ = lossScaler?.record(overflow: executor.overflowCount > 0)
        return (total, correct)
    }

    /// Evaluates the current weights; `sample(k, feed)` feeds sample k of `count`.
    public func evaluate(count: Int, sample: (Int, (UnsafeBufferPointer<Float>, Int32) -> Void) -> Void) -> Evaluation {
        var e = Evaluation(classes: classes)
        var total = 0.0
        for k in 0..<count {
            let r = runSample(k, nodes: 0..<plan.training.forwardEnd, context: StepContext(), updates: false, sample: sample)
            total += Double(r.loss)
            if r.label >= 0 && Int(r.label) < classes { e.confusion[Int(r.label)][r.predicted] += 1 }
        }
        e.samples = count
        e.loss = count == 0 ? 0 : total / Double(count)
        let right = e.confusion.indices.reduce(0) { $0 + e.confusion[$1][$1] }
        e.accuracy = count == 0 ? 0 : Double(right) / Double(count)
        return e
    }

    /// Restores the FP16 loss scaler from checkpoint metadata.
    func restoreLossScaler(_ metadata: [String: String]) -> Bool {
        guard var s = lossScaler, s.restore(metadata) else { return false }
        lossScaler = s
        return true
    }

    func restoreCounters(step: Int, beta1Power: Float, beta2Power: Float) {
        self.step = step
        self.beta1Power = beta1Power
        self.beta2Power = beta2Power
    }

    /// Feeds sample `k` (input and label), runs `nodes`, and reads the loss and the arg-max prediction.
    private func runSample(_ k: Int, nodes: Range<NodeID>, context: StepContext, updates: Bool,
                           sample: (Int, (UnsafeBufferPointer<Float>, Int32) -> Void) -> Void) -> (loss: Float, predicted: Int, label: Int32) {
        var lab: Int32 = 0
        sample(k) { values, l in
            executor.write(values, to: input)
            lab = l
            feedLabel(l, into: executor, id: label)
        }
        executor.run(nodes, context: context, updates: updates)
        return (executor.scalar(loss), argmax(executor.read(prediction)), lab)
    }

    /// Current value of a tensor of the training graph (for tests and tools).
    public func read(_ id: NodeID) -> [Float] { executor.read(id) }

    /// The bytes a tensor holds in its storage type (to compare executions bit for bit).
    public func storedBytes(_ id: NodeID) -> [UInt8] { executor.storedBytes(id) }

    private var adamBetas: (Float, Float) {
        if case .adam(let b1, let b2, _, _) = options.optimizer { return (b1, b2) }
        return (1, 1)
    }
}

/// Writes a class label: an int32 index, or a one-hot fp32 target for an MSE model.
private func feedLabel(_ label: Int32, into e: Executor, id: NodeID) {
    switch e.graph[id].type.dtype {
    case .int32:
        e.write(int32: [label], to: id)
    default:
        var target = [Float](repeating: 0, count: e.graph[id].type.shape.elementCount)
        if label >= 0 && Int(label) < target.count { target[Int(label)] = 1 }
        e.write(target, to: id)
    }
}
