import Foundation
import Sparrow

/// `sparrow bench`: the figures of one release in one report — host training
/// throughput of every zoo model in every precision, the emulator's speed and
/// the on-device cost of sparse ResNet-8 and DS-CNN training steps on the
/// default target, and peak SRAM of every zoo model under full, sparse and
/// sparse + reordered plans. Every figure is measured in the run.
struct SummaryBench {
    /// Native training speed of one model in one configuration, batch 1.
    struct HostRow: Codable {
        var model: String
        /// `full fp32` (the reference trainer, every parameter) or `sparse <precision>` (the compiled plan's executor).
        var configuration: String
        var samples: Int
        var samplesPerSecond: Double
        var microsecondsPerSample: Double
        /// Multiply-accumulates of one training step of this configuration.
        var macsPerSample: Int
        var gmacPerSecond: Double
    }

    /// One emulated sparse training step on the default target.
    struct DeviceRow: Codable {
        var model: String
        var precision: String
        var accumulation: String
        var cores: Int
        var peakSRAM: Int
        var macs: Int
        var cycles: Double
        var macsPerCycle: Double
        var milliseconds: Double
        var microjoules: Double
        /// Emulated instructions per host second (one host core), building excluded.
        var mips: Double
    }

    /// Peak SRAM of one zoo model's training step (batch 1, plain SGD), bytes.
    struct MemoryRow: Codable {
        var model: String
        var full: Int
        var fullReordered: Int
        var sparse: Int
        var sparseReordered: Int
        var sparseReorderedFP16: Int
        var sparseReorderedInt8: Int
    }

    struct Report: Codable {
        var hostCores: Int
        var target: String
        var targetSRAM: Int
        var host: [HostRow]
        var device: [DeviceRow]
        var memory: [MemoryRow]
    }

    /// The sections a run measures.
    enum Section: String, CaseIterable {
        case host, device, memory
    }

    var sections = Set(Section.allCases)
    /// Host seconds each throughput figure is measured over (after one warm-up step).
    var secondsPerFigure = 1.0

    func run() throws -> Report {
        let target = try Resources.target(Target.defaultName)
        var report = Report(hostCores: ProcessInfo.processInfo.activeProcessorCount, target: target.name, targetSRAM: target.l2.bytes,
                            host: [], device: [], memory: [])
        if sections.contains(.memory) { report.memory = try memory() }
        if sections.contains(.host) { report.host = try host() }
        if sections.contains(.device) { report.device = try device(on: target) }
        return report
    }

    /// The sparse plan of `model` in `precision` (calibrated on `samples` for int8), split over `cores`.
    private func sparsePlan(_ model: Model, _ precision: Precision, accumulation: Accumulation = .fp32, cores: Int = 1,
                            samples: [[Float]], labels: [Int32]) throws -> TrainingPlan {
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        c.precision = precision
        c.accumulation = accumulation
        c.cores = cores
        if precision == .int8 { c.calibration = try Resources.calibration(for: model, samples: samples, labels: labels) }
        return try compilePlan(model, options: c)
    }

    private func host() throws -> [HostRow] {
        let configurations = ["full fp32", "sparse fp32", "sparse fp16", "sparse int8"]
        var bar = ProgressBar(title: "host throughput", total: ModelZoo.names.count * configurations.count)
        var rows: [HostRow] = []
        for name in ModelZoo.names {
            guard let model = try ModelZoo.model(named: name, seed: 1) else { continue }
            let (samples, labels) = try Resources.samples(for: model, count: 16, data: nil)
            for configuration in configurations {
                bar.update(rows.count, status: "\(name) \(configuration)")
                var o = TrainingOptions()
                o.batchSize = 1
                o.optimizer = .plainSGD
                let trainer: Trainer, macs: Int
                if configuration == "full fp32" {
                    trainer = try Trainer(model: model, options: o)
                    macs = ModelSummary(model).trainingMACs
                } else {
                    let precision = Precision(rawValue: String(configuration.dropFirst("sparse ".count)))!
                    let plan = try sparsePlan(model, precision, samples: samples, labels: labels)
                    trainer = try Trainer(plan: plan, model: model, options: o)
                    macs = plan.graph.ids.reduce(0) { $0 + multiplyAccumulates($1, in: plan.graph) }
                }
                // One warm-up step, then steps until the time is spent (at least 4).
                _ = trainer.trainSteps(1, samples: samples, labels: labels, learningRate: 1e-4)
                var n = 0
                let t0 = Date()
                while n < 4 || Date().timeIntervalSince(t0) < secondsPerFigure {
                    _ = trainer.trainSteps(4, samples: Array(samples[(n % 16)..<(n % 16 + 4)]), labels: Array(labels[(n % 16)..<(n % 16 + 4)]),
                                           learningRate: 1e-4)
                    n += 4
                }
                let sps = Double(n) / Date().timeIntervalSince(t0)
                rows.append(HostRow(model: name, configuration: configuration, samples: n, samplesPerSecond: sps, microsecondsPerSample: 1e6 / sps,
                                    macsPerSample: macs, gmacPerSecond: sps * Double(macs) / 1e9))
            }
        }
        bar.update(rows.count)
        bar.finish()
        return rows
    }

