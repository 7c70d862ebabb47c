import Foundation
import Sparrow

/// `sparrow bench`: host training throughput of the zoo CNN.
struct BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure host FP32 training throughput of the zoo CNN (batch 1 and 32, inference) and tabulate peak SRAM of every zoo model under full, classifier, bias and sparse specs."
    static let usage = "sparrow bench [--samples N] [--json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "samples", valueName: "N", help: "Training samples per measurement.", defaultValue: "2048"),
        OptionSpec(name: "repeat", valueName: "N", help: "Repetitions; the best is reported.", defaultValue: "3"),
        OptionSpec(name: "memory-only", valueName: nil, help: "Only the peak-SRAM table of the zoo models (no timing)."),
        OptionSpec(name: "precision", valueName: nil, help: "Only the precision comparison: the pretrained CNN with a fresh classifier fine-tuned through one sparse spec in fp32, fp16 (both accumulations), int8 + QAS and int8 without QAS (a few minutes)."),
        OptionSpec(name: "epochs", valueName: "N", help: "Fine-tuning epochs of --precision.", defaultValue: "1"),
        OptionSpec(name: "emulator", valueName: nil, help: "Only the emulator's speed: sparse training steps of ResNet-8 and DS-CNN on the default target, 1 and all emulated cores, one host core."),
        OptionSpec(name: "export", valueName: nil, help: "Only the export check: every zoo model in fp32, fp16 and int8 (sparse spec) exported, built with the toolchain's clang, trained a few steps natively and as C (bit-identical?), and its rv32 image for the default target (a few minutes)."),
        OptionSpec(name: "cycles", valueName: nil, help: "Only the cycle and energy figures: ResNet-8 and DS-CNN full FP16/FP32/INT8 training steps on the 8-core vega-like target beside PULP-TrainLib's published MAC/cycle and ms, a conv2d step's FP16 and INT8 speed-up over FP32, scaling over 1-8 cores, energy by phase and memory level (a few minutes)."),
        OptionSpec(name: "energy", valueName: nil, help: "Only the energy model's calibration: a peak-rate matrix-multiply loop per arithmetic kind on every shipped target, its operations per watt beside the chip's published figure, and the class energy that would land on it."),
        OptionSpec(name: "json", valueName: nil, help: "Print the figures as JSON."),
    ]
    static let details = "Build with -c release for meaningful numbers: swift run -c release sparrow bench"

    struct Report: Codable {
        var throughput: [Figure]
        var memory: [MemoryFigure]
    }

    /// Peak SRAM of one zoo model under one spec, with and without update reordering (FP32, batch 1, plain SGD).
    struct MemoryFigure: Codable {
        var model: String
        var spec: String
        var peakReordered: Int
        var peakAtEnd: Int
        var lowerBoundReordered: Int
        var flashBytes: Int
    }

    struct Figure: Codable {
        var name: String
        var batch: Int
        var samplesPerSecond: Double
        var microsecondsPerSample: Double
        var macsPerSample: Int
        var gmacPerSecond: Double
    }

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        if args.has("energy") {
            guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the calibration kernels are built for rv32") }
            var rows: [(String, EnergyCalibration.Measurement)] = []
            for name in Target.names(in: Resources.targets) {
                let t = try Resources.target(name)
                for m in try EnergyCalibration.measureAll(on: t, compiler: clang) { rows.append((name, m)) }
            }
            if args.has("json") { try printJSON(rows.map { ["target": $0.0, "arithmetic": $0.1.arithmetic, "ops_per_watt": String($0.1.opsPerWatt)] }); return }
            var t = Table(["target", "arithmetic", "G(FL)OPS/W measured", "published", "ratio", "class pJ that lands on it"])
            for (name, m) in rows {
                t.add([name, m.arithmetic, String(format: "%.1f", m.opsPerWatt / 1e9), m.published.map { String(format: "%.0f", $0) } ?? "",
                       m.published.map { String(format: "%.3f", m.opsPerWatt / 1e9 / $0) } ?? "", m.solvedPicojoules.map { String(format: "%.3f", $0) } ?? ""])
            }
            print("peak-rate matrix-multiply loop (4 × 4 register block, operands in L1, every core) on each target's energy model:")
            print(t.render())
            return
        }
        if args.has("cycles") {
            let report = try CycleBench().run { note($0) }
            if args.has("json") { try printJSON(report); return }
            print(CycleBench.render(report))
            return
        }
        if args.has("emulator") {
            let rows = try EmulatorBench().run { r in note("\(r.model) \(r.precision) on \(r.cores) core(s): \(String(format: "%.1f", r.mips)) MIPS") }
            if args.has("json") { try printJSON(rows); return }
            print("emulator speed on training steps (sparse spec, target '\(Target.defaultName)'; build time excluded):")
            print(EmulatorBench.table(rows))
            return
        }
        if args.has("export") {
            let rows = try ExportBench().run { r in
                note("\(r.model) \(r.precision): \(r.bitIdentical ? "bit-identical" : "DIFFERS") on the host; rv32 \(r.rv32 != nil ? "links" : r.rv32Problem ?? "")")
            }
            if args.has("json") { try printJSON(rows); return }
            print("every zoo model, sparse spec: exported C (host build) vs native runtime, and the rv32 image for target '\(Target.defaultName)' (bytes):")
            print(ExportBench.table(rows))
            return
        }
        if args.has("precision") {
            var bench = PrecisionBench()
            bench.epochs = try args.int("epochs") ?? 1
            guard bench.epochs >= 1 else { throw UsageError("--epochs must be at least 1") }
            let rows = try bench.run { r in note("\(r.name): \(percent(r.accuracyAfter)) after fine-tuning") }
            if args.has("json") { try printJSON(rows); return }
            print("fine-tuning cnn-small (pretrained features, fresh classifier) through the sparse spec, \(bench.epochs) epoch(s), batch 1, SGD lr \(bench.learningRate);")
            print("test accuracy on the 2,000 shipped test images; int8 calibrated on \(PlanFlags.calibrationSamples) training images:")
            print(PrecisionBench.table(rows))
            return
        }
        let memory = try memoryTable()
        let throughput = args.has("memory-only") ? [] : try throughputFigures()
        if args.has("json") { try printJSON(Report(throughput: throughput, memory: memory)); return }
        if !throughput.isEmpty {
            var t = Table(["measurement", "batch", "samples/s", "µs/sample", "MAC/sample", "GMAC/s"])
            for f in throughput {
                t.add([f.name, "\(f.batch)", String(format: "%.0f", f.samplesPerSecond), String(format: "%.1f", f.microsecondsPerSample),
                       grouped(f.macsPerSample), String(format: "%.2f", f.gmacPerSecond)])
            }
            print(t.render())
            print("host: \(ProcessInfo.processInfo.activeProcessorCount) cores, 1 kernel core used; best of \(try args.int("repeat") ?? 3) runs of \(try args.int("samples") ?? 2048) samples\n")
        }
        var m = Table(["model", "spec", "peak SRAM, reordered", "peak SRAM, updates at end", "lower bound", "flash"])
        for f in memory {
            m.add([f.model, f.spec, kilobytes(f.peakReordered), kilobytes(f.peakAtEnd), kilobytes(f.lowerBoundReordered), kilobytes(f.flashBytes)])
        }
        print("peak SRAM per training step (batch 1, plain SGD; FP32 unless int8: int8 activations and weights, FP32 gradients; KB = 1024 bytes):")
        print(m.render())
    }

    private func memoryTable() throws -> [MemoryFigure] {
        var rows: [MemoryFigure] = []
        for name in ModelZoo.names {
            guard let model = try ModelZoo.model(named: name, seed: 1) else { continue }
            let sparse = DefaultSpecs.sparse(for: model)
            let specs: [(String, UpdateSpec, Precision)] = [
                ("full", .full, .fp32), ("classifier", .classifierOnly, .fp32), ("bias", .biasOnly, .fp32), ("sparse", sparse, .fp32),
                ("full, int8", .full, .int8), ("sparse, int8", sparse, .int8),
            ]
            for (label, spec, precision) in specs {
                var c = CompileOptions()
                c.spec = spec
                c.precision = precision
                let reordered = try compilePlan(model, options: c)
                c.reorderUpdates = false
                let atEnd = try compilePlan(model, options: c)
                rows.append(MemoryFigure(model: name, spec: label, peakReordered: reordered.memory.peakSRAM, peakAtEnd: atEnd.memory.peakSRAM,
                                         lowerBoundReordered: reordered.memory.lowerBound, flashBytes: reordered.memory.flashBytes))
            }
        }
        return rows
    }

    private func throughputFigures() throws -> [Figure] {
        let n = try args.int("samples") ?? 2048
        let repeats = try args.int("repeat") ?? 3
        guard n >= 32, repeats >= 1 else { throw UsageError("--samples must be at least 32 and --repeat at least 1") }
        let model = try ModelZoo.smallCNN(seed: 1)
        let summary = ModelSummary(model)
        let data = try benchData(model, count: n)
        var figures: [Figure] = []
        for batch in [1, 32] {
            var options = TrainingOptions()
            options.batchSize = batch
            options.epochs = 1
            options.learningRate = 1e-4
            var best = Double.infinity
            for _ in 0..<repeats {
                let trainer = try Trainer(model: model, options: options)
                let t0 = Date()
                _ = try trainer.trainEpoch(0, on: data)
                best = min(best, Date().timeIntervalSince(t0))
            }
            figures.append(figure("train \(model.name) fp32", batch: batch, seconds: best, samples: n, macs: summary.trainingMACs))
        }
        var options = TrainingOptions()
        options.batchSize = 1
        let trainer = try Trainer(model: model, options: options)
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = Date()
            _ = trainer.evaluate(data)
            best = min(best, Date().timeIntervalSince(t0))
        }
        figures.append(figure("infer \(model.name) fp32", batch: 1, seconds: best, samples: n, macs: summary.forwardMACs))
        return figures
    }

    private func figure(_ name: String, batch: Int, seconds: Double, samples: Int, macs: Int) -> Figure {
        let sps = Double(samples) / seconds
        return Figure(name: name, batch: batch, samplesPerSecond: sps, microsecondsPerSample: 1e6 / sps,
                      macsPerSample: macs, gmacPerSecond: sps * Double(macs) / 1e9)
    }

    /// The first `count` shipped training images, or seeded noise if the dataset is absent.
    private func benchData(_ model: Model, count: Int) throws -> Dataset {
        if let d = try? Resources.loadIDXDirectory(Resources.fashionMNIST, limitTrain: count, limitTest: 1).train, d.count == count {
            return d
        }
        var rng = SeededGenerator(seed: 1)
        return try Dataset(name: "noise", sampleShape: [28, 28, 1], samples: (0..<count * 784).map { _ in rng.nextUnitFloat() },
                           labels: (0..<count).map { Int32($0 % 10) }, classCount: 10, classNames: nil)
    }
}
