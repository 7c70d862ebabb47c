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
    /// Whether a gradient node's region is `.fused` (its kernel applies its update).
    let fused: (NodeID) -> Bool
    let consumers: [[NodeID]]
    let accumulation: Accumulation
    let quantization: PlanQuantization?
    /// Constant tables (channel lists, shapes, scales, multipliers) the kernels read.
    let pool: ConstantPool
    /// FP16 overflow status: `[0]` counts non-finite gradient elements seen this
    /// step, `[1...cores]` are the per-core slots of `sp_f16_count_nonfinite`.
    let overflow: UnsafeMutablePointer<Int32>

    /// The kernel calls of node `id`, in order.
    func calls(_ id: NodeID, precision: Precision) throws(ModelError) -> [BoundCall] {
        switch precision {
        case .fp32: return bindF32(id)
        case .fp16: return try bindF16(id)
        case .int8: return try bindInt8(id)
        }
    }

    /// The update that consumes `id` as its gradient, if any.
    func update(consuming id: NodeID) -> NodeID? {
        consumers[id].first { if case .update = graph[$0].op { return graph[$0].inputs[1] == id } else { return false } }
    }

    // MARK: Arguments

    /// Tensor `id` read as `T`.
    func input<T>(_ id: NodeID, _ type: T.Type) -> In<T> {
        In(pointer: UnsafePointer(address(id).assumingMemoryBound(to: T.self)), c: .tensor(id))
    }

    /// Tensor `id` written as `T`.
    func output<T>(_ id: NodeID, _ type: T.Type) -> Out<T> {
        Out(pointer: address(id).assumingMemoryBound(to: T.self), c: .tensor(id))
    }

    /// An optional input (a bias): NULL when absent.
    func optionalInput<T>(_ id: NodeID?, _ type: T.Type) -> In<T> {
        guard let id else { return In(pointer: nil, c: .null) }
        return input(id, type)
    }

    /// The kernel scratch as a `cType *` (`T` in Swift).
    func scratch<T>(_ type: T.Type, cType: String) -> Out<T> {
        Out(pointer: scratch.assumingMemoryBound(to: T.self), c: .scratch(type: cType))
    }

    /// The channel list of a selection, a constant table.
    func channels(_ sel: ChannelSelection, of node: NodeID) -> In<Int32> {
        pool.ints(sel.indices.map(Int32.init), name: graph[node].name + "_channels")
    }

    func convolution(_ c: Conv2D, input: Shape, output: Shape, for node: NodeID) -> In<sp_conv2d_shape> {
        pool.shape(convShape(c, input: input, output: output), name: graph[node].name + "_shape")
    }

    func window(_ w: Window2D, input: Shape, output: Shape, for node: NodeID) -> In<sp_pool_shape> {
        pool.shape(poolShape(w, input: input, output: output), name: graph[node].name + "_shape")
    }

    /// The frozen weight, trainable slice and channel list of a weight read through a split view.
    func split(_ w: NodeID) -> (full: NodeID, slice: NodeID, sel: In<Int32>, k: Int32)? {
        guard case .splitWeight(let sel) = graph[w].op else { return nil }
        return (graph[w].inputs[0], graph[w].inputs[1], channels(sel, of: w), Int32(sel.count))
    }

    func unsupported(_ id: NodeID, _ detail: String) -> ModelError {
        .planMismatch("'\(graph[id].name)' (\(graph[id].op.name)): \(detail)")
    }
}

