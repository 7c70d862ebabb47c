import Foundation
import SparrowAutodiff
import SparrowIR

/// The contract between the compiler and every execution: the training graph in
/// schedule order, where each tensor lives, and the figures that prove it fits.
///
/// Written to and read from `plan.json` (see docs/plan-format.md); the native
/// runtime executes it in an arena of exactly `memory.peakSRAM` bytes.
public struct TrainingPlan: Hashable, Sendable {
    public static let formatVersion = 1

    public var modelName: String
    /// Forward, backward and update nodes; the schedule is the node order.
    public var training: TrainingGraph
    public var memory: MemoryPlan
    /// The resolved update spec: one entry per conv/linear layer.
    public var layers: [LayerPlan]
    /// SRAM budget in bytes the plan was checked against, if any.
    public var budget: Int?
    /// Whether each update follows its gradient (true) or all run at the end.
    public var reorderUpdates: Bool
    /// Whether parameter gradients persist across steps, so that batches larger than
    /// one can accumulate them (the host trainer); device plans run batch 1 without.
    public var gradientAccumulation: Bool
    /// How FP16 kernels accumulate (`memory.precision == .fp16` only; FP32 otherwise).
    public var accumulation: Accumulation
    /// Scales, zero points and the QAS switch of an INT8 plan; nil for FP32 and FP16
    /// plans, and for INT8 plans compiled without calibration data (memory figures only).
    public var quantization: PlanQuantization?
    /// The kernel variant of each step on a target (the autotuner's choice); nil: variant 0 everywhere.
    public var tuning: KernelTuning?

    public init(modelName: String, training: TrainingGraph, memory: MemoryPlan, layers: [LayerPlan], budget: Int?,
                reorderUpdates: Bool, gradientAccumulation: Bool, accumulation: Accumulation = .fp32,
                quantization: PlanQuantization? = nil, tuning: KernelTuning? = nil) {
        self.modelName = modelName
        self.training = training
        self.memory = memory
        self.layers = layers
        self.budget = budget
        self.reorderUpdates = reorderUpdates
        self.gradientAccumulation = gradientAccumulation
        self.accumulation = accumulation
        self.quantization = quantization
        self.tuning = tuning
    }

    public var graph: Graph { training.graph }
}

/// A plan whose peak SRAM exceeds the budget. The message lists the largest
/// tensors alive at the peak and what to change.
public struct BudgetError: Error, Hashable, Sendable, CustomStringConvertible {
    public var peak: Int
    public var budget: Int
    /// The largest allocations alive at the peak step.
    public var largest: [TensorBytes]
    /// The node that runs at the peak step.
    public var peakStep: String

    public var description: String {
        var lines = ["the plan needs \(kilobytes(peak)) of SRAM, over the \(kilobytes(budget)) budget by \(kilobytes(peak - budget)).",
                     "Largest tensors alive at the peak (step '\(peakStep)'):"]
        for t in largest { lines.append("  \(kilobytes(t.bytes).padding(toLength: 10, withPad: " ", startingAt: 0)) \(t.name)") }
        lines.append("Train fewer layers or fewer channels (e.g. bias-only for early layers, a weight ratio of 1/4 or 1/8),"
                     + " use plain SGD (no optimizer state), or raise --budget.")
        return lines.joined(separator: "\n")
    }
}

/// Throws when `plan` does not fit `budget` bytes of SRAM.
public func checkBudget(_ memory: MemoryPlan, graph: Graph, budget: Int) throws(BudgetError) {
    guard memory.peakSRAM > budget else { return }
    var largest = memory.live(at: memory.peakStep).prefix(8).map { TensorBytes(name: graph[$0].name, bytes: memory.sizes[$0]) }
    if memory.scratchSize > 0 { largest.append(TensorBytes(name: "kernel scratch", bytes: memory.scratchSize)) }
    throw BudgetError(peak: memory.peakSRAM, budget: budget, largest: largest, peakStep: graph[memory.peakStep].name)
}

/// Bytes as KB (1024 bytes): whole numbers from 100 KB, else one decimal when not whole.
public func kilobytes(_ bytes: Int) -> String {
    let kb = Double(bytes) / 1024
    if kb >= 100 || kb == kb.rounded() { return "\(Int(kb.rounded())) KB" }
    return String(format: "%.1f KB", kb)
}

/// A tensor's name and its allocated bytes, for reports.
public struct TensorBytes: Hashable, Sendable, Codable {
    public var name: String
    public var bytes: Int

    public init(name: String, bytes: Int) {
        self.name = name
        self.bytes = bytes
    }
}
