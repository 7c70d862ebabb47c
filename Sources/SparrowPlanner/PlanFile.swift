import Foundation
import SparrowAutodiff
import SparrowIR

/// The plan file, `plan.json`: a `TrainingPlan` as versioned JSON (see docs/plan-format.md).
///
/// Writing is deterministic (the same plan gives the same bytes) and atomic.
/// Reading rebuilds the graph node by node through `Graph.append`, so every entry
/// is type-checked against the ones before it, then checks that the placement is
/// sound (`verifyMemoryPlan`, lifetimes that cover every read, figures equal to
/// what the entries imply). Any malformed file yields a `PlanFileError` naming the
/// file, the schedule entry and what is wrong; no input makes the reader trap.
extension TrainingPlan {
    /// The `format` field of every plan file.
    public static let fileFormat = "sparrow-plan"
    /// Plan files larger than this are refused before parsing.
    public static let maxFileBytes = 256 << 20
    /// At most this many schedule entries (the placement check is quadratic in them).
    public static let maxScheduleEntries = 1 << 16
    /// Node, model and layer names are at most this many UTF-8 bytes.
    public static let maxNameBytes = 1024
    /// Offsets, sizes and figures in a plan file are below this (1 TiB), so sums of them cannot overflow.
    public static let maxPlanBytes = 1 << 40

    /// The plan file's bytes: UTF-8 JSON ending in a newline.
    public func encodedJSON() -> Data {
        Data((document().text(expandDepth: 2) + "\n").utf8)
    }

    /// Writes the plan file atomically: a reader sees the old file or the new one, never a part.
    public func write(to url: URL) throws(PlanFileError) {
        do { try AtomicFile.write(encodedJSON(), to: url) } catch { throw .unwritable(file: url.path, detail: error.detail) }
    }

    /// Reads and checks a plan file.
    public init(contentsOf url: URL) throws(PlanFileError) {
        let path = url.path
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > TrainingPlan.maxFileBytes {
            throw .tooLarge(file: path, detail: "the file has \(size) bytes; plan files are limited to \(TrainingPlan.maxFileBytes)")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(file: path, detail: ModelFile.reason(error))
        }
        try self.init(decoding: data, file: path)
    }

    /// Decodes and checks a plan file's bytes; `file` names the file in errors.
    public init(decoding data: Data, file: String) throws(PlanFileError) {
        guard data.count <= TrainingPlan.maxFileBytes else {
            throw .tooLarge(file: file, detail: "the file has \(data.count) bytes; plan files are limited to \(TrainingPlan.maxFileBytes)")
        }
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch {
            throw .badJSON(file: file, line: error.line, column: error.column, detail: error.message)
        }
        guard case .object(let top) = root else {
            throw .wrongFormat(file: file, detail: "the file must hold a JSON object, found \(root.kindDescription)")
        }
        guard top["format"] == .string(TrainingPlan.fileFormat) else {
            let found = top["format"].map { $0.serialized(pretty: false) } ?? "no 'format' field"
            throw .wrongFormat(file: file, detail: "expected \"format\": \"\(TrainingPlan.fileFormat)\", found \(found)")
        }
        guard top["version"] == .int(TrainingPlan.formatVersion) else {
            let found = top["version"].map { $0.serialized(pretty: false) } ?? "(none)"
            throw .unsupportedVersion(file: file, found: found, supported: TrainingPlan.formatVersion)
        }
        self = try PlanDecoder(file: file, top: try PlanFields(root, file: file, at: .topLevel, field: "(root)")).decode()
    }

    // MARK: Encoding

    /// The whole file, in reading order: what it is, the settings, the figures,
    /// the spec, the training graph's maps and last the schedule.
    func document() -> OrderedJSON {
        let g = graph, m = memory, t = training
        func name(_ id: NodeID) -> String { g[id].name }
        func byName(_ map: [NodeID: NodeID]) -> OrderedJSON {
            .object(map.keys.sorted().map { (name($0), .string(name(map[$0]!))) })
        }
        let figures: [(String, OrderedJSON)] = [
            ("peak_sram", .int(m.peakSRAM)), ("flash_bytes", .int(m.flashBytes)), ("lower_bound", .int(m.lowerBound)),
            ("persistent_bytes", .int(m.persistentBytes)), ("scratch_offset", .int(m.scratchOffset)),
            ("scratch_size", .int(m.scratchSize)), ("peak_step", .int(m.peakStep)),
        ]
        let layerEntries: [OrderedJSON] = layers.map { l in
            .object([("layer", .string(l.layer)), ("update", .string(l.update.description)), ("weight", .string(l.weight)),
                     ("bias", .optional(l.bias)), ("channels", l.channels.map { .ints($0) } ?? .null),
                     ("channel_count", .int(l.channelCount))])
        }
        let slices: [(String, OrderedJSON)] = t.slices.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { k in
            (k, .object([("source", .string(t.slices[k]!.source)), ("channels", .ints(t.slices[k]!.channels.indices))]))
        }
        var schedule: [OrderedJSON] = []
        schedule.reserveCapacity(g.count)
        for i in g.ids {
            let node = g[i]
            var f: [(String, OrderedJSON)] = [
                ("step", .int(i)), ("name", .string(node.name)), ("op", OpCoding.encode(node.op, planOptimizer: t.optimizer)),
                ("inputs", .strings(node.inputs.map(name))), ("dtype", .string(node.type.dtype.rawValue)),
                ("shape", .ints(node.type.shape.dims)), ("phase", .string(t.phase(of: i).rawValue)),
                ("region", .string(m.regions[i].rawValue)), ("offset", .int(m.offsets[i])), ("bytes", .int(m.sizes[i])),
            ]
            if m.storage[i] != i { f.append(("storage", .string(name(m.storage[i])))) }
            if i < m.dtypes.count, m.dtypes[i] != node.type.dtype { f.append(("stored_as", .string(m.dtypes[i].rawValue))) }
            f.append(("live", .ints([m.lifetimes[i].lowerBound, m.lifetimes[i].upperBound])))
            schedule.append(.object(f))
        }
        return .object([
            ("format", .string(TrainingPlan.fileFormat)),
            ("version", .int(TrainingPlan.formatVersion)),
            ("model", .string(modelName)),
            ("optimizer", OpCoding.encode(t.optimizer)),
            ("flags", .object([("reorder_updates", .bool(reorderUpdates)), ("gradient_accumulation", .bool(gradientAccumulation))]
                              + (m.precision == .fp32 ? [] : [("precision", .string(m.precision.rawValue))])
                              + (m.precision == .fp16 ? [("accumulation", .string(accumulation.rawValue))] : []))),
            ("budget", budget.map { .int($0) } ?? .null),
            ("figures", .object(figures)),
            ("prediction", .optional(g.prediction.map(name))),
            ("loss", .optional(g.loss.map(name))),
            ("forward_end", .int(t.forwardEnd)),
            ("layers", .array(layerEntries)),
            ("slices", .object(slices)),
            ("trainable", .strings(t.trainable.map(name))),
            ("gradients", byName(t.gradients)),
            ("updates", byName(t.updates)),
        ] + (quantization.map { [("quantization", PlanQuantizationCoding.encode($0, graph: g))] } ?? [])
          + (tuning.map { [("tuning", KernelTuningCoding.encode($0, graph: g))] } ?? [])
          + [("schedule", .array(schedule))])
    }
}
