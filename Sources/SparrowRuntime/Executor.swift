import CSparrowKernels
import SparrowIR
import SparrowPlanner

/// Runs a graph through the C kernels over one arena allocated once.
///
/// The arena holds every SRAM tensor at the offset the plan gives it (trainable
/// weights and optimizer state included) plus the kernel scratch: exactly
/// `plan.peakSRAM` bytes, each tensor in its storage type (FP32, FP16, int8).
/// Frozen weights sit in a separate read-only-by-contract flash image, and the
/// kernels' constant tables (shapes, channel lists, scales) in a constant pool,
/// both filled once.
/// Nothing is allocated while stepping. Kernels are called once per simulated
/// core, in order, exactly as the fork-join shim of an exported project would on one core.
public final class Executor {
    public let graph: Graph
    public let plan: MemoryPlan
    /// Kernel "cores" each call is split over (results do not depend on it).
    public let cores: Int
    /// Scales and zero points of an INT8 plan (nil otherwise).
    public let quantization: PlanQuantization?
    private let arena: UnsafeMutableRawPointer
    private let flash: UnsafeMutableRawPointer
    /// Constant tables the kernels read (channel lists, shapes, scales, multipliers).
    private let pool = ConstantPool()
    /// FP16 overflow status (see `KernelBinding.overflow`): `[0]` and one slot per core.
    private let overflow: UnsafeMutablePointer<Int32>
    /// Every node's kernel calls in schedule order; `isUpdate` marks calls that change parameters.
    private(set) var calls: [(id: NodeID, isUpdate: Bool, call: BoundCall)] = []
    /// Step (real units) of each int32 bias: s_x · s_w[oc], by node (INT8 plans).
    private var biasSteps: [NodeID: [Double]] = [:]
    /// Weights (and trainable slices) of depthwise convolutions: channel innermost.
    private var depthwiseWeights = Set<NodeID>()

    /// An executor that plans `graph` itself (evaluation and tests), in FP32.
    /// - Parameters:
    ///   - weights: values of every parameter and constant, by node name.
    ///   - pinned: nodes to keep alive for the whole run (read after a step, or accumulated across steps).
    ///   - frozenInFlash: place weights no update writes in the flash image (as on the device).
    ///   - inPlace: let elementwise ops overwrite inputs that die there (the plan's default).
    public convenience init(graph: Graph, weights: [String: Tensor], pinned: Set<NodeID> = [], cores: Int = 1,
                            frozenInFlash: Bool = true, inPlace: Bool = true) throws(ModelError) {
        var keep = pinned
        if let p = graph.prediction { keep.insert(p) }
        if let l = graph.loss { keep.insert(l) }
        let plan = planMemory(graph, options: PlannerOptions(pinned: keep, frozenInFlash: frozenInFlash, inPlace: inPlace,
                                                             scratchBytes: scratchBytes(graph, cores: cores, precision: .fp32)))
        try self.init(graph: graph, plan: plan, weights: weights, cores: cores)
    }

    /// An executor for a compiled plan: the arena is exactly `plan.memory.peakSRAM` bytes.
    /// - Parameter weights: FP32 values of every parameter of the training graph (see
    ///   `TrainingGraph.parameterValues`), converted to the plan's storage types.
    public convenience init(plan: TrainingPlan, weights: [String: Tensor], cores: Int = 1) throws(ModelError) {
        try self.init(graph: plan.graph, plan: plan.memory, weights: weights, cores: cores,
                      accumulation: plan.accumulation, quantization: plan.quantization)
    }

