import Foundation

/// What one training step of a plan costs on a target, op by op: the emulator's
/// cycle and energy model (`emulatePlan(profile: true)`), averaged over the
/// emulated steps. Cycles are the cluster's (the master core's clock: every op ends
/// with a join); energy sums every core, active or idle, and the DMA.
public struct PlanProfile: Codable, Sendable, Hashable {
    /// One plan step (a node's kernel calls).
    public struct Entry: Codable, Sendable, Hashable {
        /// Position in the schedule (the plan step).
        public var node: Int
        public var name: String
        public var op: String
        /// forward, backward or update.
        public var phase: String
        public var macs: Int
        public var cycles: Double
        public var instructions: Double
        public var picojoules: Double
        /// Cycles by stall kind summed over the cores (see `Counter`), and `idle`.
        public var stalls: [String: Double]
        /// Where each input and the output live: `L2` (the arena), `flash`, `view`
        /// (an alias of another tensor) or `fused` (never stored); `L1<L2` and
        /// `L1<flash` when the step's calls use an L1 copy of it (`L1Staging`).
        public var inputs: [Operand]
        public var output: String

        public var macsPerCycle: Double { cycles > 0 ? Double(macs) / cycles : 0 }
    }

    public struct Operand: Codable, Sendable, Hashable {
        public var name: String
        public var level: String
    }

    /// One core's share of a step.
    public struct CoreShare: Codable, Sendable, Hashable {
        public var instructions: Double
        public var activeCycles: Double
        public var idleCycles: Double
        public var stalls: [String: Double]
    }

    public var model: String
    public var precision: String
    public var target: String
    public var clockHz: Int
    public var cores: Int
    public var stepsEmulated: Int
    public var entries: [Entry]
    /// Cycles per step outside the plan's ops (the harness storing the sample and the loss).
    public var harnessCycles: Double
    /// Energy per step by source (instructions, L1, L2, flash, DMA, active and idle cycles), pJ.
    public var energyBySource: [String: Double]
    public var perCore: [CoreShare]

    /// Cycles of the plan's ops in one step.
    public var cycles: Double { entries.reduce(0) { $0 + $1.cycles } }
    public var macs: Int { entries.reduce(0) { $0 + $1.macs } }
    public var macsPerCycle: Double { cycles > 0 ? Double(macs) / cycles : 0 }
    /// Milliseconds per step at the target's clock.
    public var milliseconds: Double { cycles / Double(clockHz) * 1e3 }
    /// Microjoules per step.
    public var microjoules: Double { entries.reduce(0) { $0 + $1.picojoules } / 1e6 }

    /// Cycles and pJ per step by phase.
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
