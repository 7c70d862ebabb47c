import Foundation
import Sparrow

/// `sparrow compile`: model + update spec → a training plan that fits the budget.
struct CompileCommand: Command {
    static let name = "compile"
    static let summary = "Compile a model and a sparse-update spec into a static training plan that fits an SRAM budget."
    static let usage = "sparrow compile [--model M] [--weights W] [--spec SPEC] [--budget 256KB] [--out plan.json] [--svg memory.svg]"
    static let specs: [OptionSpec] = PlanFlags.specs + [
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
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let options = try PlanFlags.compileOptions(args, model: model)
        let plan = try compilePlan(model, options: options)
        if let out = args.string("out") {
            try plan.write(to: URL(fileURLWithPath: out))
            note("plan written to \(out); fine-tune through it with: sparrow train --plan \(out) --model \(args.string("model") ?? "cnn-small")")
        }
        try report(plan, args)
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
