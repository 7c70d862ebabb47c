import Foundation

/// What one training step of a plan costs on a target, op by op: the emulator's
/// cycle and energy model (`emulatePlan(profile: true)`), averaged over the
/// emulated steps. Cycles are the cluster's (the master core's clock: every op ends
/// with a join); energy sums every core, active or idle, and the DMA.
///
/// Each plan step is charged from its step marker to the next marker. Start-up
/// before the first training step is not counted; the harness's own work between
/// two steps is split: writing the sample and label is ``harnessCycles``, while
/// returning the loss and fetching the next sample land on the last entry. Codable
/// (the stored properties) for ``ProfileCache`` and `--json`.
public struct PlanProfile: Codable, Sendable, Hashable {
    /// One plan step (a node's kernel calls).
    public struct Entry: Codable, Sendable, Hashable {
        /// Position in the schedule (the plan step): the node's `NodeID`.
        public var node: Int
        /// The node's name.
        public var name: String
        /// The op's name (`Op.name`).
        public var op: String
        /// `forward`, `backward` or `update` (a `Phase` raw value).
        public var phase: String
        /// Multiply-accumulates of the node for one sample (`multiplyAccumulates(_:in:)`).
        public var macs: Int
        /// Cycles per step on the master core's clock.
        public var cycles: Double
        /// Instructions per step retired by all cores.
        public var instructions: Double
        /// Energy per step in pJ: every core, active or idle, and the DMA.
        public var picojoules: Double
        /// Cycles by stall kind summed over the cores (keys: `Counter.label` of the
        /// stall counters), and `idle`.
        public var stalls: [String: Double]
        /// Where each input and the output live: `L2` (the arena), `flash`, `view`
        /// (an alias of another tensor) or `fused` (never stored); `L1<L2` and
        /// `L1<flash` when the step's calls use an L1 copy of it (`L1Staging`).
        public var inputs: [Operand]
        /// Where the node's own tensor lives, in the levels of ``inputs``.
        public var output: String

        /// MACs per cycle of the step (0 when it took no cycles).
        public var macsPerCycle: Double { cycles > 0 ? Double(macs) / cycles : 0 }
    }

    /// One input of a plan step and the memory level the step reads it from.
    public struct Operand: Codable, Sendable, Hashable {
        /// The input node's name.
        public var name: String
        /// `L2`, `flash`, `view`, `fused`, `L1<L2` or `L1<flash` (see ``Entry/inputs``).
        public var level: String
    }

    /// One core's share of a step, harness included.
    public struct CoreShare: Codable, Sendable, Hashable {
        /// Instructions retired per step.
        public var instructions: Double
        /// Cycles per step the core ran (issued or stalled).
        public var activeCycles: Double
        /// Cycles per step the core was parked or waiting at a join or barrier.
        public var idleCycles: Double
        /// Stall cycles per step by kind (keys: `Counter.label`; no `idle`).
        public var stalls: [String: Double]
    }

    /// The plan's model name.
    public var model: String
    /// The plan's precision (a `Precision` raw value: `fp32`, `fp16`, `int8`).
    public var precision: String
    /// The target's name.
    public var target: String
    /// The target's clock in Hz.
    public var clockHz: Int
    /// Cores the kernels split over in the run.
    public var cores: Int
    /// Training steps the figures are averaged over.
    public var stepsEmulated: Int
    /// The plan steps that ran kernels, in schedule order.
    public var entries: [Entry]
    /// Cycles per step from the harness's step-start marker to the first plan step
    /// (writing the sample and label into the arena).
    public var harnessCycles: Double
    /// Energy per step in pJ by source (keys `instructions`, `L1`, `L2`, `flash`,
    /// `DMA`, `active cycles`, `idle cycles`), harness included, so the sum exceeds
    /// ``microjoules`` by the harness's share.
    public var energyBySource: [String: Double]
    /// One share per core of the target (`Target.cores`), including cores the run did not use.
    public var perCore: [CoreShare]

