import Foundation
import Sparrow

/// `sparrow search`: find the sparse-update spec that fits the budget and gains the most accuracy.
struct SearchCommand: Command {
    static let name = "search"
    static let summary = "Search for the update spec that fits an SRAM budget and gains the most accuracy (contribution analysis + evolutionary search on the real planner)."
    static let usage = "sparrow search [--model M] [--weights W] [--data DIR] [--budget 256KB] [--out spec.json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Pretrained weights to fine-tune from (default for cnn-small: models/cnn-small.safetensors)."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset directory (its training part is split into fine-tuning and validation samples).",
                   defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "budget", valueName: "SIZE", help: "SRAM budget (KB = 1024 bytes).", defaultValue: "256KB"),
        OptionSpec(name: "optimizer", valueName: "NAME", help: "sgd, momentum or adam.", defaultValue: "sgd"),
        OptionSpec(name: "lr", valueName: "RATE", help: "Learning rate of the fine-tuning runs.", defaultValue: "0.01"),
        OptionSpec(name: "steps", valueName: "N", help: "Samples (batch-1 steps) per fine-tuning run.", defaultValue: "600"),
        OptionSpec(name: "seed", valueName: "N", help: "Seed of the search.", defaultValue: "0"),
        OptionSpec(name: "out", valueName: "FILE", help: "Write the chosen spec as a spec file."),
        OptionSpec(name: "json", valueName: nil, help: "Print the search result as JSON."),
    ]

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        try Resources.checkDestination(args.string("out"), option: "out")
        var o = SpecSearch.Options()
        o.budget = try PlanFlags.budget(args) ?? Int.max
        o.optimizer = try PlanFlags.optimizer(args)
        o.learningRate = try args.float("lr") ?? o.learningRate
        guard o.learningRate > 0 else { throw UsageError("--lr must be positive, got \(o.learningRate)") }
        o.steps = try args.positiveInt("steps") ?? o.steps
        guard let seed = UInt64(args.string("seed") ?? "0") else { throw UsageError("--seed must be a non-negative integer") }
        o.seed = seed
        let name = args.string("model") ?? "cnn-small"
        let weights = args.string("weights") ?? (name == "cnn-small" ? Resources.root.appendingPathComponent("models/cnn-small.safetensors").path : nil)
        let model = try Resources.loadModel(name, weights: weights, seed: 0)
        let dir = args.string("data").map { URL(fileURLWithPath: $0) } ?? Resources.fashionMNIST
        let data = try Resources.loadIDXDirectory(dir, limitTrain: nil, limitTest: 1).train
        try Trainer(model: model, options: TrainingOptions()).check(data)
        let parts = try data.split(validationFraction: 0.2, seed: seed)
        let search = SpecSearch(model: model, train: parts.train, validation: parts.validation, options: o)
        var bar = ProgressBar(title: "search", total: 1)
        let start = Date()
        let result = try search.run { done, total, label in
            if bar.total != total { bar = ProgressBar(title: "search", total: total) }
            bar.update(done, status: label)
        }
        bar.finish()
        if let out = args.string("out") { try AtomicFile.write(Data(result.specJSON.utf8), to: URL(fileURLWithPath: out)) }
        if args.has("json") { try printJSON(result); return }
        print("baseline (classifier only): validation accuracy \(percent(result.baseline.accuracy))")
        var t = Table(["fine-tuning run", "accuracy", "gain", "peak SRAM"])
        for trial in result.trials { t.add([trial.label, percent(trial.accuracy), String(format: "%+.2f", trial.gain * 100), kilobytes(trial.peakSRAM)]) }
        print(t.render())
        print("\nchosen spec (\(result.evaluatedSpecs) specs planned, budget \(kilobytes(result.budget))):")
        for line in result.specSummary { print("  \(line)") }
        print(String(format: "estimated gain %+.2f points; measured: accuracy %@ (%+.2f), peak SRAM %@; %.0f s",
                     result.estimatedGain * 100, percent(result.measured.accuracy), result.measured.gain * 100,
                     kilobytes(result.measured.peakSRAM), Date().timeIntervalSince(start)))
        if let out = args.string("out") { print("spec written to \(out); compile it with: sparrow compile --model \(name) --spec \(out)") }
    }
}
