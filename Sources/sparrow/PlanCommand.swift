import Foundation
import Sparrow

/// `sparrow plan show FILE`: what a plan holds, as tables, JSON or a memory timeline.
struct PlanCommand: Command {
    static let name = "plan"
    static let summary = "Show a compiled plan: spec, memory figures, per-step live memory, per-tensor placement, SVG timeline."
    static let usage = "sparrow plan show plan.json [--steps] [--tensors] [--svg memory.svg] [--json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "steps", valueName: nil, help: "Print live SRAM at every schedule step."),
        OptionSpec(name: "tensors", valueName: nil, help: "Print every allocation: region, offset, bytes, lifetime."),
        OptionSpec(name: "svg", valueName: "FILE", help: "Write the memory timeline as SVG."),
        OptionSpec(name: "json", valueName: nil, help: "Print the plan report as JSON."),
    ]

    static let takesPositionalArguments = true

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) {
        guard let sub = args.positional.first else { throw UsageError("missing subcommand: sparrow plan show FILE") }
        guard sub == "show" else { throw UsageError("unknown plan subcommand '\(sub)'; use: sparrow plan show FILE") }
        guard args.positional.count == 2 else {
            throw UsageError(args.positional.count == 1 ? "plan show needs a plan file" : "plan show takes one plan file, got \(args.positional.count - 1)")
        }
        self.args = args
    }

    func run() throws {
        let file = args.positional[1]
        try Resources.checkDestination(args.string("svg"), option: "svg")
        let plan = try TrainingPlan(contentsOf: URL(fileURLWithPath: file))
        guard let report = try report(plan, args) else { return }
        if args.has("steps") {
            var t = Table(["step", "node", "phase", "live SRAM"])
            for (i, bytes) in report.liveBytesPerStep.enumerated() {
                t.add(["\(i)", plan.graph[i].name, plan.training.phase(of: i).rawValue, grouped(bytes)])
            }
            print("\nlive SRAM per step (kernel scratch of \(grouped(report.scratchBytes)) bytes not included):")
            print(t.render())
        }
        if args.has("tensors") {
            var t = Table(["tensor", "op", "phase", "region", "dtype", "offset", "bytes", "live"])
            for x in report.tensors {
                t.add([x.name, x.op, x.phase, x.region, x.dtype, grouped(x.offset), grouped(x.bytes), "\(x.firstStep)–\(x.lastStep)"])
            }
            print("\nallocations:")
            print(t.render())
        }
    }
}
