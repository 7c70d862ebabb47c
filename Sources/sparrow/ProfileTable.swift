import Foundation
import Sparrow

/// The text form of a `PlanProfile`: one row per plan step, then the step's totals
/// by phase, by energy source and by core.
enum ProfileTable {
    static func render(_ p: PlanProfile) -> String {
        var t = Table(["step", "op", "name", "phase", "MACs", "cycles", "MAC/cycle", "µJ", "stalls (all cores)", "operands → output"])
        for e in p.entries {
            let stalls = e.stalls.filter { $0.key != "idle" && $0.value >= 0.5 }.sorted { $0.value > $1.value }.prefix(2)
                .map { "\($0.key) \(grouped(Int($0.value.rounded())))" }.joined(separator: ", ")
            let levels = Set(e.inputs.map(\.level)).sorted().joined(separator: "+")
            t.add(["\(e.node)", e.op, e.name, e.phase, grouped(e.macs), grouped(Int(e.cycles.rounded())),
                   e.macs > 0 ? String(format: "%.2f", e.macsPerCycle) : "", String(format: "%.3f", e.picojoules / 1e6), stalls,
                   "\(levels) → \(e.output)"])
        }
        var out = t.render() + "\n"
        var phases = Table(["phase", "cycles", "share", "µJ"])
        for (phase, cycles, pj) in p.byPhase() {
            phases.add([phase, grouped(Int(cycles.rounded())), String(format: "%.1f %%", 100 * cycles / max(p.cycles, 1)), String(format: "%.2f", pj / 1e6)])
        }
        out += phases.render() + "\n"
        var energy = Table(["energy by source", "µJ / step", "share"])
        let total = p.energyBySource.values.reduce(0, +)
        for (k, v) in p.energyBySource.sorted(by: { $0.value > $1.value }) {
            energy.add([k, String(format: "%.3f", v / 1e6), String(format: "%.1f %%", 100 * v / max(total, 1e-9))])
        }
        out += energy.render() + "\n"
        var cores = Table(["core", "instructions", "active cycles", "idle cycles", "load", "fpu", "mul/div", "branch", "bank", "memory", "dma"])
        for (k, c) in p.perCore.enumerated() {
            cores.add(["\(k)", grouped(Int(c.instructions)), grouped(Int(c.activeCycles)), grouped(Int(c.idleCycles))]
                      + ["load", "fpu", "mul/div", "branch", "bank", "memory", "dma"].map { grouped(Int((c.stalls[$0] ?? 0).rounded())) })
        }
        out += cores.render() + "\n"
        out += String(format: "per training step: %@ cycles = %.3f ms at %.0f MHz, %.2f µJ, %@ MACs, %.2f MAC/cycle (harness %@ cycles more)",
                      grouped(Int(p.cycles.rounded())), p.milliseconds, Double(p.clockHz) / 1e6, p.microjoules, grouped(p.macs),
                      p.macsPerCycle, grouped(Int(p.harnessCycles.rounded())))
        return out
    }
}
