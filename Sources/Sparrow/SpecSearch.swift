import Foundation

/// Finds a sparse-update spec that fits an SRAM budget and gains the most accuracy.
///
/// 1. **Contribution analysis.** Short fine-tuning runs from the given weights:
///    the classifier alone (the baseline), then the classifier plus the biases of
///    the last k layers for several k, then the classifier plus the weights of one
///    candidate layer at each ratio. Each run's validation accuracy minus the
///    baseline's is that choice's contribution.
/// 2. **Evolutionary search.** A spec is a bias depth and a ratio (or none) per
///    candidate layer. Its score is the sum of its contributions (the additive
///    estimate of the published method); its memory is the *real* planner's peak
///    for the compiled plan, so layout, in-place reuse and scratch all count.
///    Specs over budget are discarded. Seeded, so the same inputs give the same spec.
/// 3. **Check.** The best spec is fine-tuned once more with the same short run
///    and its measured accuracy reported next to the estimate.
///
/// Every fine-tuning run starts from `model`'s weights and trains with the native
/// `Trainer` on the host (batch 1, one epoch, constant learning rate, no
/// augmentation); nothing is written to disk.
public struct SpecSearch {
    /// The search's budget, training settings and search space.
    public struct Options: Sendable {
        /// SRAM budget in bytes (KB = 1024 bytes) for the compiled plan's peak
        /// (`MemoryPlan.peakSRAM`); default 256 KB.
        public var budget: Int = 256 * 1024
        /// The optimizer of every compiled plan and fine-tuning run.
        public var optimizer: Optimizer = .plainSGD
        /// The constant learning rate of the fine-tuning runs.
        public var learningRate: Float = 0.01
        /// Training samples per fine-tuning run (batch 1, one sample per step as on a
        /// device): the first `steps` samples of the training set, in a seeded shuffled order.
        public var steps: Int = 600
        /// Validation samples per evaluation: the first `validation` samples of the validation set.
        public var validation: Int = 500
        /// Conv/linear layers (before the classifier) considered for weight updates, counted from the end.
        public var candidateLayers: Int = 6
        /// The depths k tried for "biases of the last k layers" (depths beyond the model's
        /// conv/linear layer count are dropped); a spec may also train no biases.
        public var biasDepths: [Int] = [2, 4, 8, 12, 16]
        /// The channel ratios tried for each candidate layer's weights.
        public var ratios: [Ratio] = [Ratio(1, 8)!, Ratio(1, 4)!, Ratio(1, 2)!, .one]
        /// Specs per generation of the evolutionary search.
        public var population = 40
        /// Generations of the evolutionary search.
        public var generations = 40
        /// Seed of the evolutionary search and of every fine-tuning run's sample order.
        public var seed: UInt64 = 0
        /// The defaults above.
        public init() {}
    }

    /// One measured fine-tuning run.
    public struct Trial: Codable, Hashable, Sendable {
        /// What the run trained, e.g. `classifier only`, `bias of last 4`, `conv5 weights 1/2`.
        public var label: String
        /// Validation accuracy after the run, a fraction in [0, 1].
        public var accuracy: Double
        /// Accuracy minus the classifier-only baseline.
        public var gain: Double
        /// Peak SRAM in bytes of the plan the run trained with.
        public var peakSRAM: Int
    }

    /// What the search measured and chose.
    public struct Result: Codable, Sendable {
        /// The classifier-only run (gain 0).
        public var baseline: Trial
        /// The contribution runs: each bias depth, then each candidate layer at each ratio.
        public var trials: [Trial]
        /// The chosen spec in the spec-file format (docs/update-spec.md), ending in a newline.
        public var specJSON: String
        /// The chosen spec resolved against the model: `layer: update` for every layer that trains.
        public var specSummary: [String]
        /// The chosen spec's score: the sum of its choices' measured contributions.
        public var estimatedGain: Double
        /// The check: the chosen spec fine-tuned once more, with its gain over the baseline.
        public var measured: Trial
        /// Distinct specs compiled by the planner during the evolutionary search.
        public var evaluatedSpecs: Int
        /// The budget searched under, in bytes.
        public var budget: Int
    }

    /// The model to fine-tune; its weights are the starting point of every run and are not changed.
    public let model: Model
    /// The fine-tuning data; the first ``Options/steps`` samples are used.
    public let train: Dataset
    /// The data accuracy is measured on; the first ``Options/validation`` samples are used.
    public let validation: Dataset
    /// The search's settings.
    public let options: Options

