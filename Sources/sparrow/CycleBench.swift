import Foundation
import Sparrow

/// `sparrow bench --cycles`: what a training step costs on the emulated cluster, by
/// the cycle and energy model — beside PULP-TrainLib's published figures (Nadalini
/// et al. 2023: ResNet-8 3.11 MAC/cycle and 17.1 ms, DS-CNN 0.81 MAC/cycle and
/// 6.4 ms per single-sample step on an 8+1-core cluster; FP16 up to 1.72× faster
/// than FP32 on a conv2d training step).
struct CycleBench {
    /// One emulated full training step.
    struct Step: Codable {
        var model: String
        var precision: String
        var cores: Int
        var profile: PlanProfile
    }

    struct Report: Codable {
        var target: String
        var steps: [Step]
    }

    /// The target of the figures: full training of ResNet-8 needs more L2 than the default 256 KB.
    static let targetName = "vega-like"
    static let published: [String: (macsPerCycle: Double, milliseconds: Double)] = ["resnet8": (3.11, 17.1), "ds-cnn": (0.81, 6.4)]

    /// A network around one 3×3 conv (16 → 16 channels on 16 × 16) whose every step's
    /// data fits L1 in FP32 too: the conv2d training step compared across precisions
    /// without FP32's larger tensors falling back to L2.
    static let probeName = "conv-probe"
    static func convProbe() throws -> Model {
        var b = ModelBuilder(name: probeName, seed: 1)
        var x = try b.input(Shape(16, 16, 16))
        x = try b.conv2d(x, outChannels: 16, kernel: 1, name: "stem")
        x = try b.conv2d(x, outChannels: 16, kernel: 3, padding: 1, name: "conv")
        x = try b.relu(x, name: "relu")
        x = try b.globalAvgPool(x, name: "pool")
        x = try b.linear(x, outFeatures: 10, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }

    func run(progress: (String) -> Void) throws -> Report {
        guard let clang = toolchainClang() else { throw UsageError("no clang beside swift on PATH: the emulator runs code compiled by the toolchain's clang") }
        let target = try Resources.target(Self.targetName)
        let cache = Resources.root.appendingPathComponent(".build/sparrow-emulate-cache")
        var steps: [Step] = []
        func measure(_ name: String, _ precision: Precision, cores: Int) throws {
            guard let model = try name == Self.probeName ? Self.convProbe() : ModelZoo.model(named: name, seed: 1) else {
                throw UsageError("no zoo model \(name)")
            }
            let (samples, labels) = try Resources.samples(for: model, count: 1, data: nil)
            var c = CompileOptions()
            c.spec = .full
            c.precision = precision
            c.cores = target.cores
            if precision == .fp16 { c.accumulation = .fp16 }  // PULP-TrainLib's FP16 SIMD accumulates in FP16
            if precision == .int8 { c.calibration = try Resources.calibration(for: model, samples: samples, labels: labels) }
            let plan = try compilePlan(model, options: c)
            let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 1, target: target, cores: cores,
                                    compiler: clang, cache: cache, profile: true)
            guard let p = r.profile else { return }
            progress("\(name) \(precision.rawValue) on \(cores) core(s): \(String(format: "%.2f MAC/cycle, %.2f ms", p.macsPerCycle, p.milliseconds))")
            steps.append(Step(model: name, precision: precision.rawValue, cores: cores, profile: p))
        }
        for name in ["resnet8", "ds-cnn"] {
            for precision in [Precision.fp16, .fp32, .int8] { try measure(name, precision, cores: target.cores) }
        }
        for precision in [Precision.fp16, .fp32, .int8] { try measure(Self.probeName, precision, cores: target.cores) }
        for cores in [1, 2, 4] { try measure("resnet8", .fp16, cores: cores) }
        return Report(target: target.name, steps: steps)
    }

