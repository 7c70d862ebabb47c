import SparrowIR
import SparrowPlanner
import SparrowRuntime

/// Where the rv32 build of an exported project runs each kernel call's data: the
/// plan's arena lives in L2 (and frozen weights in flash), which a cluster core
/// reaches in many cycles, so before a call the master core copies every tensor the
/// call touches into one L1 buffer with the cluster DMA, the cores compute out of
/// L1 (the kernel scratch too), and the DMA copies what the call wrote back to L2.
/// Of a call whose data does not all fit the buffer, what fits is copied (`plan`)
/// and the rest is used where it lives. Copies change no arithmetic: results stay
/// bit-identical with the native runtime.
public struct L1Staging: Hashable, Sendable {
    /// One contiguous range of the arena or flash copied into L1.
    public struct Copy: Hashable, Sendable {
        public var fromFlash: Bool
        /// Byte offset in the arena (or flash image) and length.
        public var offset: Int
        public var bytes: Int
        /// Where the copy sits in the L1 buffer.
        public var l1Offset: Int
        /// Written by the call: copied back after it.
        public var writeBack: Bool
    }

    /// The L1 layout of one staged call.
    public struct Call: Hashable, Sendable {
        public var copies: [Copy]
        /// L1 offset of the kernel scratch, if the call uses it and it fits (else the
        /// call uses the arena's).
        public var scratch: Int?
        public var bytes: Int
        /// The call runs band by band (double-buffered) on these halves.
        public var bands: Bands?
    }

    /// Staged calls by their index in the executor's invocations.
    public var calls: [Int: Call]
    /// The tensors copied into L1 for each plan step's calls.
    public var tensors: [NodeID: Set<NodeID>] = [:]
    /// Bytes of the L1 buffer: the largest staged call.
    public var bytes: Int

    /// No call staged (a host build, or a target without room in L1).
    public static let none = L1Staging(calls: [:], bytes: 0)

    /// The L1 offset of `id`'s first byte in staged call `k`, if it was copied.
    public func l1Offset(of id: NodeID, call k: Int, plan: TrainingPlan) -> Int? {
        guard let c = calls[k], let r = Self.range(id, plan) else { return nil }
        return c.copies.first { $0.fromFlash == r.flash && $0.offset <= r.offset && r.offset + r.bytes <= $0.offset + $0.bytes }
            .map { $0.l1Offset + r.offset - $0.offset }
    }

    /// The bytes tensor `id` occupies, and where: nil if it has none (fused, a view of nothing stored).
    static func range(_ id: NodeID, _ plan: TrainingPlan) -> (flash: Bool, offset: Int, bytes: Int)? {
        let m = plan.memory
        let region = m.regions[m.storage[id]]
        guard region == .sram || region == .flash else { return nil }
        return (region == .flash, m.offsets[id], m.dtypes[id].byteCount(elements: plan.graph[id].type.shape.elementCount))
    }
}

extension L1Staging {
    /// L1 bytes a target leaves for the buffer: L1 less the cores' stacks and
    /// `reserve` for the program's other data (.data and .bss: the constant tables,
    /// the step context, status words and the kernels' few statics; the harness keeps
    /// its own tables in L2).
    public static func budget(_ t: Target, reserve: Int) -> Int {
        max(0, t.l1.bytes - t.stackBytes * t.cores - reserve)
    }