/// Constant tables kernels read through pointers (channel lists, scales,
/// requantization multipliers, shapes, requantization records), allocated once
/// per executor and freed with it; pointers stay valid for the pool's lifetime.
/// Each entry also keeps its C form, so an exported project declares the same
/// tables. Equal arrays are stored once.
public final class ConstantPool {
    /// One table as exported C declares it: `static const <type> <name>[count] = {…}`
    /// (or a single struct when `isArray` is false).
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var type: String
        public var isArray: Bool
        /// Initializer text of each element (or the struct's fields).
        public var initializer: [String]
    }

    public private(set) var entries: [Entry] = []
    private var blocks: [UnsafeMutableRawPointer] = []
    private var known: [Entry: (Int, UnsafeMutableRawPointer)] = [:]

    func floats(_ values: [Float], name: String) -> In<Float> {
        store(values, Entry(name: name, type: "float", isArray: true, initializer: values.map(cFloat)))
    }

    func ints(_ values: [Int32], name: String) -> In<Int32> {
        store(values, Entry(name: name, type: "int32_t", isArray: true, initializer: values.map { "\($0)" }))
    }

    func shape(_ s: sp_conv2d_shape, name: String) -> In<sp_conv2d_shape> {
        let fields = [s.in_h, s.in_w, s.in_c, s.out_h, s.out_w, s.out_c, s.k_h, s.k_w, s.stride_h, s.stride_w, s.pad_top, s.pad_left, s.groups]
        return store([s], Entry(name: name, type: "sp_conv2d_shape", isArray: false, initializer: fields.map { "\($0)" }))
    }

    func shape(_ s: sp_pool_shape, name: String) -> In<sp_pool_shape> {
        let fields = [s.in_h, s.in_w, s.c, s.out_h, s.out_w, s.k_h, s.k_w, s.stride_h, s.stride_w, s.pad_top, s.pad_left]
        return store([s], Entry(name: name, type: "sp_pool_shape", isArray: false, initializer: fields.map { "\($0)" }))
    }

    /// A requantization record whose multipliers and shifts are pool tables.
    func requantization(inZeroPoint: Int32, outZeroPoint: Int32, range: ClosedRange<Int32>, mult: In<Int32>, shift: In<Int32>,
                        name: String) -> In<sp_requant_int8> {
        let r = sp_requant_int8(in_zero_point: inZeroPoint, out_zero_point: outZeroPoint, act_min: range.lowerBound,
                                act_max: range.upperBound, mult: mult.pointer, shift: shift.pointer)
        guard case .constant(let m) = mult.c, case .constant(let s) = shift.c else { preconditionFailure("requantization tables must be pool constants") }
        return store([r], Entry(name: name, type: "sp_requant_int8", isArray: false,
                                initializer: ["\(inZeroPoint)", "\(outZeroPoint)", "\(range.lowerBound)", "\(range.upperBound)",
                                              entries[m].name, entries[s].name]))
    }

    private func store<T>(_ values: [T], _ entry: Entry) -> In<T> {
        var key = entry
        key.name = ""
        if let (index, p) = known[key] { return In(pointer: UnsafePointer(p.assumingMemoryBound(to: T.self)), c: .constant(index)) }
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        p.initialize(from: values, count: values.count)
        blocks.append(UnsafeMutableRawPointer(p))
        var named = entry
        named.name = uniqueName(entry.name)
        entries.append(named)
        known[key] = (entries.count - 1, UnsafeMutableRawPointer(p))
        return In(pointer: UnsafePointer(p), c: .constant(entries.count - 1))
    }

    private var names: Set<String> = []
    /// `c_` + the hint with every character but ASCII letters and digits as `_`:
    /// apart from the tensors' `t_` names and the API's `sparrow_` names.
    private func uniqueName(_ hint: String) -> String {
        let base = "c_" + String(hint.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        var name = base, k = 2
        while names.contains(name) { name = "\(base)_\(k)"; k += 1 }
        names.insert(name)
        return name
    }

    /// Scratch storage for a value the executor rebuilds before each call (an `sp_update`); not exported.
    func mutable<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        p.initialize(to: value)
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    deinit { blocks.forEach { $0.deallocate() } }
}

/// A Float as a C literal that reads back to the same bits (hexadecimal).
public func cFloat(_ f: Float) -> String {
    if f.isNaN { return "__builtin_nanf(\"\")" }
    if f.isInfinite { return f < 0 ? "(-__builtin_inff())" : "__builtin_inff()" }
    if f == 0 { return f.sign == .minus ? "-0.0f" : "0.0f" }
    return String(format: "%af", Double(f))
}
