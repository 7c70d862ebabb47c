import SparrowAutodiff
import SparrowIR
import SparrowPlanner

/// How to compile a model into a training plan.
public struct CompileOptions: Hashable, Sendable {
    public var spec: UpdateSpec = .full
    public var optimizer: Optimizer = .plainSGD
    /// Apply each update right after its gradient (the memory-saving order).
    public var reorderUpdates = true
    /// SRAM budget in bytes; nil compiles without a check.
    public var budget: Int?
    /// Keep parameter gradients for the whole step so batches can accumulate them.
    public var gradientAccumulation = false
    /// Cores the kernels split over (their scratch grows with it).
    public var cores = 1
    /// Let elementwise ops overwrite inputs that die there.
    public var inPlace = true
    /// Frozen weights in flash (false keeps everything in the arena, for comparisons).
    public var frozenInFlash = true
    /// Apply each update inside its gradient kernel so weight and bias gradients are
    /// never stored (only with reordered updates and without gradient accumulation;
    /// not in FP16 plans, whose gradients are checked for overflow before their update).
    public var fuseUpdates = true
    /// Storage format of the plan and the kernels that run it.
    public var precision: Precision = .fp32
    /// FP16 plans: whether every multiply-accumulate rounds to FP16 or sums in FP32.
    public var accumulation: Accumulation = .fp32
    /// INT8 plans: calibrated activation ranges of the FP32 model. Without them an
    /// INT8 plan has memory figures but cannot run.
    public var calibration: CalibrationRanges?
    /// INT8 plans: quantization-aware scaling of the updates (off only for comparisons).
    public var qas = true
    /// FP16 plans: keep an FP32 master copy of every trainable parameter in SRAM
    /// (4 bytes per trained element) so that updates smaller than an FP16 step accumulate.
    public var masterWeights = false

    public init() {}
}

/// The most kernel cores (up to `limit`) whose scratch fits the plan's: a plan
/// compiled for N cores runs on any number up to N.
public func maxCores(of plan: TrainingPlan, upTo limit: Int) -> Int {
    var best = 1
    for n in 1...max(limit, 1) where scratchBytes(plan.graph, cores: n, precision: plan.memory.precision) <= plan.memory.scratchSize { best = n }
    return best
}

/// Compiles `model` into a training plan: resolves the spec, derives the
/// training graph, plans memory (scratch sized by the kernels for `cores`),
/// and checks the budget.
/// - Throws: `AutodiffError` for a spec or model that cannot train, `BudgetError` when over budget.
public func compilePlan(_ model: Model, options: CompileOptions) throws -> TrainingPlan {
    if options.precision == .int8, options.optimizer != .plainSGD {
        throw RuntimeError.invalidOption("int8 plans train with plain SGD (QAS updates: no momentum, no weight decay), not \(options.optimizer.name)")
    }
    if options.masterWeights, options.precision != .fp16 {
        throw RuntimeError.invalidOption("master weights apply to fp16 plans; a \(options.precision.rawValue) plan updates its parameters directly")
    }
    let layers: [LayerPlan]
    do { layers = try options.spec.resolve(model) } catch { throw AutodiffError.spec(error) }
    let training = try deriveTrainingGraph(model, spec: options.spec, optimizer: options.optimizer,
                                           reorderUpdates: options.reorderUpdates, masterWeights: options.masterWeights)
    let g = training.graph
    var pinned = Set([g.prediction, g.loss].compactMap { $0 })
    if options.gradientAccumulation { pinned.formUnion(training.gradients.values) }
    let scratch = scratchBytes(g, cores: options.cores, precision: options.precision)
    // FP16 gradients are checked for overflow before their update, so they are stored.
    let fuse = options.fuseUpdates && options.reorderUpdates && !options.gradientAccumulation && options.precision != .fp16
    let memory = planMemory(g, options: PlannerOptions(pinned: pinned, frozenInFlash: options.frozenInFlash,
                                                       inPlace: options.inPlace, scratchBytes: scratch, fuseUpdates: fuse,
                                                       precision: options.precision))
    if let budget = options.budget { try checkBudget(memory, graph: g, budget: budget) }
    var quantization: PlanQuantization?
    if options.precision == .int8, let calibration = options.calibration {
        quantization = try quantizePlan(training, dtypes: memory.dtypes, model: model, calibration: calibration, qas: options.qas)
    }
    return TrainingPlan(modelName: model.name, training: training, memory: memory, layers: layers, budget: options.budget,
                        reorderUpdates: options.reorderUpdates, gradientAccumulation: options.gradientAccumulation,
                        accumulation: options.precision == .fp16 ? options.accumulation : .fp32, quantization: quantization)
}