    /// Stages what fits of every call of `invocations` in `budget` bytes of L1: the
    /// kernel scratch first (if it fits), then the ranges the call only reads, then those it
    /// writes (outputs are mostly written once, inputs read many times), smallest
    /// first within each; what does not fit stays where it is. Each copy starts on a
    /// 16-byte boundary.
    /// A call that can run in row bands (`KernelInvocation.rows`) and does not fit
    /// whole runs in bands (`Bands`) instead, its other data staged as above.
    /// `constants` are the executor's constant tables (the calls' shapes).
    public static func plan(_ plan: TrainingPlan, invocations: [KernelInvocation], constants: [ConstantPool.Entry], budget: Int) -> L1Staging {
        let m = plan.memory
        var calls: [Int: Call] = [:]
        var tensors: [NodeID: Set<NodeID>] = [:]
        func aligned(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        for (k, call) in invocations.enumerated() {
            var ranges: [(flash: Bool, offset: Int, bytes: Int, written: Bool, ids: [NodeID])] = []
            var scratch = false
            for (a, written) in zip(call.arguments, call.written) {
                var ids: [NodeID] = []
                switch a {
                case .tensor(let id): ids = [id]
                case .update(let u): ids = [u.weight] + [u.m, u.v].compactMap { $0 }
                case .scratch: scratch = true
                case .int, .float, .constant, .symbol, .context, .core, .cores, .null, .status: break
                }
                for id in ids {
                    if let r = range(id, plan), r.bytes > 0 { ranges.append((r.flash, r.offset, r.bytes, written, [id])) }
                }
            }
            // Overlapping ranges (views, in-place results) become one copy.
            ranges.sort { ($0.flash ? 1 : 0, $0.offset) < ($1.flash ? 1 : 0, $1.offset) }
            var merged: [(flash: Bool, offset: Int, bytes: Int, written: Bool, ids: [NodeID])] = []
            for r in ranges {
                if let last = merged.last, last.flash == r.flash, r.offset < last.offset + last.bytes {
                    merged[merged.count - 1].bytes = max(last.offset + last.bytes, r.offset + r.bytes) - last.offset
                    merged[merged.count - 1].written = last.written || r.written
                    merged[merged.count - 1].ids += r.ids
                } else {
                    merged.append(r)
                }
            }
            if let rows = call.rows, merged.reduce(0, { $0 + aligned($1.bytes) }) + (scratch ? aligned(m.scratchSize) : 0) > budget,
               case .constant(let c)? = call.arguments.first, let shape = Optional(constants[c].initializer.compactMap { Int($0) }),
               let banded = bandedCall(rows, shape: shape, merged: merged, scratch: scratch ? m.scratchSize : 0, plan: plan, budget: budget) {
                calls[k] = banded
                tensors[call.node, default: []].formUnion(merged.flatMap(\.ids))
                continue
            }
            var at = 0
            var scratchOffset: Int?
            if scratch && m.scratchSize > 0 && aligned(m.scratchSize) <= budget {
                scratchOffset = 0
                at = aligned(m.scratchSize)
            }
            var copies: [Copy] = []
            for r in merged.sorted(by: { ($0.written ? 1 : 0, $0.bytes, $0.offset) < ($1.written ? 1 : 0, $1.bytes, $1.offset) })
            where at + aligned(r.bytes) <= budget {
                copies.append(Copy(fromFlash: r.flash, offset: r.offset, bytes: r.bytes, l1Offset: at, writeBack: r.written && !r.flash))
                at += aligned(r.bytes)
                tensors[call.node, default: []].formUnion(r.ids)
            }
            if !copies.isEmpty || scratchOffset != nil { calls[k] = Call(copies: copies, scratch: scratchOffset, bytes: at) }
        }
        var staging = L1Staging(calls: calls, bytes: calls.values.map(\.bytes).max() ?? 0)
        staging.tensors = tensors
        return staging
    }
}

extension L1Staging {
    /// Call `rows` as bands: its ranges other than the banded input and output (and the
    /// scratch, if it fits) staged once, then two halves; nil if that cannot fit.
    static func bandedCall(_ rows: RowBands, shape: [Int], merged: [(flash: Bool, offset: Int, bytes: Int, written: Bool, ids: [NodeID])],
                           scratch: Int, plan: TrainingPlan, budget: Int) -> Call? {
        func aligned(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        let own = merged.filter { $0.ids.contains(rows.input) || $0.ids.contains(rows.output) }
        // The banded tensors must be copies of their own (not views sharing bytes with others).
        guard own.count == 2, own.allSatisfy({ $0.ids.count == 1 }) else { return nil }
        var at = 0, copies: [Copy] = []
        var scratchOffset: Int?
        if scratch > 0 && aligned(scratch) <= budget / 2 {
            scratchOffset = 0
            at = aligned(scratch)
        }
        for r in merged where !r.ids.contains(rows.input) && !r.ids.contains(rows.output) {
            copies.append(Copy(fromFlash: r.flash, offset: r.offset, bytes: r.bytes, l1Offset: at, writeBack: r.written && !r.flash))
            at += aligned(r.bytes)
        }
        guard at < budget, let bands = bands(rows, shape: shape, plan: plan, shared: at, budget: budget) else { return nil }
        return Call(copies: copies, scratch: scratchOffset, bytes: bands.halves[1] + (bands.halves[1] - bands.halves[0]), bands: bands)
    }
}