    /// Cycles of the plan's ops in one step (harness excluded).
    public var cycles: Double { entries.reduce(0) { $0 + $1.cycles } }
    /// MACs of the plan's ops in one step.
    public var macs: Int { entries.reduce(0) { $0 + $1.macs } }
    /// MACs per cycle over the step (0 when it took no cycles).
    public var macsPerCycle: Double { cycles > 0 ? Double(macs) / cycles : 0 }
    /// Milliseconds per step at the target's clock (from ``cycles``: harness excluded).
    public var milliseconds: Double { cycles / Double(clockHz) * 1e3 }
    /// Microjoules per step: the entries' energy (harness excluded).
    public var microjoules: Double { entries.reduce(0) { $0 + $1.picojoules } / 1e6 }

    /// Cycles and pJ per step by phase.
    ///
    /// - Returns: Three rows, `forward`, `backward` and `update` in that order, each
    ///   summing the entries of that phase (zeros for a phase with none).
    public func byPhase() -> [(phase: String, cycles: Double, picojoules: Double)] {
        ["forward", "backward", "update"].map { p in
            let e = entries.filter { $0.phase == p }
            return (p, e.reduce(0) { $0 + $1.cycles }, e.reduce(0) { $0 + $1.picojoules })
        }
    }
}

/// Collects a profile from the step markers of a running machine: the counters at
/// each marker, the interval since the previous one charged to the previous marker's
/// node (-1, the harness between steps).
struct ProfileRecorder {
    private var last: ClusterCounters?
    private var lastKey: Int?
    private(set) var intervals: [Int: ClusterCounters] = [:]

    /// Records a marker for `key` with the machine's counters now.
    mutating func mark(_ key: Int?, _ now: ClusterCounters) {
        if let last, let lastKey {
            let span = now.cores[0][.cycles] - last.cores[0][.cycles]
            let d = now.since(last).spanning(span)
            intervals[lastKey] = intervals[lastKey].map { $0 + d } ?? d
        }
        last = now
        lastKey = key
    }
}

extension PlanProfile {
    /// The profile of `plan` from the recorder's intervals over `steps` training steps.
    init(plan: TrainingPlan, intervals: [Int: ClusterCounters], steps: Int, target: Target, cores: Int, staged: [NodeID: Set<NodeID>]) {
        let g = plan.graph, m = plan.memory, e = target.energy
        let n = Double(steps)
        func home(_ id: NodeID) -> String {
            switch m.regions[m.storage[id]] {
            case .sram: return "L2"
            case .flash: return "flash"
            case .view: return "view"
            case .fused: return "fused"
            }
        }
        func level(_ id: NodeID, at step: NodeID) -> String {
            let h = home(id)
            return staged[step]?.contains(id) == true && (h == "L2" || h == "flash") ? "L1<" + h : h
        }
        func stalls(_ c: ClusterCounters) -> [String: Double] {
            var s: [String: Double] = [:]
            for k in Counter.allCases where k.isStall || k == .idle {
                s[k.label] = Double(c.cores.reduce(0) { $0 + $1[k] }) / n
            }
            return s
        }
        var entries: [Entry] = []
        for id in g.ids where intervals[id] != nil {
            let c = intervals[id]!
            entries.append(Entry(
                node: id, name: g[id].name, op: g[id].op.name, phase: plan.training.phase(of: id).rawValue,
                macs: multiplyAccumulates(id, in: g), cycles: Double(c.cores[0][.cycles]) / n, instructions: Double(c.instructions) / n,
                picojoules: c.picojoules(e) / n, stalls: stalls(c),
                inputs: g[id].inputs.map { Operand(name: g[$0].name, level: level($0, at: id)) }, output: level(id, at: id)))
        }
        let all = intervals.values.reduce(ClusterCounters.zero(cores: target.cores)) { $0 + $1 }
        self.init(model: plan.modelName, precision: m.precision.rawValue, target: target.name, clockHz: target.clockHz, cores: cores,
                  stepsEmulated: steps, entries: entries,
                  harnessCycles: Double(intervals[-1]?.cores[0][.cycles] ?? 0) / n,
                  energyBySource: Dictionary(uniqueKeysWithValues: all.energyParts(e).map { ($0.0, $0.1 / n) }),
                  perCore: all.cores.map { c in
                      CoreShare(instructions: Double(c.instructions) / n, activeCycles: Double(c.active) / n, idleCycles: Double(c[.idle]) / n,
                                stalls: Dictionary(uniqueKeysWithValues: Counter.allCases.filter(\.isStall).map { ($0.label, Double(c[$0]) / n) }))
                  })
    }
}
