import SparrowIR

/// Why a plan file (`plan.json`) could not be read or written.
///
/// Every case names the file (its path as given, or the name passed to
/// `TrainingPlan(decoding:file:)`), where in the file the problem is — the
/// schedule entry by node name whenever there is one — and what is wrong
/// (DESIGN.md invariant 5).
public enum PlanFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in a plan file a field sits.
    public enum Location: Hashable, Sendable, CustomStringConvertible {
        /// The top-level object.
        case topLevel
        /// A top-level section (`figures`, `optimizer`, `slices`, …) or an element of one (`layers[2]`).
        case section(String)
        /// The entry of this layer in `layers` (the resolved spec).
        case layer(String)
        /// The schedule entry of this node.
        case entry(String)
        /// A schedule entry whose name could not be read, by position (0-based).
        case entryIndex(Int)

        public var description: String {
            switch self {
            case .topLevel: return "top level"
            case .section(let s): return "'\(s)'"
            case .layer(let n): return "layer '\(n)'"
            case .entry(let n): return "schedule entry '\(n)'"
            case .entryIndex(let i): return "schedule[\(i)]"
            }
        }
    }

    // MARK: Files
    case unreadable(file: String, detail: String)
    case unwritable(file: String, detail: String)
    /// Larger than `TrainingPlan.maxFileBytes`, or more schedule entries than `TrainingPlan.maxScheduleEntries`.
    case tooLarge(file: String, detail: String)

    // MARK: Structure
    /// The text is not JSON; line and column are 1-based, column in bytes.
    case badJSON(file: String, line: Int, column: Int, detail: String)
    /// Not a plan file: not a JSON object, or no or another `"format"`.
    case wrongFormat(file: String, detail: String)
    case unsupportedVersion(file: String, found: String, supported: Int)
    case missingField(file: String, at: Location, field: String)
    case invalidField(file: String, at: Location, field: String, detail: String)
    case unknownField(file: String, at: Location, field: String, known: [String])
    case unknownOp(file: String, entry: String, op: String, known: [String])
    /// A name (an input, a storage, a parameter of a map) that is no schedule entry,
    /// or that is one only later in the schedule.
    case unknownName(file: String, at: Location, field: String, name: String, detail: String)

    // MARK: Meaning
    /// The node does not type-check against the entries before it.
    case graph(file: String, entry: String, GraphError)
    /// The training graph's maps (trainable, gradients, updates, slices, layers) disagree with the schedule.
    case training(file: String, at: Location, detail: String)
    /// The placement is inconsistent: overlapping live allocations, a lifetime that
    /// misses a read, figures that differ from what the entries imply. `entry` is nil
    /// for figures that concern the whole plan.
    case placement(file: String, entry: String?, detail: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .unreadable(let f, _), .unwritable(let f, _), .tooLarge(let f, _), .badJSON(let f, _, _, _),
             .wrongFormat(let f, _), .unsupportedVersion(let f, _, _), .missingField(let f, _, _),
             .invalidField(let f, _, _, _), .unknownField(let f, _, _, _), .unknownOp(let f, _, _, _),
             .unknownName(let f, _, _, _, _), .graph(let f, _, _), .training(let f, _, _), .placement(let f, _, _):
            return f
        }
    }

    /// The schedule entry (node name) the error is about, when there is one.
    public var entry: String? {
        switch self {
        case .unknownOp(_, let e, _, _), .graph(_, let e, _): return e
        case .placement(_, let e, _): return e
        case .missingField(_, let at, _), .invalidField(_, let at, _, _), .unknownField(_, let at, _, _),
             .unknownName(_, let at, _, _, _), .training(_, let at, _):
            if case .entry(let n) = at { return n }
            return nil
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let f, let d): return "\(f): cannot read the plan: \(d)"
        case .unwritable(let f, let d): return "\(f): cannot write the plan: \(d)"
        case .tooLarge(let f, let d): return "\(f): \(d)"
        case .badJSON(let f, let l, let c, let d): return "\(f):\(l):\(c): not valid JSON: \(d)"
        case .wrongFormat(let f, let d): return "\(f): not a Sparrow plan file: \(d)"
        case .unsupportedVersion(let f, let v, let s):
            return "\(f): plan format version \(v) is not supported; this Sparrow reads version \(s). Recompile the plan with this Sparrow."
        case .missingField(let f, let at, let field): return "\(f): \(at): missing field '\(field)'"
        case .invalidField(let f, let at, let field, let d): return "\(f): \(at): field '\(field)': \(d)"
        case .unknownField(let f, let at, let field, let known):
            return "\(f): \(at): unknown field '\(field)'; known fields: \(known.joined(separator: ", "))"
        case .unknownOp(let f, let e, let op, let known):
            return "\(f): schedule entry '\(e)': unknown op '\(op)'; known ops: \(known.joined(separator: ", "))"
        case .unknownName(let f, let at, let field, let name, let d): return "\(f): \(at): field '\(field)': '\(name)' \(d)"
        case .graph(let f, let e, let g): return "\(f): schedule entry '\(e)': \(g)"
        case .training(let f, let at, let d): return "\(f): \(at): \(d)"
        case .placement(let f, let e, let d):
            return e.map { "\(f): schedule entry '\($0)': \(d)" } ?? "\(f): placement: \(d)"
        }
    }
}
