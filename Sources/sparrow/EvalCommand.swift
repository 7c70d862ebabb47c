import Foundation
import Sparrow

/// `sparrow eval`: loss, accuracy and confusion matrix on the test part of a dataset.
struct EvalCommand: Command {
    static let name = "eval"
    static let summary = "Evaluate a model on the test part of an IDX dataset: loss, accuracy, per-class recall, confusion matrix."
    static let usage = "sparrow eval --model cnn-small|FILE.json --weights FILE [--data DIR] [--json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Weights (safetensors) to evaluate."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset directory.", defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "limit", valueName: "N", help: "Use only the first N test samples."),
        OptionSpec(name: "json", valueName: nil, help: "Print the evaluation as JSON."),
    ]

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        let limit = try args.positiveInt("limit")
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let dataDir = args.string("data").map { URL(fileURLWithPath: $0) } ?? Resources.fashionMNIST
        let test = try Resources.loadIDXDirectory(dataDir, limitTrain: 1, limitTest: limit).test
        var options = TrainingOptions()
        options.batchSize = 1
        let trainer = try Trainer(model: model, options: options)
        try trainer.check(test)
        if args.string("weights") == nil { note("warning: no --weights given; evaluating the seeded initialisation") }
        let e = trainer.evaluate(test)
        if args.has("json") { try printJSON(e); return }
        print("\(model.name) on \(test.name): \(e.samples) samples, accuracy \(percent(e.accuracy)), mean loss \(format(e.loss))")
        let names = test.classNames ?? (0..<e.confusion.count).map(String.init)
        var t = Table(["class", "recall"] + names.indices.map { "→\($0)" })
        for (c, row) in e.confusion.enumerated() {
            t.add(["\(c) \(c < names.count ? names[c] : "")", e.recall[c].map(percent) ?? "-"] + row.map(String.init))
        }
        print(t.render())
    }
}