    /// Prepares a search; nothing runs until ``run(progress:)``.
    public init(model: Model, train: Dataset, validation: Dataset, options: Options) {
        self.model = model
        self.train = train
        self.validation = validation
        self.options = options
    }

    /// A candidate: bias depth and a ratio index per candidate layer (nil = frozen weights).
    struct Genome: Hashable {
        var biasDepth: Int
        var ratios: [Int?]
    }

    /// No spec, not even the classifier alone, fits the budget.
    public struct NothingFits: Error, CustomStringConvertible {
        /// Peak SRAM in bytes of the classifier-only plan.
        public var smallest: Int
        /// The budget in bytes.
        public var budget: Int
        /// A one-line message with both sizes in KB and the fix (raise `--budget`).
        public var description: String {
            "no update spec fits \(kilobytes(budget)): training only the classifier already needs \(kilobytes(smallest)) of SRAM; raise --budget"
        }
    }

    /// Runs the search: contribution runs, evolutionary search, check.
    ///
    /// Takes 2 + (bias depths kept) + (candidate layers × ratios) fine-tuning runs (the
    /// baseline, the contributions and the check) plus one plan compilation per distinct
    /// spec the evolution visits. Deterministic for the same inputs and ``Options/seed``.
    ///
    /// - Parameter progress: Called before each fine-tuning run with (runs done, runs
    ///   in all, the run's label), and with (total, total, `done`) at the end.
    /// - Returns: The trials, the chosen spec and its measured accuracy.
    /// - Throws: ``NothingFits`` when the classifier-only plan exceeds the budget;
    ///   `SpecError`, `AutodiffError` or `RuntimeError` when the model cannot be
    ///   compiled or trained (e.g. a ratio below 1 on a grouped conv, or a dataset that
    ///   does not match the model).
    public func run(progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Result {
        var check = CompileOptions()
        check.spec = .classifierOnly
        check.optimizer = options.optimizer
        let smallest = try compilePlan(model, options: check).memory.peakSRAM
        guard smallest <= options.budget else { throw NothingFits(smallest: smallest, budget: options.budget) }
        let layers = try UpdateSpec.full.resolve(model).map(\.layer)
        let candidates = Array(layers.dropLast().suffix(options.candidateLayers))
        let depths = options.biasDepths.filter { $0 <= layers.count }
        let total = 2 + depths.count + candidates.count * options.ratios.count
        var done = 0
        func measure(_ label: String, _ spec: UpdateSpec) throws -> Trial {
            progress(done, total, label)
            defer { done += 1 }
            return try fineTune(label, spec)
        }
        var baseline = try measure("classifier only", .classifierOnly)
        baseline.gain = 0
        var trials: [Trial] = []
        var biasGain = [Int: Double]()
        for k in depths {
            let t = try measure("bias of last \(k)", UpdateSpec([.lastLayers(k, .bias), .lastLayers(1, .allWeights)]))
            biasGain[k] = t.accuracy - baseline.accuracy
            trials.append(Trial(label: t.label, accuracy: t.accuracy, gain: t.accuracy - baseline.accuracy, peakSRAM: t.peakSRAM))
        }
        var weightGain = Array(repeating: Array(repeating: 0.0, count: options.ratios.count), count: candidates.count)
        for (i, layer) in candidates.enumerated() {
            for (r, ratio) in options.ratios.enumerated() {
                let t = try measure("\(layer) weights \(ratio)", UpdateSpec([.layer(layer, .weights(ratio)), .lastLayers(1, .allWeights)]))
                weightGain[i][r] = t.accuracy - baseline.accuracy
                trials.append(Trial(label: t.label, accuracy: t.accuracy, gain: weightGain[i][r], peakSRAM: t.peakSRAM))
            }
        }

        // Evolutionary search with the real planner as the memory constraint.
        var rng = SeededGenerator(seed: options.seed)
        var peaks = [Genome: Int]()
        var evaluated = 0
        func spec(_ g: Genome) -> UpdateSpec {
            var rules: [UpdateSpec.Rule] = g.biasDepth > 0 ? [.lastLayers(g.biasDepth, .bias)] : []
            for (i, r) in g.ratios.enumerated() { if let r { rules.append(.layer(candidates[i], .weights(options.ratios[r]))) } }
            rules.append(.lastLayers(1, .allWeights))
            return UpdateSpec(rules)
        }
        func score(_ g: Genome) -> Double {
            var total = biasGain[g.biasDepth] ?? 0
            for (i, r) in g.ratios.enumerated() {
                if let r { total += weightGain[i][r] }
            }
            return total
        }
        func peak(_ g: Genome) -> Int {
            if let p = peaks[g] { return p }
            evaluated += 1
            var c = CompileOptions()
            c.spec = spec(g)
            c.optimizer = options.optimizer
            let p = (try? compilePlan(model, options: c).memory.peakSRAM) ?? Int.max
            peaks[g] = p
            return p
        }
        func fits(_ g: Genome) -> Bool { peak(g) <= options.budget }
        func random() -> Genome {
            Genome(biasDepth: ([0] + depths)[rng.nextInt(below: depths.count + 1)],
                   ratios: candidates.map { _ in rng.nextInt(below: 2) == 0 ? nil : rng.nextInt(below: options.ratios.count) })
        }
        func mutate(_ g: Genome) -> Genome {
            var m = g
            if rng.nextInt(below: 3) == 0 { m.biasDepth = ([0] + depths)[rng.nextInt(below: depths.count + 1)] }
            let i = rng.nextInt(below: max(candidates.count, 1))
            if i < m.ratios.count { m.ratios[i] = rng.nextInt(below: 3) == 0 ? nil : rng.nextInt(below: options.ratios.count) }
            return m
        }
        func crossover(_ a: Genome, _ b: Genome) -> Genome {
            Genome(biasDepth: rng.nextInt(below: 2) == 0 ? a.biasDepth : b.biasDepth,
                   ratios: zip(a.ratios, b.ratios).map { rng.nextInt(below: 2) == 0 ? $0 : $1 })
        }
        var population = [Genome(biasDepth: 0, ratios: candidates.map { _ in nil })]
        while population.count < options.population { let g = random(); if fits(g) { population.append(g) } else { population.append(mutate(population[0])) } }
        for _ in 0..<options.generations {
            population = population.filter(fits).sorted { score($0) > score($1) }
            let parents = Array(population.prefix(max(options.population / 4, 2)))
            var next = parents
            while next.count < options.population {
                let a = parents[rng.nextInt(below: parents.count)], b = parents[rng.nextInt(below: parents.count)]
                let child = rng.nextInt(below: 2) == 0 ? mutate(crossover(a, b)) : mutate(a)
                if fits(child) { next.append(child) }
                else if rng.nextInt(below: 4) == 0 { next.append(parents[0]) }
            }
            population = next
        }
        let best = population.filter(fits).max { score($0) < score($1) } ?? population[0]
        let chosen = spec(best)
        progress(done, total, "checking the chosen spec")
        let measured = try fineTune("chosen spec", chosen)
        progress(total, total, "done")
        return Result(
            baseline: baseline, trials: trials, specJSON: specFile(best, candidates: candidates),
            specSummary: try chosen.resolve(model).filter { $0.update != .frozen }.map { "\($0.layer): \($0.update.description)" },
            estimatedGain: score(best), measured: Trial(label: measured.label, accuracy: measured.accuracy,
                                                        gain: measured.accuracy - baseline.accuracy, peakSRAM: measured.peakSRAM),
            evaluatedSpecs: evaluated, budget: options.budget)
    }

    /// Fine-tunes a fresh copy of the model with `spec` (batch 1) and returns the validation accuracy and plan peak.
    private func fineTune(_ label: String, _ spec: UpdateSpec) throws -> Trial {
        var o = TrainingOptions()
        o.spec = spec
        o.optimizer = options.optimizer
        o.batchSize = 1
        o.epochs = 1
        o.learningRate = options.learningRate
        o.schedule = .constant
        o.seed = options.seed
        let trainer = try Trainer(model: model, options: o)
        let part = train.subset(0..<min(options.steps, train.count))
        _ = try trainer.trainEpoch(0, on: part)
        let e = trainer.evaluate(validation.subset(0..<min(options.validation, validation.count)))
        return Trial(label: label, accuracy: e.accuracy, gain: 0, peakSRAM: trainer.arenaBytes)
    }

    private func specFile(_ g: Genome, candidates: [String]) -> String {
        var o: [String: JSONValue] = ["format": .string(UpdateSpec.fileFormat), "version": .int(1), "last_layers": .int(1)]
        if g.biasDepth > 0 { o["bias_last_layers"] = .int(g.biasDepth) }
        var layers: [String: JSONValue] = [:]
        for (i, r) in g.ratios.enumerated() { if let r { layers[candidates[i]] = .string("weights \(options.ratios[r])") } }
        if !layers.isEmpty { o["layers"] = .object(layers) }
        return JSONValue.object(o).serialized(pretty: true) + "\n"
    }
}
