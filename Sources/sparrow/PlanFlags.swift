import Foundation
import Sparrow

/// Options shared by `compile` and `search`: the model, the spec and the budget.
enum PlanFlags {
    static let specs: [OptionSpec] = [
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Weights (safetensors); they choose the channels of partial updates. Default: seeded initialisation."),
        OptionSpec(name: "spec", valueName: "SPEC", help: "Update spec: full, classifier, bias, sparse (biases of the last 12 layers, late pointwise weights at 1/2, 1/4, 1/8, the classifier), last:N, bias-last:N, tte:NB:IDX@R,… or a spec JSON file.", defaultValue: "full"),
        OptionSpec(name: "optimizer", valueName: "NAME", help: "sgd, momentum or adam (optimizer state counts against the budget).", defaultValue: "sgd"),
        OptionSpec(name: "budget", valueName: "SIZE", help: "SRAM budget, e.g. 256KB (KB = 1024 bytes), 1MB or a byte count; 'none' to skip the check.", defaultValue: "256KB"),
        OptionSpec(name: "dtype", valueName: "TYPE", help: "Precision: fp32, fp16 (binary16 tensors, FP32 optimizer state) or int8 (int8 activations and weights, int32 biases, FP32 gradients, QAS updates; plain SGD).", defaultValue: "fp32"),
        OptionSpec(name: "accumulate", valueName: "TYPE", help: "fp16 plans: accumulate in fp32 (one rounding per sum) or fp16 (a rounding per multiply-accumulate, as packed FP16 SIMD).", defaultValue: "fp32"),
        OptionSpec(name: "master-weights", valueName: nil, help: "fp16 plans: keep an FP32 master copy of each trained parameter in SRAM (counted in the plan) so small updates are not lost."),
        OptionSpec(name: "calibrate", valueName: "DIR", help: "int8 plans: IDX dataset whose first 512 training images calibrate activation ranges. Default: the shipped Fashion-MNIST for 28x28x1 models; 'none' plans memory only."),
        OptionSpec(name: "no-qas", valueName: nil, help: "int8 plans: update without quantization-aware scaling (for comparison)."),
        OptionSpec(name: "no-reorder", valueName: nil, help: "Run all updates after the backward pass instead of right after each gradient."),
        OptionSpec(name: "cores", valueName: "N", help: "Cores the kernels will be split over (their scratch grows with it; sparrow export --cores up to N).", defaultValue: "1"),
    ]

    static func spec(_ a: Arguments, model: Model) throws -> UpdateSpec {
        let text = a.string("spec") ?? "full"
        if text == "sparse" { return DefaultSpecs.sparse(for: model) }
        if let s = UpdateSpec(shorthand: text) { return s }
        guard FileManager.default.fileExists(atPath: text) else {
            throw UsageError("--spec '\(text)' is not a shorthand (full, classifier, bias, last:N, bias-last:N, tte:NB:IDX@R,…) nor an existing file")
        }
        let spec = try UpdateSpec(contentsOf: URL(fileURLWithPath: text))
        // A layer the model lacks is named together with the file that names it.
        do { _ = try spec.resolve(model) } catch { throw UsageError("\(text): \(error)") }
        return spec
    }

    static func optimizer(_ a: Arguments) throws(UsageError) -> Optimizer {
        switch a.string("optimizer") ?? "sgd" {
        case "sgd": return .plainSGD
        case "momentum": return .momentum(momentum: 0.9, weightDecay: 0)
        case "adam": return .defaultAdam
        case let other: throw UsageError("--optimizer must be sgd, momentum or adam, got '\(other)'")
        }
    }

    /// Bytes from "256KB", "256K", "1MB", "262144"; nil for "none".
    static func budget(_ a: Arguments) throws(UsageError) -> Int? {
        let text = (a.string("budget") ?? "256KB").uppercased()
        if text == "NONE" { return nil }
        let units: [(String, Int)] = [("KB", 1024), ("K", 1024), ("MB", 1 << 20), ("M", 1 << 20), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let n = Double(text.dropLast(suffix.count)), n * Double(scale) >= 1, n < 1e9 { return Int(n * Double(scale)) }
        }
        if let n = Int(text), n > 0 { return n }
        throw UsageError("--budget must look like 256KB, 1MB or a byte count, got '\(a.string("budget") ?? "")'")
    }

    static func compileOptions(_ a: Arguments, model: Model) throws -> CompileOptions {
        var c = CompileOptions()
        c.spec = try spec(a, model: model)
        c.optimizer = try optimizer(a)
        c.budget = try budget(a)
        c.reorderUpdates = !a.has("no-reorder")
        c.cores = try a.int("cores") ?? 1
        guard (1...64).contains(c.cores) else { throw UsageError("--cores must be in 1...64, got \(c.cores)") }
        guard let p = Precision(rawValue: a.string("dtype") ?? "fp32") else {
            throw UsageError("--dtype must be fp32, fp16 or int8, got '\(a.string("dtype") ?? "")'")
        }
        c.precision = p
        switch a.string("accumulate") ?? "fp32" {
        case "fp32": c.accumulation = .fp32
        case "fp16": c.accumulation = .fp16
        case let other: throw UsageError("--accumulate must be fp32 or fp16, got '\(other)'")
        }
        if (a.isGiven("accumulate") || a.has("master-weights")) && p != .fp16 {
            throw UsageError("--accumulate and --master-weights apply to --dtype fp16 only")
        }
        c.masterWeights = a.has("master-weights")
        if (a.isGiven("calibrate") || a.has("no-qas")) && p != .int8 { throw UsageError("--calibrate and --no-qas apply to --dtype int8 only") }
        c.qas = !a.has("no-qas")
        if p == .int8 { c.calibration = try calibration(a, model: model) }
        return c
    }

    /// Samples that calibrate an int8 plan.
    static let calibrationSamples = 512

    /// Activation ranges for an int8 plan: from `--calibrate DIR`, else from the
    /// shipped Fashion-MNIST when the model reads 28x28x1 images; nil ('none', or
    /// no matching data) plans memory only.
    static func calibration(_ a: Arguments, model: Model) throws -> CalibrationRanges? {
        let dir: URL
        if let d = a.string("calibrate") {
            if d == "none" { return nil }
            dir = URL(fileURLWithPath: d)
        } else {
            guard let input = model.graph.ids(where: { $0 == .input }).first, model.graph[input].type.shape.dims == [28, 28, 1] else {
                note("int8 plan without calibration data: memory figures only (pass --calibrate DIR to make it runnable)")
                return nil
            }
            dir = Resources.fashionMNIST
        }
        let data = try Resources.loadIDXDirectory(dir, limitTrain: calibrationSamples, limitTest: 1).train
        let ranges = try calibrate(model, on: data, samples: calibrationSamples)
        note("int8: calibrated activation ranges on \(ranges.samples) images of \(data.name)")
        return ranges
    }
}
