import Foundation
import Sparrow

/// `sparrow export`: a compiled plan → a standalone C project.
struct ExportCommand: Command {
    static let name = "export"
    static let summary = "Write a compiled plan as a standalone C project (kernels, generated model.c, host harness, Makefile) that trains bit-identically to the native runtime."
    static let usage = "sparrow export --plan plan.json [--model M] [--weights W] -o DIR [--target T|none] [--no-build] [--cores N] [--lr RATE] [--samples N [--data DIR]]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "plan", valueName: "FILE", help: "The plan (sparrow compile --out; batch 1)."),
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON the plan was compiled for.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Initial weights (safetensors); default: seeded initialisation."),
        OptionSpec(name: "out", valueName: "DIR", help: "Output folder, also -o (created; an earlier export there is replaced)."),
        OptionSpec(name: "cores", valueName: "N", help: "Cores the fork-join shim splits each kernel call over (at most the cores the plan was compiled for: sparrow compile --cores).", defaultValue: "1"),
        OptionSpec(name: "lr", valueName: "RATE", help: "Learning rate set by sparrow_init.", defaultValue: "0.01"),
        OptionSpec(name: "samples", valueName: "N", help: "Also write DIR/samples.bin with the first N training samples of --data for the host harness."),
        OptionSpec(name: "data", valueName: "DIR", help: "IDX dataset for --samples.", defaultValue: "datasets/fashion-mnist"),
        OptionSpec(name: "target", valueName: "NAME", help: "MCU of the rv32 build (targets/NAME.json or a target file): its ISA, flash, L2 and L1; 'none' writes the host project only.", defaultValue: Target.defaultName),
        OptionSpec(name: "no-build", valueName: nil, help: "Only write the project; do not build the rv32 image or report its sizes."),
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
        try Resources.checkPlan(plan, file: planFile, matches: model)
        var options = ExportOptions()
        options.cores = try args.positiveInt("cores") ?? 1
        let possible = maxCores(of: plan, upTo: 64)
        guard options.cores <= possible else {
            throw UsageError("--cores \(options.cores): the plan's kernel scratch allows at most \(possible) core(s) (compile it with --cores \(options.cores))")
        }
        options.learningRate = try args.float("lr") ?? 0.01
        options.kernelSources = Resources.root.appendingPathComponent("Sources/CSparrowKernels")
        let targetName = args.string("target") ?? Target.defaultName
        options.target = targetName == "none" ? nil : try Resources.target(targetName)
        // The samples are read before anything is written, so a bad --data leaves no project behind.
        var samplesFile: Data?
        if let n = try args.positiveInt("samples") {
            let dataDir = args.string("data").map { URL(fileURLWithPath: $0) } ?? Resources.fashionMNIST
            let data = try Resources.loadIDXDirectory(dataDir, limitTrain: n, limitTest: 1).train
            samplesFile = HarnessFiles.samples((0..<data.count).map { Array(data.sample(at: $0)) }, labels: Array(data.labels.prefix(data.count)))
        }
        let dir = URL(fileURLWithPath: out)
        let summary: ExportSummary
        do { summary = try exportProject(plan, model: model, to: dir, options: options) } catch { throw UsageError(error.description) }
        if let samplesFile { try AtomicFile.write(samplesFile, to: dir.appendingPathComponent("samples.bin")) }
        print("exported \(plan.modelName) (\(plan.memory.precision.rawValue)) to \(dir.path): \(summary.files.count) files, "
              + "arena \(grouped(summary.arenaBytes)) B, flash \(grouped(summary.flashBytes)) B, \(summary.calls) kernel calls per step")
        if let t = options.target, !args.has("no-build") {
            guard let clang = toolchainClang() else {
                note("no clang beside swift on PATH: skipped the rv32 build (make -C \(dir.path) rv32 RV32_CC=clang)")
                return
            }
            let sizes: ImageSizes
            do { sizes = try buildRV32(dir, compiler: clang) } catch { throw UsageError(error.description) }
            var table = Table(["rv32 image (\(t.name))", "bytes", "region", "of"])
            table.add([".text (code)", grouped(sizes.text), "flash", ""])
            table.add([".rodata (weights, tables, samples)", grouped(sizes.rodata), "flash", ""])
            table.add([".data", grouped(sizes.data), "L1 (+ flash)", ""])
            table.add([".bss", grouped(sizes.bss), "L1", ""])
            table.add(["stacks (\(t.cores) cores)", grouped(sizes.stacks), "L1", ""])
            table.add(["arena", grouped(sizes.arena), "L2", ""])
            table.add(["flash total", grouped(sizes.flash), "flash", grouped(t.flash.bytes)])
            table.add(["L1 total", grouped(sizes.l1), "L1", grouped(t.l1.bytes)])
            table.add(["L2 total", grouped(sizes.arena), "L2", grouped(t.l2.bytes)])
            print(table.render())
            print("rv32 image: \(dir.appendingPathComponent("sparrow.elf").path)")
        }
        print("build and run on the host:  make -C \(dir.path) host && \(dir.path)/train \(dir.path)/samples.bin 100 trained.bin")
    }
}