    static func render(_ r: Report) -> String {
        func step(_ model: String, _ precision: String, _ cores: Int = 8) -> PlanProfile? {
            r.steps.first { $0.model == model && $0.precision == precision && $0.cores == cores }?.profile
        }
        var out = "full single-sample training step on '\(r.target)' (8 cores; FP16 accumulates in FP16; emulated cycle model):\n"
        var t = Table(["model", "precision", "MACs", "cycles", "MAC/cycle", "ms", "µJ", "published MAC/cycle", "published ms"])
        for s in r.steps where s.cores == 8 && s.model != probeName {
            let p = s.profile
            let ref = s.precision == "fp16" ? published[s.model] : nil
            t.add([s.model, s.precision, grouped(p.macs), grouped(Int(p.cycles.rounded())), String(format: "%.2f", p.macsPerCycle),
                   String(format: "%.2f", p.milliseconds), String(format: "%.1f", p.microjoules),
                   ref.map { String(format: "%.2f", $0.macsPerCycle) } ?? "", ref.map { String(format: "%.1f", $0.milliseconds) } ?? ""])
        }
        out += t.render() + "\n\n"
        // A conv2d training step: forward, input gradient and weight gradient of one layer.
        out += "one conv2d training step (forward + input gradient + weight gradient), cycles, and the speed-up over FP32 (published FP16: up to 1.72×);\n"
        out += "\(probeName): 3×3, 16 → 16 channels on 16 × 16, every operand in L1 in all precisions; the ResNet-8 and DS-CNN layers as they run in those networks:\n"
        var c = Table(["model", "layer", "fp32", "fp16", "int8", "fp16 speed-up", "int8 speed-up"])
        for (model, layer) in [(probeName, "conv"), ("resnet8", "stage2.conv2"), ("resnet8", "stage3.conv2"), ("ds-cnn", "conv1"), ("ds-cnn", "ds2.pw")] {
            func cycles(_ precision: String) -> Double? {
                guard let p = step(model, precision) else { return nil }
                let fwd = p.entries.first { $0.name == layer }
                let wgrad = p.entries.first { $0.name == "grad/\(layer).weight" }
                let igrad = p.entries.first { $0.op == "conv2d_input_grad" && $0.inputs.contains { $0.name == layer + ".weight" } }
                guard let fwd, let wgrad else { return nil }
                return fwd.cycles + wgrad.cycles + (igrad?.cycles ?? 0)
            }
            guard let f32 = cycles("fp32") else { continue }
            let f16 = cycles("fp16"), i8 = cycles("int8")
            c.add([model, layer, grouped(Int(f32)), f16.map { grouped(Int($0)) } ?? "", i8.map { grouped(Int($0)) } ?? "",
                   f16.map { String(format: "%.2f×", f32 / $0) } ?? "", i8.map { String(format: "%.2f×", f32 / $0) } ?? ""])
        }
        out += c.render() + "\n\n"
        out += "scaling with cores, ResNet-8 FP16 training step:\n"
        var s = Table(["cores", "cycles", "ms", "speed-up", "efficiency", "MAC/cycle"])
        if let one = step("resnet8", "fp16", 1) {
            for n in [1, 2, 4, 8] {
                guard let p = step("resnet8", "fp16", n) else { continue }
                s.add(["\(n)", grouped(Int(p.cycles.rounded())), String(format: "%.2f", p.milliseconds), String(format: "%.2f×", one.cycles / p.cycles),
                       String(format: "%.0f %%", 100 * one.cycles / p.cycles / Double(n)), String(format: "%.2f", p.macsPerCycle)])
            }
        }
        out += s.render() + "\n\n"
        out += "energy per training step (8 cores), by phase and by source, µJ:\n"
        var e = Table(["model", "precision", "total", "forward", "backward", "update", "instructions", "active cycles", "idle cycles", "L1", "L2", "flash", "DMA"])
        for st in r.steps where st.cores == 8 && st.model != probeName {
            let p = st.profile
            let phases = Dictionary(uniqueKeysWithValues: p.byPhase().map { ($0.phase, $0.picojoules) })
            e.add([st.model, st.precision, String(format: "%.1f", p.microjoules)]
                  + ["forward", "backward", "update"].map { String(format: "%.1f", (phases[$0] ?? 0) / 1e6) }
                  + ["instructions", "active cycles", "idle cycles", "L1", "L2", "flash", "DMA"].map { String(format: "%.1f", (p.energyBySource[$0] ?? 0) / 1e6) })
        }
        out += e.render()
        return out
    }
}
