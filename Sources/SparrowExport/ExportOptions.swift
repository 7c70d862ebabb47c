import Foundation
import SparrowPlanner
import SparrowRuntime

/// How to export a plan as a C project.
public struct ExportOptions: Sendable {
    /// Cores the generated fork-join shim splits each kernel call over (the plan's
    /// kernel scratch must have been planned for at least this many).
    public var cores = 1
    /// The learning rate `sparrow_init` sets (`sparrow_set_learning_rate` changes it).
    public var learningRate: Float = 0.01
    /// FP16 plans: the loss scaling the generated step applies (as the native trainer's).
    public var lossScaling: LossScaler = .standardDynamic
    /// The folder holding the kernel library's sources; nil finds it next to this
    /// module's sources (a Sparrow checkout).
    public var kernelSources: URL?
    /// The MCU of the rv32 build (`make rv32`): its ISA, memory regions and sizes.
    /// nil exports the host build only.
    public var target: Target?
    /// Copy each kernel call's data into L1 with the DMA in the rv32 build (`L1Staging`);
    /// off, kernels read and write the arena in L2 directly.
    public var l1Staging = true
    /// Runs every kernel call in this variant (`sp_kernel_variant_set`) instead of the
    /// plan's tuning: how the autotuner measures a candidate.
    public var kernelVariant: Int?

    public init() {}
}

/// A project that could not be written; nothing is left at the destination.
public enum ExportError: Error, Hashable, Sendable, CustomStringConvertible {
    case kernelSourcesMissing(String)
    case unsupported(String)
    case io(String)
    /// The plan does not fit the target's memories.
    case doesNotFit(String)
    /// The C build failed; the compiler's or linker's own message.
    case build(String)

    public var description: String {
        switch self {
        case .kernelSourcesMissing(let m): return "cannot find the kernel library's sources: \(m)"
        case .unsupported(let m): return m
        case .io(let m): return m
        case .doesNotFit(let m): return m
        case .build(let m): return m
        }
    }
}

/// What `exportProject` wrote.
public struct ExportSummary: Sendable {
    public var directory: URL
    /// Files written, relative to `directory`.
    public var files: [String]
    public var arenaBytes: Int
    public var flashBytes: Int
    /// Kernel calls per training step.
    public var calls: Int
    /// The rv32 build's L1 copies around the calls.
    public var staging: L1Staging
}
