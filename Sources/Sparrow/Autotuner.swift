import Foundation

/// What the autotuner measured and chose.
public struct TuningResult: Sendable {
    /// The plan with its `tuning` section.
    public var plan: TrainingPlan
    /// Cycles of each plan step (by node) under each variant, one emulated step each.
    public var cycles: [[NodeID: Double]]
    /// Cycles of a training step with variant 0 everywhere, and with the chosen variants (measured).
    public var baselineCycles: Double
    public var tunedCycles: Double
}

/// The autotuner: runs one training step of `plan` in the emulator once per kernel
/// variant (`kernelVariantCount`), every call in that variant, takes each plan
/// step's cycles from the profile, and records for each step the variant that ran
/// it fastest (ties: the lower variant; variant 0 unless another is more than
/// `minimumGain` faster) in `plan.tuning`. Every candidate's losses
/// and trained state must equal variant 0's bit for bit (variants change speed
/// only); one that differs is a kernel bug and stops the tuning. The tuned plan is
/// emulated once more to report what it measures.
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
