import SparrowIR

/// What the planner needs to know beyond the graph.
public struct PlannerOptions: Hashable, Sendable {
    /// Nodes kept alive for the whole run (read after a step, or accumulated across steps).
    public var pinned: Set<NodeID> = []
    /// Parameters that are read but never updated go to flash; with false they are
    /// placed in the arena like everything else (the host's inference executor).
    public var frozenInFlash = true
    /// Let an elementwise op write over an input that dies at that op.
    public var inPlace = true
    /// Bytes of kernel scratch reserved after the tensors.
    public var scratchBytes = 0
    /// Let a weight or bias gradient that only its update reads be applied inside
    /// the gradient kernel, so it is never stored (see `Region.fused`).
    public var fuseUpdates = false
    /// Storage format; sizes follow `storageTypes(graph, precision:)`.
    public var precision: Precision = .fp32

    public init(pinned: Set<NodeID> = [], frozenInFlash: Bool = true, inPlace: Bool = true, scratchBytes: Int = 0,
                fuseUpdates: Bool = false, precision: Precision = .fp32) {
        self.precision = precision
        self.pinned = pinned
        self.frozenInFlash = frozenInFlash
        self.inPlace = inPlace
        self.scratchBytes = scratchBytes
        self.fuseUpdates = fuseUpdates
    }
}

