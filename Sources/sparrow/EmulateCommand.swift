import Foundation
import Sparrow

/// `sparrow emulate`: a plan's exported rv32 image run in the multicore emulator.
struct EmulateCommand: Command {
    static let name = "emulate"
    static let summary = "Run a plan's exported C project, compiled for rv32, in Sparrow's emulator of the target cluster: loss per step, cycles, energy; --profile op by op."
    static let usage = "sparrow emulate --plan plan.json [--model M] [--weights W] [--target T] [--steps N] [--cores N] [--check] [--shadow] [--profile] [--svg FILE] [--json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "plan", valueName: "FILE", help: "The plan (sparrow compile --out; batch 1)."),
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON the plan was compiled for.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Initial weights (safetensors); default: seeded initialisation."),
        OptionSpec(name: "target", valueName: "NAME", help: "Target MCU (targets/NAME.json or a target file).", defaultValue: Target.defaultName),
        OptionSpec(name: "steps", valueName: "N", help: "Training steps, one sample each (the first N training images of --data; seeded noise for other input shapes).", defaultValue: "4"),
        OptionSpec(name: "cores", valueName: "N", help: "Cores to split kernels over (default: as many of the target's as the plan's scratch allows; compile with --cores N for more)."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset the samples come from.", defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "lr", valueName: "RATE", help: "Learning rate.", defaultValue: "0.01"),
        OptionSpec(name: "check", valueName: nil, help: "Also train natively and compare the parameters bit for bit."),
        OptionSpec(name: "shadow", valueName: nil, help: "Check every arena load against the plan (shadow map): slower; a violation stops the run naming the step and tensor."),
        OptionSpec(name: "profile", valueName: nil, help: "Print each plan step's cost: phase, MACs, cycles, MAC/cycle, energy, memory level of its operands."),
        OptionSpec(name: "svg", valueName: "FILE", help: "Write the profile as an SVG: cycles and energy per plan step, by phase (implies --profile)."),
        OptionSpec(name: "json", valueName: nil, help: "Print the figures (and the profile) as JSON."),
    ]
    static let details = """
        Needs the clang beside swift (it targets rv32). rv32 images are cached in .build/sparrow-emulate-cache by a digest of
        the exported project. Example:
          sparrow compile --weights models/cnn-small.safetensors --spec sparse --cores 8 --out plan.json
          sparrow emulate --plan plan.json --weights models/cnn-small.safetensors --steps 4 --check
        """

    struct Report: Codable {
        var model: String
        var precision: String
        var target: String
        var cores: Int
        var steps: Int
        var losses: [Float]
        var instructions: UInt64
        var instructionsPerCore: [UInt64]
        var seconds: Double
        var mips: Double
        var cycles: UInt64
        var milliseconds: Double
        var microjoules: Double
        var bitIdentical: Bool?
        var profile: PlanProfile?
    }

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        guard let planFile = args.string("plan") else { throw UsageError("--plan FILE is required (write one with sparrow compile --out)") }
        try Resources.checkDestination(args.string("svg"), option: "svg")
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let plan = try TrainingPlan(contentsOf: URL(fileURLWithPath: planFile))
        try Resources.checkPlan(plan, file: planFile, matches: model)
        let target = try Resources.target(args.string("target") ?? Target.defaultName)
        let steps = try args.int("steps") ?? 4
        guard steps >= 1, steps <= 100_000 else { throw UsageError("--steps must be in 1...100000") }
        let possible = maxCores(of: plan, upTo: target.cores)
        let cores = try args.int("cores") ?? possible
        guard cores >= 1, cores <= possible else {
            throw UsageError("--cores \(cores): the plan's kernel scratch allows at most \(possible) of the target's \(target.cores) cores (compile it with --cores \(cores))")
        }
        let lr = try args.float("lr") ?? 0.01
        let (samples, labels) = try Resources.samples(for: model, count: min(steps, 256),
                                                        data: args.string("data").map { URL(fileURLWithPath: $0) })
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the emulator runs code compiled by the toolchain's clang") }
        let profiling = args.has("profile") || args.has("svg")
        note("building \(plan.modelName) (\(plan.memory.precision.rawValue)) for \(target.name), \(cores) core(s)…")
        var bar = ProgressBar(title: "emulating", total: steps)
        let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: steps, target: target, cores: cores,
                                compiler: clang, learningRate: lr, checkMemory: args.has("shadow"),
                                cache: Resources.root.appendingPathComponent(".build/sparrow-emulate-cache"), profile: profiling) { done in
            bar.update(done, status: "step \(done)/\(steps)")
        }
        bar.finish()
        var identical: Bool?
        if args.has("check") {
            var o = TrainingOptions()
            o.batchSize = 1
            o.optimizer = plan.training.optimizer
            let trainer = try Trainer(plan: plan, model: model, options: o)
            let losses = trainer.trainSteps(steps, samples: samples, labels: labels, learningRate: lr)
            identical = losses.map(\.bitPattern) == r.losses.map(\.bitPattern)
                && plan.training.stateTensors.allSatisfy { r.state[plan.graph[$0].name] == trainer.storedBytes($0) }
        }
        let report = Report(model: plan.modelName, precision: plan.memory.precision.rawValue, target: target.name, cores: cores, steps: steps,
                            losses: r.losses, instructions: r.instructions, instructionsPerCore: r.instructionsPerCore, seconds: r.seconds,
                            mips: r.mips, cycles: r.cycles, milliseconds: Double(r.cycles) / Double(target.clockHz) * 1e3,
                            microjoules: r.counters.picojoules(target.energy) / 1e6, bitIdentical: identical, profile: r.profile)
        if let svg = args.string("svg"), let profile = r.profile {
            try AtomicFile.write(Data(profile.svg().utf8), to: URL(fileURLWithPath: svg))
            note("wrote \(svg)")
        }
        if args.has("json") { try printJSON(report); return }
        if let profile = r.profile { print(ProfileTable.render(profile)) }
        var t = Table(["step", "loss"])
        for (k, l) in r.losses.enumerated() { t.add(["\(k + 1)", String(format: "%.6f", l)]) }
        print(t.render())
        print("\(grouped(Int(r.instructions))) instructions on \(cores) core(s) (per core: \(r.instructionsPerCore.prefix(cores).map { grouped(Int($0)) }.joined(separator: ", "))), "
              + String(format: "%.2f s, %.1f million instructions per second", r.seconds, r.mips))
        print("\(grouped(Int(r.cycles))) cycles = " + String(format: "%.3f ms at %.0f MHz, %.2f µJ (start-up included)", report.milliseconds,
                                                                Double(target.clockHz) / 1e6, report.microjoules))
        if let identical {
            print(identical ? "parameters and losses bit-identical to the native runtime" : "DIFFERENT from the native runtime")
            if !identical { throw UsageError("the emulated run differs from the native runtime") }
        }
    }
}
