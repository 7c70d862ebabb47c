import Foundation
import Sparrow

/// `sparrow bench --emulator`: the emulator's speed on real training steps — each
/// zoo model's sparse plan that fits the default target, one host core, the
/// emulated cluster on 1 and on all its cores.
struct EmulatorBench {
    struct Row: Codable {
        var model: String
        var precision: String
        var cores: Int
        var steps: Int
        var instructionsPerStep: UInt64
        var seconds: Double
        var mips: Double
    }

    var steps = 2

    func run(progress: (Row) -> Void) throws -> [Row] {
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the emulator runs code compiled by the toolchain's clang") }
        let target = try Resources.target(Target.defaultName)
        let cache = Resources.root.appendingPathComponent(".build/sparrow-emulate-cache")
        var rows: [Row] = []
        for (name, precision) in [("resnet8", Precision.fp32), ("ds-cnn", .fp32), ("resnet8", .int8), ("resnet8", .fp16)] {
            guard let model = try ModelZoo.model(named: name, seed: 1) else { continue }
            let (samples, labels) = try Resources.samples(for: model, count: steps, data: nil)
            for cores in [1, target.cores] {
                var c = CompileOptions()
                c.spec = DefaultSpecs.sparse(for: model)
                c.precision = precision
                c.cores = cores
                if precision == .int8 { c.calibration = try Resources.calibration(for: model, samples: samples, labels: labels) }
                let plan = try compilePlan(model, options: c)
                guard plan.memory.peakSRAM <= target.l2.bytes else { continue }  // as on the device
                let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: steps, target: target, cores: cores,
                                        compiler: clang, cache: cache)
                let row = Row(model: name, precision: precision.rawValue, cores: cores, steps: steps,
                              instructionsPerStep: r.instructions / UInt64(steps), seconds: r.seconds, mips: r.mips)
                progress(row)
                rows.append(row)
            }
        }
        return rows
    }

    static func table(_ rows: [Row]) -> String {
        var t = Table(["model", "precision", "emulated cores", "instructions / step", "host seconds", "MIPS (1 host core)"])
        for r in rows {
            t.add([r.model, r.precision, "\(r.cores)", grouped(Int(r.instructionsPerStep)), String(format: "%.2f", r.seconds), String(format: "%.1f", r.mips)])
        }
        return t.render()
    }
}
