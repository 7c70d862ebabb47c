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
    /// never stored (only with reordered updates and without gradient accumulation).
    public var fuseUpdates = true
    /// Storage format of the plan. The native runtime executes FP32 plans; FP16 and
    /// INT8 plans are planned (memory, flash) ahead of their kernels.
    public var precision: Precision = .fp32

    public init() {}
}

/// Compiles `model` into a training plan: resolves the spec, derives the
/// training graph, plans memory (scratch sized by the kernels for `cores`),
/// and checks the budget.
/// - Throws: `AutodiffError` for a spec or model that cannot train, `BudgetError` when over budget.
public func compilePlan(_ model: Model, options: CompileOptions) throws -> TrainingPlan {
    let layers: [LayerPlan]
    do { layers = try options.spec.resolve(model) } catch { throw AutodiffError.spec(error) }
    let training = try deriveTrainingGraph(model, spec: options.spec, optimizer: options.optimizer,
                                           reorderUpdates: options.reorderUpdates)
    let g = training.graph
    var pinned = Set([g.prediction, g.loss].compactMap { $0 })
    if options.gradientAccumulation { pinned.formUnion(training.gradients.values) }
    let scratch = g.ids.map { scratchFloats(g[$0], in: g, cores: options.cores) }.max() ?? 0
    let fuse = options.fuseUpdates && options.reorderUpdates && !options.gradientAccumulation
    let memory = planMemory(g, options: PlannerOptions(pinned: pinned, frozenInFlash: options.frozenInFlash,
                                                       inPlace: options.inPlace, scratchBytes: scratch * 4, fuseUpdates: fuse,
                                                       precision: options.precision))
    if let budget = options.budget { try checkBudget(memory, graph: g, budget: budget) }
    return TrainingPlan(modelName: model.name, training: training, memory: memory, layers: layers, budget: options.budget,
                        reorderUpdates: options.reorderUpdates, gradientAccumulation: options.gradientAccumulation)
}
