import SparrowEmulator

/// The emulator's shadow map of a plan's arena: for every byte, the plan step
/// that last stored it. A load during step s must read bytes of a tensor live at
/// s (or the kernel scratch), last written by a step allowed to write that
/// tensor's storage: its producer (or an in-place op sharing it), an update of a
/// parameter or its optimizer state, or the host harness (inputs, labels,
/// initial values). Anything else — bytes no step wrote, a tensor clobbered by
/// an overlapping one, a read outside every live tensor — is a plan violation.
final class PlanShadow: MemoryWatcher {
    let base: UInt32
    let size: UInt32
    private let plan: TrainingPlan
    /// Last writer of each byte: a plan step, `harness` (-1), or `never`.
    private var writer: [Int32]
    private static let never = Int32.min, harness: Int32 = -1
    /// Storage root of each node (views resolve to the tensor that owns the bytes).
    private let root: [NodeID]
    /// Storage roots each node's kernels may write.
    private let writes: [Set<NodeID>]
    /// Per step, the SRAM tensors live then: (start, end, node), sorted by start.
    private var liveCache: [Int: [(Int, Int, NodeID)]] = [:]

    init(plan: TrainingPlan, base: UInt32) {
        self.plan = plan
        self.base = base
        size = UInt32(plan.memory.peakSRAM)
        writer = Array(repeating: PlanShadow.never, count: plan.memory.peakSRAM)
        let g = plan.graph, m = plan.memory
        var root = Array(g.ids)
        for id in g.ids {
            var r = id
            while m.storage[r] != r { r = m.storage[r] }
            root[id] = r
        }
        self.root = root
        var writes = g.ids.map { Set([root[$0]]) }
        for id in g.ids {
            guard case .update = g[id].op else { continue }
            // An update writes its parameter and its state; a fused gradient applies it.
            let targets = Set([g[id].inputs[0]] + g[id].inputs.dropFirst(2)).map { root[$0] }
            writes[id].formUnion(targets)
            let gradient = g[id].inputs[1]
            if m.regions[gradient] == .fused { writes[gradient].formUnion(targets) }
        }
        self.writes = writes
    }

    func stored(offset: Int, count: Int, step: Int?) {
        let w = Int32(step ?? -1)
        for k in offset..<min(offset + count, writer.count) { writer[k] = w }
    }

    func loaded(offset: Int, count: Int, step: Int?) -> String? {
        guard let s = step, s >= 0 else { return nil }  // the harness between steps is not checked
        let g = plan.graph, m = plan.memory
        for k in offset..<min(offset + count, writer.count) {
            let w = writer[k]
            if k >= m.scratchOffset && k < m.scratchOffset + m.scratchSize {
                if w != Int32(s) { return "kernel scratch byte \(k) read before this step wrote it" }
                continue
            }
            guard let t = live(at: k, step: s) else {
                return "arena byte \(k) belongs to no tensor live at step \(s) ('\(g[s].name)')"
            }
            let owner = root[t]
            if w == PlanShadow.never { return "byte \(k) of '\(g[owner].name)' was never written" }
            if w == PlanShadow.harness {
                switch g[owner].op {
                case .input, .label, .parameter, .constant, .optimizerState: continue
                default: return "byte \(k) of '\(g[owner].name)' holds a value from outside the plan's steps"
                }
            }
            let by = Int(w)
            guard by >= 0, by < writes.count, writes[by].contains(owner) else {
                return "byte \(k) of '\(g[owner].name)' (live \(m.lifetimes[owner].lowerBound)–\(m.lifetimes[owner].upperBound)) was overwritten by step \(by) ('\(g[by].name)'), which writes \(writes[by].map { "'\(g[$0].name)'" }.sorted().joined(separator: ", "))"
            }
        }
        return nil
    }

    /// The SRAM tensor live at `step` that holds arena byte `k`.
    private func live(at k: Int, step: Int) -> NodeID? {
        let list: [(Int, Int, NodeID)]
        if let cached = liveCache[step] { list = cached } else {
            let m = plan.memory
            list = plan.graph.ids.filter { m.regions[$0] == .sram && m.sizes[$0] > 0 && m.lifetimes[$0].contains(step) }
                .map { (m.offsets[$0], m.offsets[$0] + m.sizes[$0], $0) }.sorted { $0.0 < $1.0 }
            liveCache[step] = list
        }
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].0 <= k { lo = mid + 1 } else { hi = mid }
        }
        // Candidates start at or before k; overlapping tensors (a bad plan) are all checked.
        var i = lo - 1
        while i >= 0 {
            if k < list[i].1 { return list[i].2 }
            i -= 1
        }
        return nil
    }
}
