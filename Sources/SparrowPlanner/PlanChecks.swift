import SparrowIR

/// Checks a decoded placement against its graph, with errors naming the entry.
///
/// `verifyMemoryPlan` checks overlaps, bounds, alignment and views; a file can be
/// wrong in more ways than a planner can, so this also checks what the runtime
/// and the exported C rely on without re-checking:
/// - views: only `split_weight` has no storage; `reshape` and `update` are views of
///   their first input's storage; elementwise ops may be views of one input's storage;
///   no other op is a view;
/// - lifetimes: an allocation is alive at every step that writes it or reads it,
///   directly or through a view;
/// - flash holds only parameters and constants that no update writes, laid out
///   contiguously in schedule order, and `flash_bytes` is their total;
/// - the persistent region `[0, persistent_bytes)` is packed with allocations alive
///   for the whole step, and holds every parameter, constant and optimizer state in SRAM;
/// - `scratch_offset` is the end of the highest SRAM allocation (or of the persistent
///   region), `peak_sram = scratch_offset + scratch_size`, and `lower_bound` and
///   `peak_step` are the largest live set plus scratch and its first step;
/// - with a budget, `peak_sram` is within it.
struct PlanChecks {
    let file: String
    let graph: Graph
    let memory: MemoryPlan

    private func fail(_ i: NodeID?, _ detail: String) -> PlanFileError {
        .placement(file: file, entry: i.map { graph[$0].name }, detail: detail)
    }

    private func span(_ i: NodeID) -> String { "\(memory.offsets[i])..<\(memory.offsets[i] + memory.sizes[i])" }

    private func steps(_ r: ClosedRange<Int>) -> String { "steps \(r.lowerBound)…\(r.upperBound)" }

    func check(budget: Int?) throws(PlanFileError) {
        let m = memory
        let whole = 0...(graph.count - 1)
        try checkEntries(whole: whole)
        try checkReads()

        var packed = 0, top = m.persistentBytes
        for i in graph.ids where m.regions[i] == .sram && m.sizes[i] > 0 {
            top = max(top, m.offsets[i] + m.sizes[i])
            guard m.offsets[i] < m.persistentBytes else { continue }
            guard m.offsets[i] + m.sizes[i] <= m.persistentBytes else {
                throw fail(i, "at \(span(i)) straddles the end of the persistent region at \(m.persistentBytes)")
            }
            guard m.lifetimes[i] == whole else {
                throw fail(i, "lies in the persistent region [0, \(m.persistentBytes)) but lives only during \(steps(m.lifetimes[i]))")
            }
            packed += m.sizes[i]
        }
        guard packed == m.persistentBytes else {
            throw fail(nil, "persistent_bytes is \(m.persistentBytes), but the allocations in [0, \(m.persistentBytes)) take \(packed) bytes")
        }
        guard m.scratchOffset == top else {
            throw fail(nil, "scratch_offset is \(m.scratchOffset), but the SRAM allocations end at \(top)")
        }
        guard m.scratchSize % memoryAlignment == 0 else {
            throw fail(nil, "scratch_size \(m.scratchSize) is not a multiple of \(memoryAlignment)")
        }
        guard m.peakSRAM == m.scratchOffset + m.scratchSize else {
            throw fail(nil, "peak_sram is \(m.peakSRAM), but scratch_offset + scratch_size is \(m.scratchOffset + m.scratchSize)")
        }

        // Live bytes per step by a difference array: linear however long the lifetimes.
        var delta = Array(repeating: 0, count: graph.count + 1)
        for i in graph.ids where m.regions[i] == .sram && m.sizes[i] > 0 {
            delta[m.lifetimes[i].lowerBound] += m.sizes[i]
            delta[m.lifetimes[i].upperBound + 1] -= m.sizes[i]
        }
        var live = 0, most = -1, peakStep = 0
        for s in graph.ids {
            live += delta[s]
            if live > most { (most, peakStep) = (live, s) }
        }
        guard m.lowerBound == most + m.scratchSize, m.peakStep == peakStep else {
            throw fail(nil, "lower_bound \(m.lowerBound) at peak_step \(m.peakStep) differ from the largest live set: \(most) bytes (+ \(m.scratchSize) scratch) first at step \(peakStep)")
        }
        if let budget, m.peakSRAM > budget {
            throw fail(nil, "peak_sram \(m.peakSRAM) exceeds the plan's budget of \(budget) bytes")
        }
        try checkOverlaps()
        do { try verifyMemoryPlan(m, for: graph) } catch { throw fail(nil, error.description) }
    }

