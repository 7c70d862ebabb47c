import CSparrowKernels
import SparrowIR
import SparrowPlanner

/// Everything binding a node to its kernels needs: where each tensor lives, the
/// plan's storage types and numerics, and the constant tables the kernels read.
/// One node lowers to zero or more calls, each made once per core in order
/// (a fork-join per call, as the exported project's shim does).
struct KernelBinding {
    let graph: Graph
    /// Storage type of every node (the plan's `dtypes`).
    let dtypes: [DType]
    let address: (NodeID) -> UnsafeMutableRawPointer
    /// The shared kernel scratch of the plan.
    let scratch: UnsafeMutableRawPointer
    /// The int32 channel list of a selection (a plan constant).
    let indices: (ChannelSelection) -> UnsafePointer<Int32>
    /// Whether a gradient node's region is `.fused` (its kernel applies its update).
    let fused: (NodeID) -> Bool
    let consumers: [[NodeID]]
    let accumulation: Accumulation
    let quantization: PlanQuantization?
    /// Constant tables (scales, multipliers) the int8 kernels read.
    let pool: ConstantPool
    /// FP16 overflow status: `[0]` counts non-finite gradient elements seen this
    /// step, `[1...cores]` are the per-core slots of `sp_f16_count_nonfinite`.
    let overflow: UnsafeMutablePointer<Int32>

    /// The kernel calls of node `id`, in order.
    func calls(_ id: NodeID, precision: Precision) throws(ModelError) -> [KernelCall] {
        switch precision {
        case .fp32:
            let call = bindKernel(id, in: graph, address: address, scratch: scratch.assumingMemoryBound(to: Float.self),
                                  indices: indices, fused: fused, fusedUpdate: { consumers[$0][0] })
            return call.map { [$0] } ?? []
        case .fp16:
            return try bindF16(id)
        case .int8:
            return try bindInt8(id)
        }
    }

    /// The update that consumes `id` as its gradient, if any.
    func update(consuming id: NodeID) -> NodeID? {
        consumers[id].first { if case .update = graph[$0].op { return graph[$0].inputs[1] == id } else { return false } }
    }

    func f32(_ id: NodeID) -> UnsafeMutablePointer<Float> { address(id).assumingMemoryBound(to: Float.self) }
    func f16(_ id: NodeID) -> UnsafeMutablePointer<UInt16> { address(id).assumingMemoryBound(to: UInt16.self) }
    func i8(_ id: NodeID) -> UnsafeMutablePointer<Int8> { address(id).assumingMemoryBound(to: Int8.self) }
    func u8(_ id: NodeID) -> UnsafeMutablePointer<UInt8> { address(id).assumingMemoryBound(to: UInt8.self) }
    func i32(_ id: NodeID) -> UnsafeMutablePointer<Int32> { address(id).assumingMemoryBound(to: Int32.self) }

    /// The frozen weight, trainable slice and channel list of a weight read through a split view.
    func split(_ w: NodeID) -> (full: NodeID, slice: NodeID, sel: UnsafePointer<Int32>, k: Int32)? {
        guard case .splitWeight(let sel) = graph[w].op else { return nil }
        return (graph[w].inputs[0], graph[w].inputs[1], indices(sel), Int32(sel.count))
    }

    func unsupported(_ id: NodeID, _ detail: String) -> ModelError {
        .planMismatch("'\(graph[id].name)' (\(graph[id].op.name)): \(detail)")
    }
}

/// Constant arrays kernels read through pointers (scales, requantization
/// multipliers and shifts, requantization records), allocated once per executor
/// and freed with it; pointers stay valid for the pool's lifetime.
final class ConstantPool {
    private var blocks: [UnsafeMutableRawPointer] = []

    func floats(_ values: [Float]) -> UnsafePointer<Float> { UnsafePointer(store(values)) }
    func ints(_ values: [Int32]) -> UnsafePointer<Int32> { UnsafePointer(store(values)) }

    /// A stable copy of `value` (e.g. a C struct holding pointers into the pool).
    func record<T>(_ value: T) -> UnsafePointer<T> { UnsafePointer(store([value])) }

    private func store<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        p.initialize(from: values, count: values.count)
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    deinit { blocks.forEach { $0.deallocate() } }
}
