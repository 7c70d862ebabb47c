import Foundation
import Sparrow

/// `sparrow train`: full FP32 training on the host, with per-epoch evaluation and checkpoints.
struct TrainCommand: Command {
    static let name = "train"
    static let summary = "Train a model on an IDX dataset on the host (FP32, all parameters, or through a compiled FP32/FP16/INT8 plan), evaluating after every epoch."
    static let usage = "sparrow train [--model cnn-small|FILE.json] [--weights FILE] [--data DIR] [--out DIR] [options]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Initial weights (safetensors); default: seeded initialisation."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset directory.", defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "train-limit", valueName: "N", help: "Use only the first N training samples."),
        OptionSpec(name: "test-limit", valueName: "N", help: "Use only the first N test samples."),
        OptionSpec(name: "out", valueName: "DIR", help: "Write model.json, weights.safetensors and a checkpoint per epoch here."),
        OptionSpec(name: "plan", valueName: "FILE", help: "Fine-tune through a compiled plan (sparrow compile --out): batch 1, the plan's spec, optimizer and memory."),
        OptionSpec(name: "svg", valueName: "FILE", help: "Plot loss and accuracy per epoch to this SVG file (default with --out: DIR/training.svg)."),
        OptionSpec(name: "resume", valueName: "FILE", help: "Continue from a checkpoint written by --out (same model and options)."),
        OptionSpec(name: "target", valueName: "NAME", help: "With --plan: the MCU the run is priced on (cycles, time and energy of every step, from a profile the emulator measures once per plan and caches); 'none' to skip.", defaultValue: Target.defaultName),
        OptionSpec(name: "json", valueName: nil, help: "Print the training history as JSON on standard output."),
    ] + TrainingFlags.specs
    static let details = "Checkpoints are written atomically (temporary file, then rename): an interrupted run never leaves a half-written file."

    let args: Arguments
    let options: TrainingOptions

    init(_ args: Arguments) throws(UsageError) {
        self.args = args
        options = try TrainingFlags.options(args)
    }

    func run() throws {
        // Everything the run reads or writes is checked before the first epoch.
        try Resources.checkDestination(args.string("svg"), option: "svg")
        if let out = args.string("out") { try Self.checkOutputFolder(out) }
        let trainLimit = try args.positiveInt("train-limit"), testLimit = try args.positiveInt("test-limit")
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: options.seed)
        var options = options
        var plan: TrainingPlan?
        var target: Target?
        if let file = args.string("plan") {
            let p = try TrainingPlan(contentsOf: URL(fileURLWithPath: file))
            try Resources.checkPlan(p, file: file, matches: model)
            if args.string("target") != "none" { target = try Resources.target(args.string("target") ?? Target.defaultName) }
            // A device plan keeps no gradients across steps: one sample per update, as on the device.
            if !p.gradientAccumulation { options.batchSize = 1 }
            options.optimizer = p.training.optimizer
            plan = p
        }
        let dataDir = args.string("data").map { URL(fileURLWithPath: $0) } ?? Resources.fashionMNIST
        let data = try Resources.loadIDXDirectory(dataDir, limitTrain: trainLimit, limitTest: testLimit)
        let out = args.string("out").map { URL(fileURLWithPath: $0) }
        let resume = args.string("resume").map { URL(fileURLWithPath: $0) }
        let svg = args.string("svg").map { URL(fileURLWithPath: $0) } ?? out?.appendingPathComponent("training.svg")
        let history = try train(model, data: data, options: options, plan: plan, out: out, resume: resume, svg: svg, quiet: args.has("json"))
        if let plan, let target {
            try priceOnDevice(plan, model: model, on: target, steps: history.count * data.train.count)
        }
        if args.has("json") { try printJSON(history) }
    }

    /// `--out DIR` must be a folder or a path that does not exist yet.
    private static func checkOutputFolder(_ path: String) throws(UsageError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw UsageError("--out \(path): is a file, not a folder")
        }
    }

    /// What the run would cost on the target: each step's cycles and energy from the
    /// plan's cached profile (measured in the emulator the first time), times the steps.
    private func priceOnDevice(_ plan: TrainingPlan, model: Model, on target: Target, steps: Int) throws {
        guard !plan.gradientAccumulation, plan.memory.peakSRAM <= target.l2.bytes else {
            note("device estimate: the plan does not fit target '\(target.name)' (\(kilobytes(plan.memory.peakSRAM)) of SRAM, \(kilobytes(target.l2.bytes)) of L2); skipped")
            return
        }
        let cores = plan.tuning?.target == target.name ? plan.tuning!.cores : maxCores(of: plan, upTo: target.cores)
        let cache = ProfileCache(directory: Resources.root.appendingPathComponent(".build/sparrow-profiles"))
        var profile = cache.cached(plan, target: target, cores: cores)
        if profile == nil {
            guard let clang = toolchainClang() else { note("device estimate: no clang beside swift to build the rv32 image; skipped"); return }
            note("measuring one training step of the plan on \(target.name) (\(cores) cores) in the emulator (cached for later runs)…")
            let (samples, labels) = try Resources.samples(for: model, count: 1, data: nil)
            profile = try cache.profile(plan, model: model, sample: samples[0], label: labels[0], target: target, cores: cores, compiler: clang,
                                        elfCache: Resources.root.appendingPathComponent(".build/sparrow-emulate-cache"))
        }
        guard let p = profile, steps > 0 else { return }
        let seconds = p.milliseconds / 1e3 * Double(steps), joules = p.microjoules / 1e6 * Double(steps)
        note(String(format: "on %@ (%d cores, %.0f MHz): %@ cycles = %.3f ms and %.1f µJ per step (%.2f MAC/cycle); this run's %@ steps: %.1f s, %.3f J",
                    target.name, cores, Double(target.clockHz) / 1e6, grouped(Int(p.cycles.rounded())), p.milliseconds, p.microjoules,
                    p.macsPerCycle, grouped(steps), seconds, joules))
    }
}

