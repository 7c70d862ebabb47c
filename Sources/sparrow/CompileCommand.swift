import Foundation
import Sparrow

/// `sparrow compile`: model + update spec → a training plan that fits the budget.
struct CompileCommand: Command {
    static let name = "compile"
    static let summary = "Compile a model and a sparse-update spec into a static training plan that fits an SRAM budget."
    static let usage = "sparrow compile [--model M] [--weights W] [--spec SPEC] [--budget 256KB] [--tune [--target T]] [--out plan.json] [--svg memory.svg]"
    static let specs: [OptionSpec] = PlanFlags.specs + [
        OptionSpec(name: "tune", valueName: nil, help: "Autotune: emulate one training step per kernel variant on the target (--cores cores) and record each step's fastest variant in the plan (needs the clang beside swift)."),
        OptionSpec(name: "target", valueName: "NAME", help: "Target --tune measures on (targets/NAME.json or a target file).", defaultValue: Target.defaultName),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset of the sample --tune trains on.", defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "out", valueName: "FILE", help: "Write the plan (plan.json format, see docs/plan-format.md)."),
        OptionSpec(name: "svg", valueName: "FILE", help: "Write the memory timeline (SRAM over the schedule) as SVG."),
        OptionSpec(name: "json", valueName: nil, help: "Print the plan report as JSON."),
    ]
    static let details = """
        Over budget is an error (exit code 1) that lists the largest tensors alive at the peak.
        Examples:
          sparrow compile --model cnn-small --spec last:2 --optimizer sgd
          sparrow compile --model mobilenetv2-w0.35 --spec tte:12:-2@1/4,-5@1/8 --budget 256KB --svg mbv2.svg
        """

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        try Resources.checkDestination(args.string("out"), option: "out")
        try Resources.checkDestination(args.string("svg"), option: "svg")
        if (args.isGiven("target") || args.isGiven("data")) && !args.has("tune") { throw UsageError("--target and --data apply to --tune only") }
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let options = try PlanFlags.compileOptions(args, model: model)
        var plan = try compilePlan(model, options: options)
        if args.has("tune") { plan = try tune(plan, model: model, cores: options.cores) }
        if let out = args.string("out") {
            try plan.write(to: URL(fileURLWithPath: out))
            note("plan written to \(out); fine-tune through it with: sparrow train --plan \(out) --model \(args.string("model") ?? "cnn-small")")
        }
        try report(plan, args)
    }

    /// `--tune`: the autotuner's measurements, one table row per step it moved off variant 0.
    private func tune(_ plan: TrainingPlan, model: Model, cores: Int) throws -> TrainingPlan {
        let target = try Resources.target(args.string("target") ?? Target.defaultName)
        guard cores <= target.cores else { throw UsageError("--cores \(cores): target '\(target.name)' has \(target.cores) cores") }
        guard plan.memory.peakSRAM <= target.l2.bytes else {
            throw UsageError("--tune: the plan needs \(kilobytes(plan.memory.peakSRAM)) of SRAM; target '\(target.name)' has \(kilobytes(target.l2.bytes)) of L2")
        }
        guard let clang = toolchainClang() else { throw UsageError("--tune needs the clang beside swift on PATH (it builds the rv32 candidates)") }
        let (samples, labels) = try Resources.samples(for: model, count: 1, data: args.string("data").map { URL(fileURLWithPath: $0) })
        var bar = ProgressBar(title: "tuning", total: kernelVariantCount + 1)
        let r = try tuneKernels(plan, model: model, samples: samples, labels: labels, target: target, cores: cores, compiler: clang,
                                cache: Resources.root.appendingPathComponent(".build/sparrow-emulate-cache")) { done, total in
            bar.update(done, status: done < total - 1 ? "variant \(done)" : "checking the tuned plan")
        }
        bar.finish()
        let g = r.plan.graph
        var t = Table(["step", "name", "op"] + (0..<r.cycles.count).map { "variant \($0) cycles" } + ["chosen"])
        for (node, v) in (r.plan.tuning?.variants ?? [:]).sorted(by: { $0.key < $1.key }) {
            t.add(["\(node)", g[node].name, g[node].op.name] + r.cycles.map { grouped(Int(($0[node] ?? 0).rounded())) } + ["\(v)"])
        }
        print("autotuned for \(target.name), \(cores) core(s): steps not listed run variant 0")
        print(t.render())
        print(String(format: "training step: %@ cycles with variant 0, %@ tuned (%.2f× faster)", grouped(Int(r.baselineCycles)),
                     grouped(Int(r.tunedCycles)), r.baselineCycles / max(r.tunedCycles, 1)))
        return r.plan
    }
}

/// Writes the memory timeline if `--svg` asks for it, then prints the plan report as
/// JSON (`--json`) or as tables. Returns the report, or nil when it went out as JSON.
@discardableResult
func report(_ plan: TrainingPlan, _ args: Arguments) throws -> PlanReport? {
    if let svg = args.string("svg") {
        try AtomicFile.write(Data(MemoryTimeline.svg(plan).utf8), to: URL(fileURLWithPath: svg))
        note("memory timeline: \(svg)")
    }
    let r = PlanReport(plan)
    if args.has("json") {
        try printJSON(r)
        return nil
    }
    printSummary(r)
    return r
}

/// The human-readable plan report: spec per layer, memory figures, live set at the peak.
func printSummary(_ r: PlanReport) {
    var layers = Table(["layer", "update", "channels", "trainable params"])
    for l in r.layers where l.update != "frozen" {
        layers.add([l.layer, l.update, l.channels.map { "\($0)/\(l.channelCount)" } ?? "all", grouped(l.trainableParameters)])
    }
    let frozen = r.layers.filter { $0.update == "frozen" }.count
    print("plan for \(r.model) in \(r.precision): \(r.steps) steps, optimizer \(r.optimizer), updates \(r.reorderUpdates ? "right after each gradient" : "after the backward pass")")
    print(layers.render())
    if frozen > 0 { print("(\(frozen) more layers frozen)") }
    print("")
    var figures = Table(["figure", "bytes", ""])
    figures.add(["peak SRAM (arena)", grouped(r.peakSRAM), kilobytes(r.peakSRAM)])
    figures.add(["live-set lower bound", grouped(r.lowerBound), String(format: "gap %.1f%%", r.gap * 100)])
    figures.add(["kept all step", grouped(r.persistentBytes), kilobytes(r.persistentBytes)])
    figures.add(["kernel scratch", grouped(r.scratchBytes), kilobytes(r.scratchBytes)])
    figures.add(["flash (frozen weights)", grouped(r.flashBytes), kilobytes(r.flashBytes)])
    if let b = r.budget {
        figures.add(["budget", grouped(b), String(format: "%@, %.0f%% used", kilobytes(b), Double(r.peakSRAM) / Double(b) * 100)])
    }
    print(figures.render())
    print("\nlargest tensors alive at the peak (step '\(r.peakStep)'):")
    var live = Table(["tensor", "bytes"])
    for t in r.liveAtPeak.prefix(8) { live.add([t.name, grouped(t.bytes)]) }
    print(live.render())
}
