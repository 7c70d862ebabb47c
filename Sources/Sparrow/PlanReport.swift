import Foundation

/// What `sparrow compile` and `sparrow plan show` print: the spec per layer, the
/// memory figures, and the tensors alive at the peak. Codable for `--json`.
///
/// All sizes are in bytes; steps are schedule positions (node indices).
public struct PlanReport: Codable, Hashable, Sendable {
    /// One conv or linear layer's update, as the spec resolved it (`LayerPlan`).
    public struct Layer: Codable, Hashable, Sendable {
        /// The layer's node name.
        public var layer: String
        /// The update: `frozen`, `bias`, `weights` or `weights p/q` (`LayerUpdate` description).
        public var update: String
        /// Trained input channels of the weight, when partial; nil when all or none train.
        public var channels: Int?
        /// Input channels of the weight.
        public var channelCount: Int
        /// Scalars that train (weights slice + bias).
        public var trainableParameters: Int
    }

    /// One allocation of the plan.
    public struct Tensor: Codable, Hashable, Sendable {
        /// The node's name.
        public var name: String
        /// The op's name (`Op.name`).
        public var op: String
        /// `leaf`, `forward`, `backward` or `update` (a `Phase` raw value).
        public var phase: String
        /// `sram` (the arena) or `flash` (a `Region` raw value).
        public var region: String
        /// Storage type under the plan's precision.
        public var dtype: String
        /// Byte offset within its region.
        public var offset: Int
        /// Bytes allocated (aligned to `memoryAlignment`).
        public var bytes: Int
        /// First step the allocation is alive.
        public var firstStep: Int
        /// Last step the allocation is alive (inclusive).
        public var lastStep: Int
    }

    /// The plan's model name.
    public var model: String
    /// The plan's precision (a `Precision` raw value).
    public var precision: String
    /// The optimizer's name (`Optimizer.name`).
    public var optimizer: String
    /// Whether each update follows its gradient (true) or all run at the end.
    public var reorderUpdates: Bool
    /// One entry per conv/linear layer, in graph order.
    public var layers: [Layer]
    /// Nodes in the schedule.
    public var steps: Int
    /// Arena bytes: tensors plus kernel scratch (`MemoryPlan.peakSRAM`).
    public var peakSRAM: Int
    /// Bytes of flash for frozen weights and constants.
    public var flashBytes: Int
    /// The most SRAM bytes alive at one step, scratch included: no placement can do better.
    public var lowerBound: Int
    /// (peak − lower bound) / lower bound; 0 when the lower bound is 0.
    public var gap: Double
    /// Bytes of the persistent part of the arena (trainable weights, optimizer state, pinned tensors).
    public var persistentBytes: Int
    /// Bytes of kernel scratch (im2col and the like) at the end of the arena.
    public var scratchBytes: Int
    /// The SRAM budget the plan was checked against, if any.
    public var budget: Int?
    /// Name of the node at the step where the live set is largest ("" for an empty graph).
    public var peakStep: String
    /// Allocations alive at the peak, largest first (scratch not listed).
    public var liveAtPeak: [TensorBytes]
    /// SRAM bytes alive at each step (scratch excluded).
    public var liveBytesPerStep: [Int]
    /// Every allocation (views and zero-byte tensors excluded), in schedule order.
    public var tensors: [Tensor]

    /// Collects the report of `plan`; no side effects.
    public init(_ plan: TrainingPlan) {
        let g = plan.graph, m = plan.memory
        model = plan.modelName
        precision = m.precision.rawValue
        optimizer = plan.training.optimizer.name
        reorderUpdates = plan.reorderUpdates
        layers = plan.layers.map { l in
            var trainable = 0
            if let b = l.bias, l.update != .frozen, let id = g.id(named: b) { trainable += g[id].type.shape.elementCount }
            if case .weights = l.update, let id = g.id(named: l.weight) {
                let w = g[id].type.shape.elementCount
                trainable += l.channels.map { w / max(l.channelCount, 1) * $0.count } ?? w
            }
            return Layer(layer: l.layer, update: l.update.description, channels: l.channels?.count, channelCount: l.channelCount,
                         trainableParameters: trainable)
        }
        steps = g.count
        peakSRAM = m.peakSRAM
        flashBytes = m.flashBytes
        lowerBound = m.lowerBound
        gap = m.gap
        persistentBytes = m.persistentBytes
        scratchBytes = m.scratchSize
        budget = plan.budget
        peakStep = g.count > 0 ? g[m.peakStep].name : ""
        liveAtPeak = m.live(at: m.peakStep).map { TensorBytes(name: g[$0].name, bytes: m.sizes[$0]) }
        liveBytesPerStep = m.liveBytesPerStep
        tensors = g.ids.filter { m.regions[$0] != .view && m.sizes[$0] > 0 }.map { id in
            Tensor(name: g[id].name, op: g[id].op.name, phase: plan.training.phase(of: id).rawValue, region: m.regions[id].rawValue,
                   dtype: id < m.dtypes.count ? m.dtypes[id].rawValue : g[id].type.dtype.rawValue, offset: m.offsets[id],
                   bytes: m.sizes[id], firstStep: m.lifetimes[id].lowerBound, lastStep: m.lifetimes[id].upperBound)
        }
    }
}
