import SparrowAutodiff
import SparrowIR

/// Reads a parsed plan file into a `TrainingPlan`: the settings, the schedule
/// (rebuilt through `Graph.append`), the training graph's maps and the spec; the
/// placement is then checked by `PlanChecks`.
struct PlanDecoder {
    let file: String
    let top: PlanFields

    static let topKeys = ["format", "version", "model", "optimizer", "flags", "budget", "figures", "prediction", "loss",
                          "forward_end", "layers", "slices", "trainable", "gradients", "updates", "quantization", "tuning",
                          "schedule"]
    static let entryKeys = ["step", "name", "op", "inputs", "dtype", "shape", "phase", "region", "offset", "bytes",
                            "storage", "stored_as", "live"]
    static let figureKeys = ["peak_sram", "flash_bytes", "lower_bound", "persistent_bytes", "scratch_offset",
                             "scratch_size", "peak_step"]

    /// What an entry says about its tensor's place, before names are resolved.
    struct Placement {
        var region: Region
        var offset: Int
        var bytes: Int
        var storage: String?
        var live: (first: Int, last: Int)
        var phase: String
        var storedAs: DType?
    }

    func decode() throws(PlanFileError) -> TrainingPlan {
        try top.only(PlanDecoder.topKeys)
        let modelName = try top.string("model")
        guard modelName.utf8.count <= TrainingPlan.maxNameBytes else { throw top.invalid("model", "is longer than \(TrainingPlan.maxNameBytes) bytes") }
        let optimizer = try OpCoding.optimizer(try top.value("optimizer"), file: file, at: .topLevel, field: "optimizer")
        let flags = try top.object("flags")
        try flags.only(["reorder_updates", "gradient_accumulation", "precision", "accumulation"])
        let reorder = try flags.bool("reorder_updates"), accumulate = try flags.bool("gradient_accumulation")
        var precision = Precision.fp32
        if flags.has("precision") {
            let p = try flags.string("precision")
            guard let known = Precision(rawValue: p) else {
                throw flags.invalid("precision", "'\(p)' is not a precision; known: \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            precision = known
        }
        var accumulation = Accumulation.fp32
        if flags.has("accumulation") {
            let a = try flags.string("accumulation")
            guard precision == .fp16 else { throw flags.invalid("accumulation", "applies to fp16 plans only; this plan is \(precision.rawValue)") }
            guard let known = Accumulation(rawValue: a) else {
                throw flags.invalid("accumulation", "'\(a)' is not an accumulation mode; known: \(Accumulation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            accumulation = known
        }
        let budget = try top.optionalInt("budget", 0...Int.max)
        let fig = try top.object("figures")
        try fig.only(PlanDecoder.figureKeys)

        let (graph, placements) = try schedule(optimizer: optimizer)
        let n = graph.count
        func id(_ name: String?, field: String, at: PlanFileError.Location = .topLevel) throws(PlanFileError) -> NodeID? {
            guard let name else { return nil }
            guard let i = graph.id(named: name) else {
                throw .unknownName(file: file, at: at, field: field, name: name, detail: "is no schedule entry")
            }
            return i
        }
        var g = graph
        g.prediction = try id(try top.optionalName("prediction"), field: "prediction")
        g.loss = try id(try top.optionalName("loss"), field: "loss")
        if let l = g.loss, g[l].type.shape.rank != 0 {
            throw top.invalid("loss", "'\(g[l].name)' must be a scalar, is \(g[l].type.shape)")
        }
        let forwardEnd = try top.int("forward_end", 0...n)

        let maps = TrainingMaps(file: file, top: top, graph: g, optimizer: optimizer)
        let trainable = try maps.trainable()
        let gradients = try maps.map("gradients", trainable: trainable)
        let updates = try maps.map("updates", trainable: trainable)
        try maps.checkUpdates(trainable: trainable, gradients: gradients, updates: updates)
        let slices = try maps.slices()
        let layers = try maps.layers(slices: slices)
        let training = TrainingGraph(graph: g, trainable: trainable, gradients: gradients, updates: updates,
                                     optimizer: optimizer, forwardEnd: forwardEnd, slices: slices)
        for i in g.ids where placements[i].phase != training.phase(of: i).rawValue {
            throw .invalidField(file: file, at: .entry(g[i].name), field: "phase",
                                detail: "is '\(placements[i].phase)', but a \(OpCoding.kind(of: g[i].op)) at step \(i) with forward_end \(forwardEnd) is '\(training.phase(of: i).rawValue)'")
        }

        var storage: [NodeID] = []
        storage.reserveCapacity(n)
        for i in g.ids {
            storage.append(try id(placements[i].storage, field: "storage", at: .entry(g[i].name)) ?? i)
        }
        let peakStep = try fig.int("peak_step", 0...max(n - 1, 0))
        // Storage types follow from the precision; an entry names its own only where it differs.
        let dtypes = storageTypes(g, precision: precision)
        for i in g.ids where placements[i].storedAs != (dtypes[i] == g[i].type.dtype ? nil : dtypes[i]) {
            throw .invalidField(file: file, at: .entry(g[i].name), field: "stored_as",
                                detail: "under \(precision.rawValue) this tensor is stored as \(dtypes[i].rawValue)"
                                    + (dtypes[i] == g[i].type.dtype ? ", its own dtype, so 'stored_as' is omitted" : ""))
        }
        let bytes = 0...TrainingPlan.maxPlanBytes
        let memory = MemoryPlan(
            regions: placements.map(\.region), offsets: placements.map(\.offset), sizes: placements.map(\.bytes),
            storage: storage, lifetimes: placements.map { $0.live.first...$0.live.last },
            peakSRAM: try fig.int("peak_sram", bytes), flashBytes: try fig.int("flash_bytes", bytes),
            persistentBytes: try fig.int("persistent_bytes", bytes), scratchOffset: try fig.int("scratch_offset", bytes),
            scratchSize: try fig.int("scratch_size", bytes), lowerBound: try fig.int("lower_bound", bytes), peakStep: peakStep,
            precision: precision, dtypes: dtypes)
        try PlanChecks(file: file, graph: g, memory: memory).check(budget: budget)
        var quantization: PlanQuantization?
        if top.has("quantization") {
            guard precision == .int8 else { throw top.invalid("quantization", "applies to int8 plans only; this plan is \(precision.rawValue)") }
            quantization = try PlanQuantizationCoding.decode(try top.object("quantization"), graph: g, dtypes: dtypes)
        }
        let tuning = top.has("tuning") ? try KernelTuningCoding.decode(try top.object("tuning"), graph: g) : nil
        return TrainingPlan(modelName: modelName, training: training, memory: memory, layers: layers, budget: budget,
                            reorderUpdates: reorder, gradientAccumulation: accumulate, accumulation: accumulation,
                            quantization: quantization, tuning: tuning)
    }

    /// The schedule: every entry appended to a new graph in file order (so each is
    /// type-checked against those before it), and its placement fields.
    private func schedule(optimizer: Optimizer) throws(PlanFileError) -> (Graph, [Placement]) {
        guard case .array(let entries) = try top.value("schedule") else {
            throw top.invalid("schedule", "must be an array of entries, found \(top.fields["schedule"]!.kindDescription)")
        }
        guard entries.count <= TrainingPlan.maxScheduleEntries else {
            throw .tooLarge(file: file, detail: "the schedule has \(entries.count) entries; plans are limited to \(TrainingPlan.maxScheduleEntries)")
        }
        guard !entries.isEmpty else { throw top.invalid("schedule", "must not be empty") }
        // Names first, so that an input naming a later entry gets its own message.
        var steps: [String: Int] = [:]
        var fields: [PlanFields] = []
        for (k, e) in entries.enumerated() {
            let f = try PlanFields(e, file: file, at: .entryIndex(k), field: "schedule[\(k)]")
            let name = try f.name("name")
            if steps[name] == nil { steps[name] = k }
            fields.append(PlanFields(file: file, at: .entry(name), path: "", fields: f.fields))
        }
        let n = entries.count
        var graph = Graph()
        var placements: [Placement] = []
        placements.reserveCapacity(n)
        for (k, f) in fields.enumerated() {
            try f.only(PlanDecoder.entryKeys)
            guard case .entry(let name) = f.at else { continue }
            let step = try f.int("step", 0...Int.max)
            guard step == k else { throw f.invalid("step", "is \(step), but the entry is number \(k) of the schedule (counting from 0)") }
            let op = try OpCoding.decode(try f.value("op"), entry: f, name: name, planOptimizer: optimizer)
            var inputs: [NodeID] = []
            for (j, input) in try f.names("inputs").enumerated() {
                guard let i = graph.id(named: input) else {
                    let detail = steps[input].map { "is entry \($0), which runs later; an entry reads only entries before it" }
                        ?? "is no schedule entry"
                    throw .unknownName(file: file, at: f.at, field: "inputs[\(j)]", name: input, detail: detail)
                }
                inputs.append(i)
            }
            let d = try f.string("dtype")
            guard let dtype = DType(rawValue: d) else {
                throw f.invalid("dtype", "'\(d)' is not a dtype; known: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let dims = try f.ints("shape", 1...Int(Int32.max))
            let shape = Shape(dims)
            guard dims.count <= 8, shape.isValid else {
                throw f.invalid("shape", "\(shape) is not a tensor shape (at most 8 dimensions, fewer than 2^31 elements)")
            }
            do { try graph.append(name, op, inputs, type: TensorType(shape, dtype)) } catch {
                throw .graph(file: file, entry: name, error)
            }
            let r = try f.string("region")
            guard let region = Region(rawValue: r) else { throw f.invalid("region", "'\(r)' is not a region; known: sram, flash, view, fused") }
            let live = try f.ints("live", count: 2, 0...Int.max)
            guard live[0] <= live[1], live[1] < n, live[0] <= k, k <= live[1] else {
                throw f.invalid("live", "[\(live[0]), \(live[1])] must be steps first ≤ last within 0…\(n - 1) that include the entry's own step \(k)")
            }
            let phase = try f.string("phase")
            guard Phase(rawValue: phase) != nil else {
                throw f.invalid("phase", "'\(phase)' is not a phase; known: \(Phase.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var storedAs: DType?
            if f.has("stored_as") {
                let t = try f.string("stored_as")
                guard let dt = DType(rawValue: t) else { throw f.invalid("stored_as", "'\(t)' is not a dtype") }
                storedAs = dt
            }
            placements.append(Placement(
                region: region, offset: try f.int("offset", 0...TrainingPlan.maxPlanBytes),
                bytes: try f.int("bytes", 0...TrainingPlan.maxPlanBytes),
                storage: f.has("storage") ? try f.name("storage") : nil, live: (live[0], live[1]), phase: phase,
                storedAs: storedAs))
        }
        return (graph, placements)
    }
}

extension PlanFields {
    init(file: String, at: PlanFileError.Location, path: String, fields: [String: JSONValue]) {
        self.file = file
        self.at = at
        self.path = path
        self.fields = fields
    }
}