    private func device(on target: Target) throws -> [DeviceRow] {
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the emulator runs code compiled by the toolchain's clang") }
        let cache = Resources.root.appendingPathComponent(".build/sparrow-emulate-cache")
        let configurations: [(Precision, Accumulation)] = [(.fp32, .fp32), (.fp16, .fp32), (.fp16, .fp16), (.int8, .fp32)]
        let models = ["resnet8", "ds-cnn"]
        var bar = ProgressBar(title: "emulated steps", total: models.count * configurations.count)
        var rows: [DeviceRow] = []
        for name in models {
            guard let model = try ModelZoo.model(named: name, seed: 1) else { throw UsageError("no zoo model \(name)") }
            let (samples, labels) = try Resources.samples(for: model, count: 16, data: nil)
            for (precision, accumulation) in configurations {
                bar.update(rows.count, status: "\(name) \(precision.rawValue)")
                // The most cores whose plan fits: per-core kernel scratch grows with the cores.
                var cores = target.cores
                var plan = try sparsePlan(model, precision, accumulation: accumulation, cores: cores, samples: samples, labels: labels)
                while plan.memory.peakSRAM > target.l2.bytes && cores > 1 {
                    cores /= 2
                    plan = try sparsePlan(model, precision, accumulation: accumulation, cores: cores, samples: samples, labels: labels)
                }
                guard plan.memory.peakSRAM <= target.l2.bytes else {
                    throw UsageError("the sparse \(precision.rawValue) plan of \(name) needs \(kilobytes(plan.memory.peakSRAM)), over \(target.name)'s L2")
                }
                let r = try emulatePlan(plan, model: model, samples: [samples[0]], labels: [labels[0]], steps: 1, target: target,
                                        cores: cores, compiler: clang, cache: cache, profile: true)
                guard let p = r.profile else { throw UsageError("the emulator returned no profile for \(name)") }
                rows.append(DeviceRow(model: name, precision: precision.rawValue, accumulation: accumulation.rawValue, cores: cores,
                                      peakSRAM: plan.memory.peakSRAM, macs: p.macs, cycles: p.cycles, macsPerCycle: p.macsPerCycle,
                                      milliseconds: p.milliseconds, microjoules: p.microjoules, mips: r.mips))
            }
        }
        bar.update(rows.count)
        bar.finish()
        return rows
    }

    private func memory() throws -> [MemoryRow] {
        var rows: [MemoryRow] = []
        for name in ModelZoo.names {
            guard let model = try ModelZoo.model(named: name, seed: 1) else { continue }
            func peak(_ spec: UpdateSpec, _ precision: Precision = .fp32, reorder: Bool) throws -> Int {
                var c = CompileOptions()
                c.spec = spec
                c.precision = precision
                c.reorderUpdates = reorder
                return try compilePlan(model, options: c).memory.peakSRAM
            }
            let sparse = DefaultSpecs.sparse(for: model)
            rows.append(MemoryRow(model: name, full: try peak(.full, reorder: false), fullReordered: try peak(.full, reorder: true),
                                  sparse: try peak(sparse, reorder: false), sparseReordered: try peak(sparse, reorder: true),
                                  sparseReorderedFP16: try peak(sparse, .fp16, reorder: true), sparseReorderedInt8: try peak(sparse, .int8, reorder: true)))
        }
        return rows
    }

    static func render(_ r: Report) -> String {
        var out: [String] = []
        if !r.host.isEmpty {
            var t = Table(["model", "training", "samples/s", "µs/sample", "MAC/sample", "GMAC/s"])
            for h in r.host {
                t.add([h.model, h.configuration, String(format: h.samplesPerSecond < 10 ? "%.2f" : "%.0f", h.samplesPerSecond),
                       grouped(Int(h.microsecondsPerSample.rounded())), grouped(h.macsPerSample), String(format: "%.2f", h.gmacPerSecond)])
            }
            out.append("host training throughput, batch 1, one host core (\(r.hostCores) available); full = the reference trainer, every parameter;\n"
                       + "sparse = the compiled plan of the zoo's sparse spec run natively (FP16 rounds every operation in software on the host):\n"
                       + t.render())
        }
        if !r.device.isEmpty {
            var t = Table(["model", "precision", "accumulation", "cores", "peak SRAM", "MACs", "cycles", "MAC/cycle", "ms", "µJ", "emulator MIPS"])
            for d in r.device {
                t.add([d.model, d.precision, d.accumulation, "\(d.cores)", kilobytes(d.peakSRAM), grouped(d.macs), grouped(Int(d.cycles.rounded())),
                       String(format: "%.2f", d.macsPerCycle), String(format: "%.2f", d.milliseconds), String(format: "%.1f", d.microjoules),
                       String(format: "%.1f", d.mips)])
            }
            out.append("one sparse training step (one sample) on the emulated '\(r.target)' (\(kilobytes(r.targetSRAM)) L2; the most cores whose plan fits),"
                       + " by its cycle and energy model;\nemulator MIPS = emulated instructions per host second on one host core, building excluded:\n"
                       + t.render())
        }
        if !r.memory.isEmpty {
            var t = Table(["model", "full", "full + reorder", "sparse", "sparse + reorder", "… fp16", "… int8", "fits \(kilobytes(r.targetSRAM))"])
            for m in r.memory {
                let fits = [("fp32", m.sparseReordered), ("fp16", m.sparseReorderedFP16), ("int8", m.sparseReorderedInt8)]
                    .filter { $0.1 <= r.targetSRAM }.map(\.0)
                t.add([m.model, kilobytes(m.full), kilobytes(m.fullReordered), kilobytes(m.sparse), kilobytes(m.sparseReordered),
                       kilobytes(m.sparseReorderedFP16), kilobytes(m.sparseReorderedInt8), fits.isEmpty ? "no" : "sparse " + fits.joined(separator: ", ")])
            }
            out.append("peak SRAM of one training step (batch 1, plain SGD; FP32 unless marked; reorder = each update right after its gradient;\n"
                       + "KB = 1024 bytes):\n" + t.render())
        }
        return out.joined(separator: "\n\n")
    }
}
