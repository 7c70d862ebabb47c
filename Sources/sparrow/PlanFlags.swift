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
        OptionSpec(name: "dtype", valueName: "TYPE", help: "Storage precision: fp32, fp16 or int8 (int8 activations and weights, FP32 gradients). FP16/INT8 plans are planned for memory; native execution is FP32 for now.", defaultValue: "fp32"),
        OptionSpec(name: "no-reorder", valueName: nil, help: "Run all updates after the backward pass instead of right after each gradient."),
    ]

    static func spec(_ a: Arguments, model: Model) throws -> UpdateSpec {
        let text = a.string("spec") ?? "full"
        if text == "sparse" { return DefaultSpecs.sparse(for: model) }
        if let s = UpdateSpec(shorthand: text) { return s }
        guard FileManager.default.fileExists(atPath: text) else {
            throw UsageError("--spec '\(text)' is not a shorthand (full, classifier, bias, last:N, bias-last:N, tte:NB:IDX@R,…) nor an existing file")
        }
        return try UpdateSpec(contentsOf: URL(fileURLWithPath: text))
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
            if let n = Double(text.dropLast(suffix.count)), n > 0, n < 1e9 { return Int(n * Double(scale)) }
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
        guard let p = Precision(rawValue: a.string("dtype") ?? "fp32") else {
            throw UsageError("--dtype must be fp32, fp16 or int8, got '\(a.string("dtype") ?? "")'")
        }
        c.precision = p
        return c
    }
}