    /// Each entry's own region, storage, size, alignment and (in flash) position.
    private func checkEntries(whole: ClosedRange<Int>) throws(PlanFileError) {
        let m = memory
        var updated = Set<NodeID>()
        for i in graph.ids { if case .update = graph[i].op { updated.insert(graph[i].inputs[0]) } }
        let consumers = graph.consumers()
        var flash = 0
        for i in graph.ids {
            let node = graph[i], s = m.storage[i], kind = OpCoding.kind(of: node.op)
            var inPlace: Bool {
                switch node.op {
                case .reshape, .update: return true
                default: return false
                }
            }
            if m.regions[i] == .fused {
                guard s == i, m.sizes[i] == 0, m.offsets[i] == 0 else { throw fail(i, "a fused gradient is never stored: no bytes, offset 0, no storage") }
                guard isFusable(i, in: graph, consumers: consumers) else {
                    throw fail(i, "only a weight or bias gradient read by nothing but its parameter's update can be fused")
                }
                continue
            }
            guard m.regions[i] == .view else {
                guard s == i else { throw fail(i, "an allocation in \(m.regions[i].rawValue) is its own storage; 'storage' is for views") }
                guard !inPlace, !node.op.isSplitWeight else { throw fail(i, "a \(kind) has no bytes of its own; its region must be 'view'") }
                let needed = m.dtypes[i].byteCount(elements: node.type.shape.elementCount)
                guard m.sizes[i] >= needed else {
                    throw fail(i, "has \(m.sizes[i]) bytes, but its \(node.type) tensor stored as \(m.dtypes[i].rawValue) needs \(needed)")
                }
                guard m.sizes[i] % memoryAlignment == 0, m.offsets[i] % memoryAlignment == 0 else {
                    throw fail(i, "offset \(m.offsets[i]) and bytes \(m.sizes[i]) must be multiples of \(memoryAlignment)")
                }
                if m.regions[i] == .flash {
                    guard node.op == .parameter || node.op == .constant, !updated.contains(i) else {
                        throw fail(i, "flash is read-only: it holds parameters and constants that no update writes, not a \(updated.contains(i) ? "trained parameter" : kind)")
                    }
                    guard m.offsets[i] == flash else {
                        throw fail(i, "is at flash offset \(m.offsets[i]); flash is laid out in schedule order, so it should be at \(flash)")
                    }
                    flash += m.sizes[i]
                } else if node.op.isPersistentLeaf {
                    guard m.lifetimes[i] == whole, m.offsets[i] + m.sizes[i] <= m.persistentBytes else {
                        throw fail(i, "a \(kind) in SRAM keeps its value across steps: it must live during \(steps(whole)) inside the persistent region [0, \(m.persistentBytes))")
                    }
                }
                continue
            }
            guard m.sizes[i] == 0 else { throw fail(i, "a view has no bytes of its own, but 'bytes' is \(m.sizes[i])") }
            if s == i {
                guard node.op.isSplitWeight else {
                    throw fail(i, "only a split_weight is a view without storage; a \(kind) needs 'storage' naming the allocation it uses")
                }
                continue
            }
            guard !node.op.isSplitWeight else { throw fail(i, "a split_weight has no storage; remove 'storage'") }
            guard m.regions[s] != .view, m.storage[s] == s else {
                throw fail(i, "its storage '\(graph[s].name)' is itself a view; name the allocation behind it")
            }
            switch node.op {
            case .reshape, .update, .activation, .maskedGradient, .add: break
            default: throw fail(i, "a \(kind) writes a result of its own and cannot be a view; only reshape, update and elementwise ops (activations, masked_grad, add) work in place")
            }
            guard node.inputs.contains(where: { m.storage[$0] == s }) else {
                throw fail(i, "a view works in place on one of its inputs, but its storage '\(graph[s].name)' is none of theirs")
            }
            guard !inPlace || s == m.storage[node.inputs[0]] else {
                throw fail(i, "a \(kind) works in place: its storage must be that of its first input '\(graph[node.inputs[0]].name)'")
            }
            guard m.offsets[i] == m.offsets[s] else {
                throw fail(i, "is at offset \(m.offsets[i]), but its storage '\(graph[s].name)' is at \(m.offsets[s])")
            }
            guard m.dtypes[i].byteCount(elements: node.type.shape.elementCount) <= m.sizes[s] else {
                throw fail(i, "its \(node.type) tensor needs \(m.dtypes[i].byteCount(elements: node.type.shape.elementCount)) bytes, but its storage '\(graph[s].name)' has \(m.sizes[s])")
            }
        }
        guard flash == m.flashBytes else { throw fail(nil, "flash_bytes is \(m.flashBytes), but the flash allocations take \(flash)") }
    }

    /// The allocations behind tensor `j`: its storage, or for a split weight those of its inputs.
    private func allocations(behind j: NodeID) -> [NodeID] {
        var result: [NodeID] = [], pending = [j], seen = Set<NodeID>()
        while let k = pending.popLast() {
            guard seen.insert(k).inserted else { continue }
            if memory.regions[k] == .view && memory.storage[k] == k { pending += graph[k].inputs } else { result.append(memory.storage[k]) }
        }
        return result
    }

    /// Every allocation is alive when its tensor is written and whenever it is read.
    private func checkReads() throws(PlanFileError) {
        for i in graph.ids {
            for j in graph[i].inputs + [i] {
                for a in allocations(behind: j) where !memory.lifetimes[a].contains(i) {
                    let what = j == i ? "writes its result" : "reads '\(graph[j].name)'"
                    throw fail(i, "\(what) at step \(i), but the allocation '\(graph[a].name)' lives only during \(steps(memory.lifetimes[a]))")
                }
            }
        }
    }

    /// No two allocations of one region that are alive at the same step share a byte.
    private func checkOverlaps() throws(PlanFileError) {
        let m = memory
        for region in [Region.sram, .flash] {
            let roots = graph.ids.filter { m.regions[$0] == region && m.sizes[$0] > 0 }
                .sorted { m.offsets[$0] != m.offsets[$1] ? m.offsets[$0] < m.offsets[$1] : $0 < $1 }
            for (k, a) in roots.enumerated() {
                for b in roots[(k + 1)...] {
                    guard m.offsets[b] < m.offsets[a] + m.sizes[a] else { break }
                    guard m.lifetimes[a].overlaps(m.lifetimes[b]) else { continue }
                    let (early, late) = (min(a, b), max(a, b))
                    throw fail(late, "at \(region.rawValue) \(span(late)) overlaps '\(graph[early].name)' at \(span(early)) while both are alive (\(steps(m.lifetimes[late])) and \(steps(m.lifetimes[early])))")
                }
            }
        }
    }
}
