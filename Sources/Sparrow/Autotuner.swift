import Foundation

/// What ``tuneKernels(_:model:samples:labels:target:cores:compiler:cache:objects:minimumGain:progress:)``
/// measured and chose.
public struct TuningResult: Sendable {
    /// The input plan with its `TrainingPlan.tuning` section set: the target's name,
    /// the core count, and the variant of every step whose best variant is not 0.
    public var plan: TrainingPlan
    /// Cycles of each plan step (keyed by node) under each variant: `cycles[v]` is
    /// the profile of one emulated training step with every kernel call in variant `v`.
    /// Only steps that run kernels appear.
    public var cycles: [[NodeID: Double]]
    /// Cycles of one training step's plan steps with variant 0 everywhere
    /// (the sum of `cycles[0]`; the harness is excluded).
    public var baselineCycles: Double
    /// Cycles of one training step's plan steps with the chosen variants, measured by
    /// emulating the tuned plan (``PlanProfile/cycles``; the harness is excluded).
    public var tunedCycles: Double
}

/// Chooses the fastest kernel variant of every plan step on a target by emulating them.
///
/// Runs one training step of `plan` (its existing tuning ignored) in the emulator once
/// per kernel variant (`kernelVariantCount` runs, at least one), every kernel call in
/// that variant, takes each plan step's cycles from the profile, and records for each
/// step the variant that ran it fastest in the returned plan's `TrainingPlan.tuning`
/// (ties go to the lower variant; a step leaves variant 0 only when another variant is
/// more than `minimumGain` faster). Every candidate's losses and trained state must
/// equal variant 0's bit for bit (variants change speed only); one that differs is a
/// kernel bug and stops the tuning. The tuned plan is emulated once more to report
/// what it measures and to check its results too. That is `kernelVariantCount + 1`
/// emulator runs in all, each building (or taking from `cache`) an rv32 image.
///
/// - Parameters:
///   - plan: The plan to tune; it must fit `target` (see `exportProject(_:model:to:options:)`).
///   - model: The model the plan was compiled from (architecture and initial weights).
///   - samples: Input samples, each with the model's input element count; only the
///     first is used (one step). Must not be empty.
///   - labels: One label per sample.
///   - target: The MCU to emulate; its name is recorded in the tuning.
///   - cores: Cores the kernels split over, at most `target.cores`.
///   - compiler: The clang that builds the rv32 image (name on `PATH` or a path).
///   - cache: A folder for built rv32 images (the `cache` of `emulatePlan`); nil
///     builds every image.
///   - objects: Compiled kernel objects shared between the builds; nil compiles them each time.
///   - minimumGain: Fraction of a step's variant-0 cycles another variant must save
///     to be chosen (0.01: more than 1 %). A variant its kernels ignore still shifts a
///     step's cycles a little (bank and DMA timing), so 0 would record noise.
///   - progress: Called with (emulator runs done, `kernelVariantCount + 1`) before each
///     run and once at the end.
/// - Returns: The tuned plan and the cycles measured.
/// - Throws: `ExportError.build` when a variant, or the tuned plan, gives other
///   losses or state than variant 0 (a kernel bug); otherwise whatever
///   ``emulatePlan(_:model:samples:labels:steps:target:cores:compiler:learningRate:instructionLimit:checkMemory:cache:objects:profile:kernelVariant:progress:)``
///   throws (`ExportError`, `LoadError`, `EmulatorFault`).
public func tuneKernels(_ plan: TrainingPlan, model: Model, samples: [[Float]], labels: [Int32], target: Target, cores: Int,
                        compiler: String, cache: URL? = nil, objects: KernelObjectCache? = nil, minimumGain: Double = 0.01,
                        progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> TuningResult {
    var untuned = plan
    untuned.tuning = nil
    let count = max(kernelVariantCount, 1)
    var cycles: [[NodeID: Double]] = []
    var reference: EmulationResult?
    for v in 0..<count {
        progress?(v, count + 1)
        let r = try emulatePlan(untuned, model: model, samples: samples, labels: labels, steps: 1, target: target, cores: cores,
                                compiler: compiler, cache: cache, objects: objects, profile: true, kernelVariant: v)
        if let reference, reference.losses.map(\.bitPattern) != r.losses.map(\.bitPattern) || reference.state != r.state {
            throw ExportError.build("kernel variant \(v) gives different results from variant 0 on \(plan.modelName): a kernel bug (variants must change speed only)")
        }
        reference = reference ?? r
        cycles.append(Dictionary(uniqueKeysWithValues: (r.profile?.entries ?? []).map { ($0.node, $0.cycles) }))
    }
    // A step leaves variant 0 only for a gain of more than `minimumGain`: a variant its
    // kernels ignore still shifts a step's cycles a little (bank and DMA timing).
    var variants: [NodeID: Int] = [:]
    for node in cycles[0].keys {
        let best = (0..<count).min { (cycles[$0][node] ?? .infinity, $0) < (cycles[$1][node] ?? .infinity, $1) } ?? 0
        if best != 0, let c = cycles[best][node], let c0 = cycles[0][node], c < c0 * (1 - minimumGain) { variants[node] = best }
    }
    var tuned = untuned
    tuned.tuning = KernelTuning(target: target.name, cores: cores, variants: variants)
    progress?(count, count + 1)
    let check = try emulatePlan(tuned, model: model, samples: samples, labels: labels, steps: 1, target: target, cores: cores,
                                compiler: compiler, cache: cache, objects: objects, profile: true)
    if let reference, reference.losses.map(\.bitPattern) != check.losses.map(\.bitPattern) || reference.state != check.state {
        throw ExportError.build("the tuned plan gives different results from variant 0 on \(plan.modelName): a kernel bug")
    }
    progress?(count + 1, count + 1)
    return TuningResult(plan: tuned, cycles: cycles, baselineCycles: cycles[0].values.reduce(0, +), tunedCycles: check.profile?.cycles ?? 0)
}
