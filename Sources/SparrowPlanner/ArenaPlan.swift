import SparrowIR

/// Where every tensor of a graph lives in one arena of `size` bytes.
///
/// This is the first, simple planner: persistent tensors (parameters, constants,
/// optimizer state, and whatever the caller pins) are laid out first for the whole
/// run; every other tensor lives from the node that produces it to its last reader
/// (inputs and labels from step 0, since the caller writes them before the step)
/// and is placed greedily, largest first, at the lowest offset that does not
/// overlap a tensor alive at the same time (first-fit, as tflite-micro's greedy
/// planner). Nodes that only reinterpret or update a tensor in place (`reshape`,
/// `update`) share their input's bytes.
public struct ArenaPlan: Hashable, Sendable {
    /// Byte offset of each node's tensor in the arena.
    public var offsets: [Int]
    /// Bytes of each node's tensor (0 for an alias; see `storage`).
    public var sizes: [Int]
    /// The node whose allocation each node's tensor uses (itself unless aliased).
    public var storage: [NodeID]
    /// First and last step (node index) during which each allocation is alive.
    public var lifetimes: [ClosedRange<Int>]
    /// Total arena bytes.
    public var size: Int
    /// Bytes of the persistent region at the start of the arena.
    public var persistentSize: Int
    /// Extra bytes after the tensors for kernel scratch (im2col), shared by all nodes.
    public var scratchOffset: Int
    public var scratchSize: Int
}

/// Every allocation is aligned to this many bytes.
public let arenaAlignment = 16

/// Plans the arena of `graph`.
/// - Parameters:
///   - pinned: nodes kept alive for the whole run besides the persistent leaves
///     (the caller reads them after a step, or accumulates into them across steps).
///   - scratchBytes: bytes of kernel scratch to reserve.
public func planArena(_ graph: Graph, pinned: Set<NodeID> = [], scratchBytes: Int = 0) -> ArenaPlan {
    let n = graph.count
    var storage = Array(graph.ids)
    for i in graph.ids {
        switch graph[i].op {
        case .reshape, .update: storage[i] = storage[graph[i].inputs[0]]
        default: break
        }
    }
    var first = Array(graph.ids)
    var last = Array(graph.ids)
    for i in graph.ids {
        for j in graph[i].inputs { last[storage[j]] = max(last[storage[j]], i) }
        last[storage[i]] = max(last[storage[i]], i)
    }
    var persistent = Array(repeating: false, count: n)
    for i in graph.ids where graph[i].op.isPersistentLeaf || pinned.contains(i) { persistent[storage[i]] = true }
    for i in graph.ids where persistent[i] { first[i] = 0; last[i] = max(n - 1, 0) }
    // The caller writes inputs and labels before the first node runs.
    for i in graph.ids where graph[i].op == .input || graph[i].op == .label { first[i] = 0 }

    var sizes = Array(repeating: 0, count: n)
    for i in graph.ids where storage[i] == i { sizes[i] = align(graph[i].type.byteCount) }
    var offsets = Array(repeating: 0, count: n)

    // Persistent region first, in graph order: stable offsets for checkpoints and exports.
    var cursor = 0
    for i in graph.ids where persistent[i] && storage[i] == i {
        offsets[i] = cursor
        cursor += sizes[i]
    }
    let persistentSize = cursor

    // Greedy by size, first fit, over the transient tensors.
    let transient = graph.ids.filter { !persistent[$0] && storage[$0] == $0 && sizes[$0] > 0 }
        .sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    var placed: [NodeID] = []
    var top = persistentSize
    for t in transient {
        let overlapping = placed.filter { first[$0] <= last[t] && first[t] <= last[$0] }
            .sorted { offsets[$0] < offsets[$1] }
        var candidate = persistentSize
        for o in overlapping {
            if candidate + sizes[t] <= offsets[o] { break }
            candidate = max(candidate, offsets[o] + sizes[o])
        }
        offsets[t] = candidate
        placed.append(t)
        top = max(top, candidate + sizes[t])
    }
    for i in graph.ids where storage[i] != i { offsets[i] = offsets[storage[i]] }
    let scratchOffset = top
    return ArenaPlan(
        offsets: offsets, sizes: sizes, storage: storage,
        lifetimes: graph.ids.map { first[$0]...last[$0] },
        size: scratchOffset + align(scratchBytes), persistentSize: persistentSize,
        scratchOffset: scratchOffset, scratchSize: align(scratchBytes))
}

private func align(_ bytes: Int) -> Int { (bytes + arenaAlignment - 1) / arenaAlignment * arenaAlignment }
