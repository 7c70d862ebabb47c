import SparrowIR

/// Which variant of its kernels each plan step runs on a target: chosen by the
/// autotuner (`tuneKernels` in the Sparrow module) from cycles measured in the
/// emulator, and recorded in the plan file's `tuning` section:
///
///     "tuning": { "target": "pulp-cluster", "cores": 8, "variants": { "<step>": 2, … } }
///
/// A variant changes speed only (block shapes, loads, the split of work): every
/// variant computes each element in the same order, so the plan's results are the
/// same bits whichever variants run. Steps not listed run variant 0.
public struct KernelTuning: Hashable, Sendable {
    /// The target and core count the variants were measured on.
    public var target: String
    public var cores: Int
    /// Variant by plan step (only steps whose best variant is not 0).
    public var variants: [NodeID: Int]

    public init(target: String, cores: Int, variants: [NodeID: Int]) {
        self.target = target
        self.cores = cores
        self.variants = variants
    }

    /// Variants are small integers (the kernel library's `sp_kernel_variant_count`).
    public static let maxVariant = 63
}

enum KernelTuningCoding {
    static func encode(_ t: KernelTuning, graph g: Graph) -> OrderedJSON {
        .object([
            ("target", .string(t.target)),
            ("cores", .int(t.cores)),
            ("variants", .object(t.variants.sorted { $0.key < $1.key }.map { (g[$0.key].name, .int($0.value)) })),
        ])
    }

    /// Reads the section; every name must be a schedule step that runs kernels.
    static func decode(_ f: PlanFields, graph g: Graph) throws(PlanFileError) -> KernelTuning {
        try f.only(["target", "cores", "variants"])
        let target = try f.name("target")
        let cores = try f.int("cores", 1...64)
        let v = try f.object("variants")
        var variants: [NodeID: Int] = [:]
        for (name, value) in v.fields {
            guard let id = g.id(named: name) else {
                throw .unknownName(file: f.file, at: .section("tuning"), field: v.path + name, name: name, detail: "is no schedule entry")
            }
            switch g[id].op {
            case .input, .label, .parameter, .constant, .optimizerState:
                throw v.invalid(name, "'\(name)' is a \(g[id].op.name), which runs no kernel")
            default: break
            }
            variants[id] = try PlanFields.int(value, 0...KernelTuning.maxVariant) { v.invalid(name, $0) }
        }
        return KernelTuning(target: target, cores: cores, variants: variants)
    }
}