    /// Runs `graph` with the placements of `plan`, which must have been made for it
    /// with kernel scratch for at least `cores` cores. Each tensor is stored as
    /// `plan.dtypes` says and run by the kernels of `plan.precision`.
    public init(graph: Graph, plan: MemoryPlan, weights: [String: Tensor], cores: Int,
                accumulation: Accumulation = .fp32, quantization: PlanQuantization? = nil) throws(ModelError) {
        precondition(cores >= 1, "Executor needs at least one core")
        let scratch = scratchBytes(graph, cores: cores, precision: plan.precision)
        guard plan.regions.count == graph.count, plan.dtypes.count == graph.count else {
            throw .planMismatch("the memory plan has \(plan.regions.count) entries for a graph of \(graph.count) nodes")
        }
        guard plan.precision != .int8 || quantization != nil else {
            throw .planMismatch("this int8 plan carries no quantization parameters (it was compiled without calibration data); recompile it with calibration data to run it")
        }
        guard plan.scratchSize >= scratch else {
            throw .planMismatch("the plan reserves \(plan.scratchSize) bytes of kernel scratch; the kernels need \(scratch) on \(cores) core(s)")
        }
        self.graph = graph
        self.cores = cores
        self.plan = plan
        self.quantization = quantization
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            let node = graph[id]
            guard let value = weights[node.name] else { throw .missingTensor(node.name) }
            guard value.shape == node.type.shape else {
                throw .tensorShape(tensor: node.name, expected: node.type.shape, found: value.shape)
            }
        }
        arena = .allocate(byteCount: max(plan.peakSRAM, 1), alignment: 64)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(plan.peakSRAM, 1))
        flash = .allocate(byteCount: max(plan.flashBytes, 1), alignment: 64)
        flash.initializeMemory(as: UInt8.self, repeating: 0, count: max(plan.flashBytes, 1))
        overflow = .allocate(capacity: cores + 1)
        overflow.initialize(repeating: 0, count: cores + 1)
        for node in graph.nodes {
            guard case .conv2d(let c) = node.op, c.isDepthwise(inChannels: graph[node.inputs[0]].type.shape[2]) else { continue }
            depthwiseWeights.insert(node.inputs[1])
            if case .splitWeight = graph[node.inputs[1]].op { depthwiseWeights.formUnion(graph[node.inputs[1]].inputs) }
        }
        if let q = quantization {
            for (id, scales) in q.weightScales {
                let channels = depthwiseWeights.contains(id) ? graph[id].type.shape.dims.last : graph[id].type.shape.dims.first
                guard scales.count == channels else {
                    throw .planMismatch("'\(graph[id].name)' has \(scales.count) quantization scales for \(channels ?? 0) output channels")
                }
            }
            for node in graph.nodes where node.inputs.count > 2 && plan.dtypes[node.inputs[2]] == .int32 {
                switch node.op {
                case .conv2d, .linear: break
                default: continue
                }
                var w = node.inputs[1]
                if case .splitWeight = graph[w].op { w = graph[w].inputs[0] }
                guard let px = q.activations[node.inputs[0]], let sw = q.weightScales[w] else {
                    throw .planMismatch("layer '\(node.name)' has an int32 bias but no input scale or weight scales in the plan")
                }
                biasSteps[node.inputs[2]] = sw.map { Double(px.scale) * Double($0) }
            }
        }
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            try store(weights[graph[id].name]!.scalars, to: id)
        }
        // A master copy starts as the exact FP32 value of its parameter.
        for id in graph.ids where graph[id].op == .optimizerState(.master) {
            try store(weights[graph[graph[id].inputs[0]].name]!.scalars, to: id)
        }
        let (sram, rom, regions, offsets) = (arena, flash, plan.regions, plan.offsets)
        let storage = plan.storage
        let binding = KernelBinding(
            graph: graph, dtypes: plan.dtypes,
            address: { (regions[storage[$0]] == .flash ? rom : sram) + offsets[$0] },
            scratch: arena + plan.scratchOffset, fused: { regions[$0] == .fused }, consumers: graph.consumers(), accumulation: accumulation,
            quantization: quantization, pool: pool, overflow: overflow)
        for id in graph.ids {
            // A fused gradient's call is its update: skipped with the updates.
            let isUpdate: Bool
            if case .update = graph[id].op { isUpdate = true } else { isUpdate = regions[id] == .fused }
            for call in try binding.calls(id, precision: plan.precision) { calls.append((id, isUpdate, call)) }
        }
    }

    deinit {
        arena.deallocate()
        flash.deallocate()
        overflow.deallocate()
    }

    /// Arena bytes in use: exactly the plan's peak SRAM.
    public var arenaBytes: Int { plan.peakSRAM }

    /// Host address of a node's tensor: in the arena or the flash image.
    private func pointer(_ id: NodeID) -> UnsafeMutableRawPointer {
        (plan.regions[plan.storage[id]] == .flash ? flash : arena) + plan.offsets[id]
    }

    /// Runs the nodes whose ids fall in `range`, skipping updates unless `updates` is set.
    func run(_ range: Range<NodeID>, context: StepContext, updates: Bool) {
        var env = KernelEnvironment(context: context, core: 0, cores: Int32(cores))
        for entry in calls where range.contains(entry.id) && (updates || !entry.isUpdate) {
            if entry.call.skippedOnOverflow && overflow[0] != 0 { continue }
            for core in 0..<env.cores {
                env.core = core
                entry.call.run(env)
            }
        }
    }

    /// The schedule's kernel calls as C sees them, in execution order.
    public var invocations: [KernelInvocation] {
        calls.map { KernelInvocation(node: $0.id, function: $0.call.function, arguments: $0.call.arguments, written: $0.call.written, rows: $0.call.rows,
                                     skippedOnOverflow: $0.call.skippedOnOverflow, isUpdate: $0.isUpdate) }
    }

    /// The constant tables the calls read (`CExpression.constant(k)` is entry k).
    public var constantTables: [ConstantPool.Entry] { pool.entries }

    /// The bytes a tensor holds in its storage type (an arena or flash tensor).
    public func storedBytes(_ id: NodeID) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer(id), count: storedSize(id)))
    }

    /// Bytes of a tensor's elements in its storage type (bits packed: a mask's bytes).
    public func storedSize(_ id: NodeID) -> Int { plan.dtypes[id].byteCount(elements: graph[id].type.shape.elementCount) }

    /// The flash image: frozen weights at their plan offsets.
    public var flashImage: [UInt8] { Array(UnsafeRawBufferPointer(start: flash, count: plan.flashBytes)) }

    /// Non-finite FP16 gradient elements seen since `resetOverflow()` (0 for other precisions).
    var overflowCount: Int { Int(overflow[0]) }

    /// Starts a step's overflow count from zero.
    func resetOverflow() { overflow[0] = 0 }

    /// Storage type of a node's tensor.
    public func storedType(_ id: NodeID) -> DType { plan.dtypes[id] }

    /// Writes real values into a node's tensor in its storage type: FP32 copied,
    /// FP16 rounded once, int8 activations quantized with the plan's scale and
    /// zero point, int8 weights per output channel, int32 biases in steps of s_x · s_w.
    public func write(_ values: [Float], to id: NodeID) {
        values.withUnsafeBufferPointer { write($0, to: id) }
    }

    /// Sets a parameter or state tensor to real values, converted to its storage type;
    /// throws when they cannot be stored (e.g. int8 weights beyond the plan's scales).
    public func set(_ values: [Float], of id: NodeID) throws(ModelError) {
        guard values.count == graph[id].type.shape.elementCount, graph[id].type.dtype == .fp32 else {
            throw .tensorShape(tensor: graph[id].name, expected: graph[id].type.shape, found: Shape(values.count))
        }
        try store(values, to: id)
    }

    /// Copies real values from a buffer (e.g. one sample of a dataset) into a node's tensor (see `write(_:to:)`).
    public func write(_ values: UnsafeBufferPointer<Float>, to id: NodeID) {
        precondition(values.count == graph[id].type.shape.elementCount && graph[id].type.dtype == .fp32,
                     "write: \(values.count) floats for '\(graph[id].name)' \(graph[id].type)")
        do { try store(values, to: id) } catch { preconditionFailure(error.description) }
    }

    private func store(_ values: [Float], to id: NodeID) throws(ModelError) {
        var failure: ModelError?
        values.withUnsafeBufferPointer { buffer in
            do throws(ModelError) { try store(buffer, to: id) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func store(_ values: UnsafeBufferPointer<Float>, to id: NodeID) throws(ModelError) {
        let p = pointer(id), n = values.count
        guard n > 0 else { return }
        switch plan.dtypes[id] {
        case .fp32:
            p.copyMemory(from: values.baseAddress!, byteCount: n * 4)
        case .fp16:
            let h = p.assumingMemoryBound(to: UInt16.self)
            for (i, v) in values.enumerated() { h[i] = sp_f16_from_f32(v) }
        case .int8:
            let q = p.assumingMemoryBound(to: Int8.self)
            if let a = quantization?.activations[id] {
                // The kernel library's rounding, as the exported project quantizes its input.
                sp_quantize_f32_to_int8(Int32(n), values.baseAddress, a.scale, a.zeroPoint, q, 0, 1)
            } else if let s = quantization?.weightScales[id] {
                let channelOf = channelIndex(id, channels: s.count)
                for (i, v) in values.enumerated() {
                    let scale = s[channelOf(i)]
                    // Weights beyond the calibrated range are not the weights the plan was quantized for.
                    guard abs(v) <= scale * 127.5 || !v.isFinite else {
                        throw .planMismatch("'\(graph[id].name)'[\(i)] = \(v) is outside the int8 range the plan's scale \(scale) allows: pass the weights the plan was compiled with")
                    }
                    q[i] = QuantParams(scale: scale, zeroPoint: 0).quantize(v)
                }
            } else {
                throw .planMismatch("'\(graph[id].name)' is stored as int8 but the plan gives it no quantization parameters")
            }
        case .int32:
            guard let steps = biasSteps[id], steps.count == n else {
                throw .planMismatch("'\(graph[id].name)' is stored as int32 but is no bias of a quantized layer")
            }
            let b = p.assumingMemoryBound(to: Int32.self)
            for (i, v) in values.enumerated() {
                let r = (Double(v) / steps[i]).rounded(.toNearestOrEven)
                b[i] = r.isNaN ? 0 : Int32(max(Double(Int32.min), min(Double(Int32.max), r)))
            }
        case .uint8, .bit:
            throw .planMismatch("'\(graph[id].name)' is stored as \(plan.dtypes[id].rawValue), which holds no real values")
        }
    }

    /// Maps element i of an int8 weight to its output channel: the innermost
    /// dimension of a depthwise weight, the outermost otherwise.
    private func channelIndex(_ id: NodeID, channels: Int) -> (Int) -> Int {
        if depthwiseWeights.contains(id) { return { $0 % channels } }
        let stride = graph[id].type.shape.elementCount / channels
        return { $0 / stride }
    }

    /// Sets an int32 tensor (a class label).
    public func write(int32 values: [Int32], to id: NodeID) {
        precondition(values.count == graph[id].type.shape.elementCount && graph[id].type.dtype == .int32,
                     "write: \(values.count) int32 for '\(graph[id].name)' \(graph[id].type)")
        values.withUnsafeBytes { pointer(id).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// The real values of a node's tensor (FP16 widened exactly, int8 and int32 dequantized).
    public func read(_ id: NodeID) -> [Float] {
        precondition(graph[id].type.dtype == .fp32, "read: '\(graph[id].name)' is \(graph[id].type)")
        let n = graph[id].type.shape.elementCount
        let p = pointer(id)
        switch plan.dtypes[id] {
        case .fp32:
            return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: n))
        case .fp16:
            let h = p.assumingMemoryBound(to: UInt16.self)
            return (0..<n).map { sp_f16_to_f32(h[$0]) }
        case .int8:
            let q = p.assumingMemoryBound(to: Int8.self)
            if let a = quantization?.activations[id] { return (0..<n).map { a.dequantize(q[$0]) } }
            let s = quantization?.weightScales[id] ?? []
            precondition(!s.isEmpty, "read: '\(graph[id].name)' is int8 without quantization parameters")
            let channelOf = channelIndex(id, channels: s.count)
            return (0..<n).map { Float(q[$0]) * s[channelOf($0)] }
        case .int32:
            let b = p.assumingMemoryBound(to: Int32.self), steps = biasSteps[id] ?? []
            return (0..<n).map { Float(Double(b[$0]) * steps[$0]) }
        case .uint8, .bit:
            preconditionFailure("read: '\(graph[id].name)' is stored as \(plan.dtypes[id].rawValue)")
        }
    }

    /// A scalar tensor's real value.
    public func scalar(_ id: NodeID) -> Float { read(id)[0] }

    /// Current values of every parameter and constant, by name.
    public func weights() -> [String: Tensor] {
        var result = [String: Tensor]()
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            result[graph[id].name] = Tensor(shape: graph[id].type.shape, scalars: read(id))
        }
        return result
    }

    /// Overwrites parameters and constants present in `weights` (by name).
    public func load(_ weights: [String: Tensor]) throws(ModelError) {
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            if let w = weights[graph[id].name] { try set(w.scalars, of: id) }
        }
    }
}