/// Plans where every tensor of `graph` lives when its nodes run in order.
///
/// The algorithm, in four passes:
/// 0. **Fusion.** With `fuseUpdates`, a weight or bias gradient whose only
///    reader is its parameter's update is never stored: the gradient kernel
///    applies the update element by element (`Region.fused`).
/// 1. **Views.** `reshape` and `update` reuse their first input's bytes and
///    `splitWeight` has none (its kernels read both halves). With `inPlace`, an
///    elementwise op (activation, masked gradient, add) whose input dies at that
///    op writes over it; the result becomes a view of the input's allocation.
/// 2. **Lifetimes.** An allocation lives from the step that produces it (step 0
///    for inputs and labels, which the caller writes before the step) to the last
///    step that reads it or any view of it. Parameters, constants, optimizer state
///    and pinned nodes live for the whole step.
/// 3. **Regions.** Parameters that no update writes, and constants, go to flash
///    (in graph order) when `frozenInFlash`; everything else to the SRAM arena.
///    Persistent SRAM tensors are laid out first, in graph order, so their offsets
///    are stable; then the others are placed greedily, largest first, at the lowest
///    offset that does not overlap an allocation alive at the same time (first fit,
///    as tflite-micro's greedy planner). Kernel scratch goes after the tensors.
/// 4. **Figures.** The live-set lower bound (most bytes alive at one step) and
///    the step where it occurs.
public func planMemory(_ graph: Graph, options: PlannerOptions = PlannerOptions()) -> MemoryPlan {
    let n = graph.count
    let consumers = graph.consumers()
    let dtypes = storageTypes(graph, precision: options.precision)
    func bytes(_ i: NodeID) -> Int { dtypes[i].byteCount(elements: graph[i].type.shape.elementCount) }
    let updated = Set(graph.ids.compactMap { id -> NodeID? in
        if case .update = graph[id].op { return graph[id].inputs[0] }
        return nil
    })
    var persistent = Array(repeating: false, count: n)
    for i in graph.ids where graph[i].op.isPersistentLeaf || options.pinned.contains(i) { persistent[i] = true }
    var region = Array(repeating: Region.sram, count: n)

    // 0. Fused gradients.
    for g in graph.ids where options.fuseUpdates && !persistent[g] && isFusable(g, in: graph, consumers: consumers) {
        region[g] = .fused
    }

    // 1. Views: fixed ones first, so pinning reaches the allocation behind a view, then in-place results.
    var storage = Array(graph.ids)
    for i in graph.ids {
        switch graph[i].op {
        case .reshape, .update:
            storage[i] = storage[graph[i].inputs[0]]
            region[i] = .view
        case .splitWeight:
            region[i] = .view
        default:
            break
        }
    }
    for i in graph.ids where persistent[i] { persistent[storage[i]] = true }
    // A view may point at a node that later became a view itself: follow the chain.
    func root(_ i: NodeID) -> NodeID {
        var r = i
        while storage[r] != r { r = storage[r] }
        return r
    }
    for i in graph.ids where options.inPlace && !persistent[i] {
        switch graph[i].op {
        case .activation, .maskedGradient, .add:
            // Reuse the first input whose allocation ends here and has the same size.
            for j in graph[i].inputs {
                let r = root(j)
                guard !persistent[r], region[r] == .sram, bytes(r) == bytes(i),
                      lastReader(of: r, root: root, consumers: consumers) == i else { continue }
                storage[i] = r
                region[i] = .view
                break
            }
        default:
            break
        }
    }
    for i in graph.ids { storage[i] = root(i) }

    // 2. Lifetimes of allocations.
    var first = Array(graph.ids), last = Array(graph.ids)
    for i in graph.ids {
        for j in graph[i].inputs { last[storage[j]] = max(last[storage[j]], i) }
        last[storage[i]] = max(last[storage[i]], i)
    }
    for i in graph.ids where graph[i].op == .input || graph[i].op == .label { first[i] = 0 }
    for i in graph.ids where persistent[storage[i]] { first[storage[i]] = 0; last[storage[i]] = max(n - 1, 0) }

    // 3. Regions and offsets.
    var sizes = Array(repeating: 0, count: n)
    var offsets = Array(repeating: 0, count: n)
    var flash = 0
    for i in graph.ids where region[i] != .view && region[i] != .fused {
        let frozen = (graph[i].op == .parameter && !updated.contains(i)) || graph[i].op == .constant
        if frozen && options.frozenInFlash {
            region[i] = .flash
            sizes[i] = aligned(bytes(i))
            offsets[i] = flash
            flash += sizes[i]
        } else {
            sizes[i] = aligned(bytes(i))
        }
    }
    var cursor = 0
    for i in graph.ids where region[i] == .sram && persistent[i] {
        offsets[i] = cursor
        cursor += sizes[i]
    }
    let persistentBytes = cursor
    let transient = graph.ids.filter { region[$0] == .sram && !persistent[$0] && sizes[$0] > 0 }
        .sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    var placed: [NodeID] = []
    var top = persistentBytes
    for t in transient {
        let overlapping = placed.filter { first[$0] <= last[t] && first[t] <= last[$0] }.sorted { offsets[$0] < offsets[$1] }
        var candidate = persistentBytes
        for o in overlapping {
            if candidate + sizes[t] <= offsets[o] { break }
            candidate = max(candidate, offsets[o] + sizes[o])
        }
        offsets[t] = candidate
        placed.append(t)
        top = max(top, candidate + sizes[t])
    }
    for i in graph.ids where region[i] == .view { offsets[i] = offsets[storage[i]] }

    // 4. Figures.
    let scratch = aligned(options.scratchBytes)
    var plan = MemoryPlan(
        regions: region, offsets: offsets, sizes: sizes, storage: storage,
        lifetimes: graph.ids.map { first[$0]...last[$0] }, peakSRAM: top + scratch, flashBytes: flash,
        persistentBytes: persistentBytes, scratchOffset: top, scratchSize: scratch, lowerBound: 0, peakStep: 0,
        precision: options.precision, dtypes: dtypes)
    let live = plan.liveBytesPerStep
    if let (step, bytes) = live.enumerated().max(by: { $0.element < $1.element }) {
        plan.peakStep = step
        plan.lowerBound = bytes + scratch
    } else {
        plan.lowerBound = scratch
    }
    return plan
}

/// A weight or bias gradient read only by its parameter's update, as its gradient.
func isFusable(_ g: NodeID, in graph: Graph, consumers: [[NodeID]]) -> Bool {
    switch graph[g].op {
    case .conv2dWeightGrad, .linearWeightGrad, .biasGrad: break
    default: return false
    }
    guard consumers[g].count == 1, case .update = graph[consumers[g][0]].op else { return false }
    let u = graph[consumers[g][0]]
    return u.inputs.count > 1 && u.inputs[1] == g && !u.inputs[2...].contains(g)
}

/// The last node that reads allocation `r`, directly or through any view of it decided so far.
private func lastReader(of r: NodeID, root: (NodeID) -> NodeID, consumers: [[NodeID]]) -> NodeID {
    var latest = r
    for v in consumers.indices where root(v) == r {
        for c in consumers[v] { latest = max(latest, c) }
    }
    return latest
}
