import Foundation
import Sparrow

/// `sparrow export`: a compiled plan → a standalone C project.
struct ExportCommand: Command {
    static let name = "export"
    static let summary = "Write a compiled plan as a standalone C project (kernels, generated model.c, host harness, Makefile) that trains bit-identically to the native runtime."
    static let usage = "sparrow export --plan plan.json [--model M] [--weights W] -o DIR [--cores N] [--lr RATE] [--samples N]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "plan", valueName: "FILE", help: "The plan (sparrow compile --out; batch 1)."),
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON the plan was compiled for.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Initial weights (safetensors); default: seeded initialisation."),
        OptionSpec(name: "out", valueName: "DIR", help: "Output folder, also -o (created; an earlier export there is replaced)."),
        OptionSpec(name: "cores", valueName: "N", help: "Cores the fork-join shim splits each kernel call over (at most the cores the plan was compiled for).", defaultValue: "1"),
        OptionSpec(name: "lr", valueName: "RATE", help: "Learning rate set by sparrow_init.", defaultValue: "0.01"),
        OptionSpec(name: "samples", valueName: "N", help: "Also write DIR/samples.bin with the first N training samples of --data for the host harness."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset for --samples.", defaultValue: "datasets/fashion-mnist"),
    ]
    static let details = """
        Then: make -C DIR host && DIR/train DIR/samples.bin 100 trained.bin
        Example:
          sparrow compile --weights models/cnn-small.safetensors --spec sparse --out plan.json
          sparrow export --plan plan.json --weights models/cnn-small.safetensors -o out/cnn-small-c --samples 64
        """

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        guard let planFile = args.string("plan") else { throw UsageError("--plan FILE is required (write one with sparrow compile --out)") }
        guard let out = args.string("out") else { throw UsageError("-o DIR is required: the folder to write the project to") }
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let plan = try TrainingPlan(contentsOf: URL(fileURLWithPath: planFile))
        guard plan.modelName == model.name else {
            throw UsageError("\(planFile) was compiled for model '\(plan.modelName)', not '\(model.name)'; pass the same --model")
        }
        var options = ExportOptions()
        options.cores = try args.int("cores") ?? 1
        options.learningRate = try args.float("lr") ?? 0.01
        options.kernelSources = Resources.root.appendingPathComponent("Sources/CSparrowKernels")
        let dir = URL(fileURLWithPath: out)
        let summary: ExportSummary
        do { summary = try exportProject(plan, model: model, to: dir, options: options) } catch { throw UsageError(error.description) }
        if let n = try args.int("samples") {
            guard n >= 1 else { throw UsageError("--samples must be at least 1") }
            let dataDir = args.string("data").map { URL(fileURLWithPath: $0) } ?? Resources.fashionMNIST
            let data = try Resources.loadIDXDirectory(dataDir, limitTrain: n, limitTest: 1).train
            let file = HarnessFiles.samples((0..<data.count).map { Array(data.sample(at: $0)) }, labels: Array(data.labels.prefix(data.count)))
            try AtomicFile.write(file, to: dir.appendingPathComponent("samples.bin"))
        }
        print("exported \(plan.modelName) (\(plan.memory.precision.rawValue)) to \(dir.path): \(summary.files.count) files, "
              + "arena \(grouped(summary.arenaBytes)) B, flash \(grouped(summary.flashBytes)) B, \(summary.calls) kernel calls per step")
        print("build and run:  make -C \(dir.path) host && \(dir.path)/train \(dir.path)/samples.bin 100 trained.bin")
    }
}
