import SparrowIR
import SparrowPlanner

/// Runs a graph through the C kernels over one arena allocated once.
///
/// The arena holds every SRAM tensor at the offset the plan gives it (trainable
/// weights and optimizer state included) plus the kernel scratch: exactly
/// `plan.peakSRAM` bytes. Frozen weights sit in a separate read-only-by-contract
/// flash image, and channel lists in a constants buffer, both filled once.
/// Nothing is allocated while stepping. Kernels are called once per simulated
/// core, in order, exactly as the fork-join shim of an exported project would on one core.
public final class Executor {
    public let graph: Graph
    public let plan: MemoryPlan
    /// Kernel "cores" each call is split over (results do not depend on it).
    public let cores: Int
    private let arena: UnsafeMutableRawPointer
    private let flash: UnsafeMutableRawPointer
    private let constants: UnsafeMutablePointer<Int32>
    private var calls: [(id: NodeID, isUpdate: Bool, call: KernelCall)] = []

    /// An executor that plans `graph` itself (evaluation and tests).
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
        let scratch = graph.ids.map { scratchFloats(graph[$0], in: graph, cores: cores) }.max() ?? 0
        let plan = planMemory(graph, options: PlannerOptions(pinned: keep, frozenInFlash: frozenInFlash, inPlace: inPlace,
                                                             scratchBytes: scratch * 4))
        try self.init(graph: graph, plan: plan, weights: weights, cores: cores)
    }

    /// An executor for a compiled plan: the arena is exactly `plan.memory.peakSRAM` bytes.
    /// - Parameter weights: values of every parameter of the training graph (see `TrainingGraph.parameterValues`).
    public convenience init(plan: TrainingPlan, weights: [String: Tensor], cores: Int = 1) throws(ModelError) {
        try self.init(graph: plan.graph, plan: plan.memory, weights: weights, cores: cores)
    }

    /// Runs `graph` with the placements of `plan`, which must have been made for it
    /// with kernel scratch for at least `cores` cores.
    public init(graph: Graph, plan: MemoryPlan, weights: [String: Tensor], cores: Int) throws(ModelError) {
        precondition(cores >= 1, "Executor needs at least one core")
        let scratch = graph.ids.map { scratchFloats(graph[$0], in: graph, cores: cores) }.max() ?? 0
        guard plan.precision == .fp32 else {
            throw .planMismatch("this plan stores tensors as \(plan.precision.rawValue); the native runtime executes FP32 plans so far")
        }
        guard plan.regions.count == graph.count else {
            throw .planMismatch("the memory plan has \(plan.regions.count) entries for a graph of \(graph.count) nodes")
        }
        guard plan.scratchSize >= scratch * 4 else {
            throw .planMismatch("the plan reserves \(plan.scratchSize) bytes of kernel scratch; the kernels need \(scratch * 4) on \(cores) core(s)")
        }
        self.graph = graph
        self.cores = cores
        self.plan = plan
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
        var selections: [ChannelSelection: Int] = [:]
        var channelLists: [Int32] = []
        for node in graph.nodes {
            switch node.op {
            case .splitWeight(let sel), .gatherChannels(let sel):
                if selections[sel] == nil {
                    selections[sel] = channelLists.count
                    channelLists += sel.indices.map(Int32.init)
                }
            default: break
            }
        }
        constants = .allocate(capacity: max(channelLists.count, 1))
        constants.initialize(from: channelLists + [0], count: max(channelLists.count, 1))
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            write(weights[graph[id].name]!.scalars, to: id)
        }
        let scratchPointer = (arena + plan.scratchOffset).assumingMemoryBound(to: Float.self)
        let (sram, rom, table, regions, offsets) = (arena, flash, constants, plan.regions, plan.offsets)
        let storage = plan.storage
        func address(_ id: NodeID) -> UnsafeMutableRawPointer {
            (regions[storage[id]] == .flash ? rom : sram) + offsets[id]
        }
        let consumers = graph.consumers()
        for id in graph.ids {
            guard let call = bindKernel(id, in: graph, address: address, scratch: scratchPointer,
                                        indices: { UnsafePointer(table + selections[$0]!) },
                                        fused: { regions[$0] == .fused }, fusedUpdate: { consumers[$0][0] }) else { continue }
            // A fused gradient's call is its update: skipped with the updates.
            let isUpdate: Bool
            if case .update = graph[id].op { isUpdate = true } else { isUpdate = regions[id] == .fused }
            calls.append((id, isUpdate, call))
        }
    }

    deinit {
        arena.deallocate()
        flash.deallocate()
        constants.deallocate()
    }

    /// Arena bytes in use: exactly the plan's peak SRAM.
    public var arenaBytes: Int { plan.peakSRAM }

    /// Host address of a node's tensor: in the arena or the flash image.
    private func pointer(_ id: NodeID) -> UnsafeMutableRawPointer {
        (plan.regions[plan.storage[id]] == .flash ? flash : arena) + plan.offsets[id]
    }

    /// Runs the nodes whose ids fall in `range`, skipping updates unless `updates` is set.
    func run(_ range: Range<NodeID>, context: StepContext, updates: Bool) {
        let n = Int32(cores)
        for entry in calls where range.contains(entry.id) && (updates || !entry.isUpdate) {
            for core in 0..<n { entry.call(context, core, n) }
        }
    }

    /// Runs every node once, updates included, with `context`.
    func runAll(context: StepContext) { run(graph.ids, context: context, updates: true) }

    /// Copies fp32 values into a node's tensor.
    public func write(_ values: [Float], to id: NodeID) {
        precondition(values.count == graph[id].type.shape.elementCount && graph[id].type.dtype == .fp32,
                     "write: \(values.count) floats for '\(graph[id].name)' \(graph[id].type)")
        values.withUnsafeBytes { pointer(id).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Copies fp32 values from a buffer (e.g. one sample of a dataset) into a node's tensor.
    public func write(_ values: UnsafeBufferPointer<Float>, to id: NodeID) {
        precondition(values.count == graph[id].type.shape.elementCount && graph[id].type.dtype == .fp32,
                     "write: \(values.count) floats for '\(graph[id].name)' \(graph[id].type)")
        pointer(id).copyMemory(from: values.baseAddress!, byteCount: values.count * 4)
    }

    /// Sets an int32 tensor (a class label).
    public func write(int32 values: [Int32], to id: NodeID) {
        precondition(values.count == graph[id].type.shape.elementCount && graph[id].type.dtype == .int32,
                     "write: \(values.count) int32 for '\(graph[id].name)' \(graph[id].type)")
        values.withUnsafeBytes { pointer(id).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// The fp32 values of a node's tensor.
    public func read(_ id: NodeID) -> [Float] {
        precondition(graph[id].type.dtype == .fp32, "read: '\(graph[id].name)' is \(graph[id].type)")
        let n = graph[id].type.shape.elementCount
        let p = pointer(id).assumingMemoryBound(to: Float.self)
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// A scalar fp32 tensor's value.
    public func scalar(_ id: NodeID) -> Float { pointer(id).load(as: Float.self) }

    /// Current values of every parameter and constant, by name.
    public func weights() -> [String: Tensor] {
        var result = [String: Tensor]()
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            result[graph[id].name] = Tensor(shape: graph[id].type.shape, scalars: read(id))
        }
        return result
    }

    /// Overwrites parameters and constants present in `weights` (by name).
    public func load(_ weights: [String: Tensor]) {
        for id in graph.ids where graph[id].op == .parameter || graph[id].op == .constant {
            if let w = weights[graph[id].name] { write(w.scalars, to: id) }
        }
    }
}
