import Foundation
import Sparrow

/// `sparrow bench --export`: every zoo model in every precision, exported and run
/// both ways (bit-identical?), and its rv32 image for the default target (sizes, or
/// why it does not fit).
struct ExportBench {
    struct Row: Codable {
        var model: String
        var precision: String
        var peakSRAM: Int
        var steps: Int
        var bitIdentical: Bool
        var differing: [String]
        /// The rv32 image for the default target, or nil with `rv32Problem` saying why.
        var rv32: ImageSizes?
        var rv32Problem: String?
    }

    var steps = 4

    func run(progress: (Row) -> Void) throws -> [Row] {
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the export bench needs the toolchain's clang") }
        // The host build uses the system's cc (another compiler than the one SwiftPM used) when there is one.
        let host = FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") ? "/usr/bin/cc" : clang
        let target = try Resources.target(Target.defaultName)
        var rows: [Row] = []
        for name in ModelZoo.names {
            var model = try require(try ModelZoo.model(named: name, seed: 1), name)
            if name == "cnn-small" {
                model = try Resources.loadModel(name, weights: Resources.root.appendingPathComponent("models/cnn-small.safetensors").path, seed: 0)
            }
            let (samples, labels) = try Resources.samples(for: model, count: steps, data: nil)
            for precision in Precision.allCases {
                var c = CompileOptions()
                c.spec = DefaultSpecs.sparse(for: model)
                c.precision = precision
                if precision == .int8 { c.calibration = try Resources.calibration(for: model, samples: samples, labels: labels) }
                let plan = try compilePlan(model, options: c)
                let check = try checkExport(plan, model: model, samples: samples, labels: labels, steps: steps, compiler: host)
                var row = Row(model: name, precision: precision.rawValue, peakSRAM: plan.memory.peakSRAM, steps: steps,
                              bitIdentical: check.bitIdentical, differing: check.differing)
                (row.rv32, row.rv32Problem) = Self.rv32Image(plan, model: model, target: target, compiler: clang)
                progress(row)
                rows.append(row)
            }
        }
        return rows
    }

    /// The plan's rv32 image for `target`, or why there is none (the first line of the error).
    static func rv32Image(_ plan: TrainingPlan, model: Model, target: Target, compiler: String) -> (ImageSizes?, String?) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-bench-rv32-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.target = target
        do {
            _ = try exportProject(plan, model: model, to: dir, options: options)
            return (try buildRV32(dir, compiler: compiler), nil)
        } catch {
            return (nil, error.description.split(separator: "\n").first.map(String.init))
        }
    }

    static func table(_ rows: [Row]) -> String {
        var t = Table(["model", "precision", "peak SRAM", "host C vs native", "rv32 .text", ".rodata", "arena (L2)", "rv32 image"])
        for r in rows {
            let same = r.bitIdentical ? "bit-identical (\(r.steps) steps)" : "DIFFERS: \(r.differing.joined(separator: ", "))"
            if let s = r.rv32 {
                t.add([r.model, r.precision, kilobytes(r.peakSRAM), same, grouped(s.text), grouped(s.rodata), grouped(s.arena), "links"])
            } else {
                let why = r.rv32Problem.map { String($0.split(separator: ";").first ?? "") } ?? "–"
                t.add([r.model, r.precision, kilobytes(r.peakSRAM), same, "–", "–", "–", why])
            }
        }
        return t.render()
    }
}

/// `guard let … else throw` for optional zoo lookups.
private func require<T>(_ value: T?, _ name: String) throws -> T {
    guard let value else { throw UsageError("zoo model '\(name)' is missing") }
    return value
}