/// Trains with a progress bar and an epoch table on standard error; returns the epoch reports.
func train(_ model: Model, data: (train: Dataset, test: Dataset), options: TrainingOptions, plan: TrainingPlan? = nil, out: URL?,
           resume: URL? = nil, svg: URL? = nil, quiet: Bool) throws -> [EpochReport] {
    let trainer = try plan.map { try Trainer(plan: $0, model: model, options: options) } ?? Trainer(model: model, options: options)
    try trainer.check(data.train)
    try trainer.check(data.test)
    let firstEpoch = try resume.map { try trainer.loadCheckpoint(from: $0) } ?? 0
    if let resume { note("resumed from \(resume.path) after epoch \(firstEpoch), optimizer step \(trainer.step)") }
    note("model \(model.name): \(grouped(model.parameterCount)) parameters, arena \(bytes(trainer.arenaBytes)); "
         + "\(data.train.count) training / \(data.test.count) test samples; \(options.optimizer.name) lr \(options.learningRate) "
         + "batch \(options.batchSize), \(options.epochs) epochs, seed \(options.seed)")
    var table = Table(["epoch", "train loss", "train acc", "test loss", "test acc", "lr", "samples/s", "time"])
    var reports: [EpochReport] = []
    var curve = TrainingCurve(title: model.name)
    for epoch in firstEpoch..<max(firstEpoch, options.epochs) {
        var bar = ProgressBar(title: "epoch \(epoch + 1)/\(options.epochs)", total: data.train.count)
        let r = try trainer.trainEpoch(epoch, on: data.train, test: data.test) { p in
            bar.update(p.samplesDone, status: "loss \(format(p.loss, 3)) acc \(percent(p.accuracy))")
            curve.record(p)
        }
        curve.record(r)
        bar.finish()
        reports.append(r)
        table.add(["\(epoch + 1)", format(r.trainLoss), percent(r.trainAccuracy), format(r.test?.loss ?? .nan),
                   percent(r.test?.accuracy ?? .nan), String(format: "%.2e", r.learningRate), String(format: "%.0f", r.samplesPerSecond),
                   String(format: "%.1fs", r.seconds)])
        if !quiet { note("epoch \(epoch + 1): test accuracy \(percent(r.test?.accuracy ?? 0)), loss \(format(r.test?.loss ?? 0))") }
        if let out {
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try trainer.saveCheckpoint(to: out.appendingPathComponent("checkpoint.safetensors"), epoch: epoch + 1)
        }
    }
    if !quiet { note(table.render()) }
    if let s = trainer.lossScaler {
        note("fp16 loss scaling: \(s.skippedSteps) of \(s.skippedSteps + s.appliedSteps) steps overflowed (their overflowing and later updates skipped); scale now \(Int(s.scale))")
    }
    if let svg {
        try AtomicFile.write(Data(curve.svg().utf8), to: svg)
        note("plot: \(svg.path)")
    }
    if let out {
        try ModelFile.save(trainer.model, architecture: out.appendingPathComponent("model.json"),
                           weights: out.appendingPathComponent("weights.safetensors"))
        note("saved \(out.appendingPathComponent("model.json").path) and weights.safetensors")
    }
    return reports
}
