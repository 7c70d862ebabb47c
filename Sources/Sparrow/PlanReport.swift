import Foundation

/// What `sparrow compile` and `sparrow plan show` print: the spec per layer, the
/// memory figures, and the tensors alive at the peak. Codable for `--json`.
public struct PlanReport: Codable, Hashable, Sendable {
    public struct Layer: Codable, Hashable, Sendable {
        public var layer: String
        public var update: String
        /// Trained input channels of the weight, when partial.
        public var channels: Int?
        public var channelCount: Int
        /// Scalars that train (weights slice + bias).
        public var trainableParameters: Int
    }

    public struct Tensor: Codable, Hashable, Sendable {
        public var name: String
        public var op: String
        public var phase: String
        public var region: String
        /// Storage type under the plan's precision.
        public var dtype: String
        public var offset: Int
        public var bytes: Int
        public var firstStep: Int
        public var lastStep: Int
    }

    public var model: String
    public var precision: String
    public var optimizer: String
    public var reorderUpdates: Bool
    public var layers: [Layer]
    public var steps: Int
    public var peakSRAM: Int
    public var flashBytes: Int
    public var lowerBound: Int
    /// (peak − lower bound) / lower bound.
    public var gap: Double
    public var persistentBytes: Int
    public var scratchBytes: Int
    public var budget: Int?
    public var peakStep: String
    /// Allocations alive at the peak, largest first.
    public var liveAtPeak: [TensorBytes]
    /// SRAM bytes alive at each step (scratch excluded).
    public var liveBytesPerStep: [Int]
    /// Every allocation (views excluded), in schedule order.
    public var tensors: [Tensor]

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
