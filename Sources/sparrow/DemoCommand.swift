import Foundation
import Sparrow

/// `sparrow demo`: the README's first command. For now: train the zoo CNN on the
/// shipped Fashion-MNIST subset and report its test accuracy.
struct DemoCommand: Command {
    static let name = "demo"
    static let summary = "Train the zoo CNN (cnn-small, ~22 K parameters) on the shipped Fashion-MNIST subset and report test accuracy."
    static let usage = "sparrow demo [--epochs N] [--out DIR] [--seed N]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "out", valueName: "DIR", help: "Where to save the trained model.", defaultValue: "out/demo"),
        OptionSpec(name: "json", valueName: nil, help: "Print the training history as JSON."),
    ] + TrainingFlags.specs

    let args: Arguments
    let options: TrainingOptions
    init(_ args: Arguments) throws(UsageError) {
        self.args = args
        options = try TrainingFlags.options(args)
    }

    func run() throws {
        let model = try ModelZoo.smallCNN(seed: options.seed)
        let data = try Resources.loadIDXDirectory(Resources.fashionMNIST, limitTrain: nil, limitTest: nil)
        note("Sparrow demo: training \(model.name) on Fashion-MNIST (\(data.train.count) training images, \(data.test.count) test images), "
             + "gradients from the compile-time training graph, FP32 C kernels.")
        let start = Date()
        let out = URL(fileURLWithPath: args.string("out") ?? "out/demo")
        let reports = try train(model, data: data, options: options, out: out, svg: out.appendingPathComponent("training.svg"),
                                quiet: args.has("json"))
        if args.has("json") { try printJSON(reports); return }
        let final = reports.last?.test
        print(String(format: "test accuracy after %d epochs: %.2f%% (%d test images), %.0f s",
                     reports.count, (final?.accuracy ?? 0) * 100, final?.samples ?? 0, Date().timeIntervalSince(start)))
        print("trained model: \(out.appendingPathComponent("model.json").path); evaluate it with:")
        print("  swift run -c release sparrow eval --model \(out.appendingPathComponent("model.json").path) --weights \(out.appendingPathComponent("weights.safetensors").path)")
    }
}
