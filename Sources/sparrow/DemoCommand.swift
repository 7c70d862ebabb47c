import Foundation
import Sparrow

/// `sparrow demo`: the README's first command — on-device transfer learning in
/// 256 KB. The zoo CNN pretrained on Fashion-MNIST gets a fresh classifier and is
/// adapted to handwritten digits through sparse FP16 and INT8+QAS plans, one
/// sample per step as on the device; a few steps run in the emulator (bits and
/// cycles), the plan is exported as C, and a one-page report is written. Every
/// number printed is measured in the run.
struct DemoCommand: Command {
    static let name = "demo"
    static let summary = "On-device transfer learning in 256 KB: adapt the pretrained CNN to handwritten digits through sparse FP16 and INT8 plans, emulate, export C, write a report."
    static let usage = "sparrow demo [--out DIR] [--seed N] [--emulated-steps N]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "out", valueName: "DIR", help: "Where the C project and the report go.", defaultValue: "out/demo"),
        OptionSpec(name: "seed", valueName: "N", help: "Seed of the new classifier and of the sample order.", defaultValue: "1"),
        OptionSpec(name: "emulated-steps", valueName: "N", help: "Training steps run in the emulator (bit-identity check, cycles, energy).", defaultValue: "3"),
    ]
    static let details = """
        Data: datasets/mnist-digits (4,000-image on-device stream, 1,000 held-out test images). Model: models/cnn-small
        (trained on the shipped Fashion-MNIST subset). Target: targets/pulp-cluster.json (256 KB of L2, 8 cores).
        """

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        let start = Date()
        // The options are checked before the minutes of training.
        guard let seed = UInt64(args.string("seed") ?? "1") else { throw UsageError("--seed must be a non-negative integer") }
        let steps = try args.int("emulated-steps") ?? 3
        guard steps >= 1, steps <= 100 else { throw UsageError("--emulated-steps must be in 1...100") }
        let out = URL(fileURLWithPath: args.string("out") ?? "out/demo")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw UsageError("--out \(out.path): is a file, not a folder")
        }
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the emulator runs code compiled by the toolchain's clang") }
        let target = try Resources.target(Target.defaultName)
        let root = Resources.root.path
        let pretrained = try Resources.loadModel(root + "/models/cnn-small.json", weights: root + "/models/cnn-small.safetensors", seed: seed)
        let digits = try Resources.loadIDXDirectory(Resources.root.appendingPathComponent("datasets/mnist-digits"), limitTrain: nil, limitTest: nil)
        let model = try pretrained.reinitializing(layer: "fc", seed: seed)

        // 1. Before adaptation.
        var options = TrainingOptions()
        options.batchSize = 1
        options.epochs = 1
        options.seed = seed
        let before = try Trainer(model: model, options: options).evaluate(digits.test)
        print("1. pretrained \(model.name) (Fashion-MNIST features, new classifier): \(percent(before.accuracy)) on \(digits.test.count) held-out digits")

        // 2. Plans for the default target.
        let spec = DefaultSpecs.sparse(for: model)
        func plan(_ precision: Precision, spec: UpdateSpec, budget: Int?) throws -> TrainingPlan {
            var c = CompileOptions()
            c.spec = spec
            c.precision = precision
            c.budget = budget
            c.cores = target.cores
            if precision == .int8 { c.calibration = try calibrate(model, on: digits.train, samples: 512) }
            return try compilePlan(model, options: c)
        }
        let fp16 = try plan(.fp16, spec: spec, budget: target.l2.bytes)
        let int8 = try plan(.int8, spec: spec, budget: target.l2.bytes)
        let fp32 = try plan(.fp32, spec: spec, budget: target.l2.bytes)
        let full = try plan(.fp32, spec: .full, budget: nil)
        var plans = Table(["plan", "peak SRAM", "fits \(kilobytes(target.l2.bytes))"])
        for (name, p) in [("sparse FP16", fp16), ("sparse INT8 + QAS", int8), ("sparse FP32", fp32), ("full back-propagation, FP32", full)] {
            plans.add([name, kilobytes(p.memory.peakSRAM), p.memory.peakSRAM <= target.l2.bytes ? "yes" : "no"])
        }
        print("2. plans for \(target.name):\n" + plans.render())

        // 3. Fine-tuning on the digit stream, one sample per step.
        var results = Table(["plan", "test accuracy", "steps", "time"])
        var curve = TrainingCurve(title: "cnn-small on digits, sparse FP16")
        // The same spec in FP32, and every layer in FP32, for comparison (host figures).
        for (name, p) in [("sparse FP16", fp16), ("sparse INT8 + QAS", int8), ("sparse FP32", fp32), ("full FP32 (all layers)", full)] {
            var o = options
            o.optimizer = p.training.optimizer
            let trainer = try Trainer(plan: p, model: model, options: o)
            var bar = ProgressBar(title: "3. \(name)", total: digits.train.count)
            let r = try trainer.trainEpoch(0, on: digits.train, test: digits.test) { s in
                bar.update(s.samplesDone, status: "loss \(format(s.loss, 3)) acc \(percent(s.accuracy))")
                if p == fp16 { curve.record(s) }
            }
            bar.finish()
            if p == fp16 { curve.record(r) }
            results.add([name, percent(r.test?.accuracy ?? 0), grouped(digits.train.count), String(format: "%.1f s", r.seconds)])
        }
        print("3. fine-tuned natively, batch 1:\n" + results.render())

        // 4. The device: a few steps in the emulator, bit for bit, with their cost.
        let samples = (0..<steps).map { Array(digits.train.sample(at: $0 * 400)) }, labels = (0..<steps).map { digits.train.labels[$0 * 400] }
        note("4. building the FP16 plan for rv32 and emulating \(steps) steps on \(target.cores) cores…")
        let emulated = try emulatePlan(fp16, model: model, samples: samples, labels: labels, steps: steps, target: target, cores: target.cores,
                                       compiler: clang, cache: Resources.root.appendingPathComponent(".build/sparrow-emulate-cache"), profile: true)
        var check = options
        check.optimizer = fp16.training.optimizer
        let native = try Trainer(plan: fp16, model: model, options: check)
        let nativeLosses = native.trainSteps(steps, samples: samples, labels: labels, learningRate: 0.01)
        let identical = nativeLosses.map(\.bitPattern) == emulated.losses.map(\.bitPattern)
            && fp16.training.stateTensors.allSatisfy { emulated.state[fp16.graph[$0].name] == native.storedBytes($0) }
        guard let profile = emulated.profile else { throw UsageError("the emulator returned no profile") }
        print("4. on the emulated \(target.name): parameters after \(steps) steps \(identical ? "bit-identical to" : "DIFFERENT from") the native run; "
              + String(format: "%@ cycles = %.2f ms and %.1f µJ per step at %.0f MHz (%.2f MAC/cycle)", grouped(Int(profile.cycles)),
                       profile.milliseconds, profile.microjoules, Double(target.clockHz) / 1e6, profile.macsPerCycle))

        // 5. The C project.
        var export = ExportOptions()
        export.target = target
        export.cores = target.cores
        let project = out.appendingPathComponent("c")
        _ = try exportProject(fp16, model: model, to: project, options: export)
        print("5. C project: \(project.path) (make -C \(project.path) host, or make rv32 RV32_CC=clang for the target)")

        // 6. The report.
        let report = out.appendingPathComponent("report.html")
        let html = DemoReport.html(before: before.accuracy, plans: plans.render(), results: results.render(), memory: MemoryTimeline.svg(fp16),
                                   profile: profile.svg(), curve: curve.svg(), identical: identical)
        try AtomicFile.write(Data(html.utf8), to: report)
        print("6. report: \(report.path)")
        print(String(format: "demo finished in %.0f s", Date().timeIntervalSince(start)))
        if !identical { throw UsageError("the emulated run differs from the native runtime") }
    }
}

/// The demo's one-page report: the tables as text and the three charts inline.
enum DemoReport {
    static func html(before: Double, plans: String, results: String, memory: String, profile: String, curve: String, identical: Bool) -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Sparrow demo: on-device transfer learning in 256 KB</title>
        <style>body{font-family:sans-serif;max-width:960px;margin:2em auto}pre{background:#f6f6f6;padding:1em}</style></head><body>
        <h1>On-device transfer learning in 256 KB</h1>
        <p>Pretrained cnn-small (Fashion-MNIST) with a new classifier: \(percent(before)) on the held-out digits before adaptation.</p>
        <h2>Plans</h2><pre>\(escape(plans))</pre>
        <h2>Fine-tuning, one sample per step</h2><pre>\(escape(results))</pre>
        \(curve)
        <h2>SRAM over the schedule (sparse FP16)</h2>
        \(memory)
        <h2>Cycles and energy per plan step on the emulated cluster</h2>
        <p>Emulated parameters \(identical ? "bit-identical to" : "different from") the native run.</p>
        \(profile)
        </body></html>

        """
    }
}
