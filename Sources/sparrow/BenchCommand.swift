import Foundation
import Sparrow

/// `sparrow bench`: the release's figures in one table set (``SummaryBench``), or one deep-dive bench.
struct BenchCommand: Command {
    static let name = "bench"
    static let summary = "Measure host training throughput of every zoo model and precision, the emulator's speed and the cycles, MAC/cycle and µJ of sparse ResNet-8 and DS-CNN steps on the default target, and peak SRAM of every zoo model under full, sparse and sparse + reordered plans."
    static let usage = "sparrow bench [--only host,device,memory] [--seconds S] [--json] | --precision | --export | --emulator | --cycles | --energy"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "only", valueName: "LIST", help: "Sections of the summary to measure: host (training throughput), device (emulated steps), memory (peak SRAM).", defaultValue: "host,device,memory"),
        OptionSpec(name: "seconds", valueName: "S", help: "Host seconds each throughput figure is measured over.", defaultValue: "1"),
        OptionSpec(name: "precision", valueName: nil, help: "Only the precision comparison: the pretrained CNN with a fresh classifier fine-tuned through one sparse spec in fp32, fp16 (both accumulations), int8 + QAS and int8 without QAS (a few minutes)."),
        OptionSpec(name: "epochs", valueName: "N", help: "Fine-tuning epochs of --precision.", defaultValue: "1"),
        OptionSpec(name: "emulator", valueName: nil, help: "Only the emulator's speed: sparse training steps of ResNet-8 and DS-CNN on the default target, 1 and all emulated cores, one host core."),
        OptionSpec(name: "export", valueName: nil, help: "Only the export check: every zoo model in fp32, fp16 and int8 (sparse spec) exported, built with the toolchain's clang, trained a few steps natively and as C (bit-identical?), and its rv32 image for the default target (a few minutes)."),
        OptionSpec(name: "cycles", valueName: nil, help: "Only the cycle and energy figures: ResNet-8 and DS-CNN full FP16/FP32/INT8 training steps on the 8-core vega-like target beside PULP-TrainLib's published MAC/cycle and ms, a conv2d step's FP16 and INT8 speed-up over FP32, scaling over 1-8 cores, energy by phase and memory level (a few minutes)."),
        OptionSpec(name: "energy", valueName: nil, help: "Only the energy model's calibration: a peak-rate matrix-multiply loop per arithmetic kind on every shipped target, its operations per watt beside the chip's published figure, and the class energy that would land on it."),
        OptionSpec(name: "json", valueName: nil, help: "Print the figures as JSON."),
    ]
    static let details = "Build with -c release for meaningful numbers: swift run -c release sparrow bench. The summary takes about two minutes."

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
        var bench = SummaryBench()
        bench.sections = []
        for name in (args.string("only") ?? "host,device,memory").split(separator: ",") {
            guard let section = SummaryBench.Section(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw UsageError("--only: unknown section '\(name)'; known: \(SummaryBench.Section.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            bench.sections.insert(section)
        }
        if let s = args.string("seconds") {
            guard let v = Double(s), v > 0, v <= 600 else { throw UsageError("--seconds: expected a number of seconds in (0, 600], got '\(s)'") }
            bench.secondsPerFigure = v
        }
        let report = try bench.run()
        if args.has("json") { try printJSON(report); return }
        print(SummaryBench.render(report))
    }
}
