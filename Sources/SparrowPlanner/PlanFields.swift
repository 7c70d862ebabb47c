import SparrowIR

/// The fields of one JSON object of a plan file, read with errors that name the
/// file, the place (a section or schedule entry) and the field. Nothing here
/// traps on any input: numbers are range-checked before use.
struct PlanFields {
    let file: String
    let at: PlanFileError.Location
    /// Prefix of field names in errors (`op.` for an entry's op object).
    let path: String
    let fields: [String: JSONValue]

    /// The object `value`, which the caller found under `field`.
    init(_ value: JSONValue, file: String, at: PlanFileError.Location, field: String, path: String = "") throws(PlanFileError) {
        guard case .object(let o) = value else {
            throw .invalidField(file: file, at: at, field: field, detail: "must be an object, found \(value.kindDescription)")
        }
        self.file = file
        self.at = at
        self.path = path
        fields = o
    }

    /// Throws for the first key (in byte order) that is not in `known`.
    func only(_ known: [String]) throws(PlanFileError) {
        let allowed = Set(known)
        if let unknown = fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).first(where: { !allowed.contains($0) }) {
            throw .unknownField(file: file, at: at, field: path + unknown, known: known.map { path + $0 })
        }
    }

    func invalid(_ key: String, _ detail: String) -> PlanFileError {
        .invalidField(file: file, at: at, field: path + key, detail: detail)
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func value(_ key: String) throws(PlanFileError) -> JSONValue {
        guard let v = fields[key] else { throw .missingField(file: file, at: at, field: path + key) }
        return v
    }

    func object(_ key: String) throws(PlanFileError) -> PlanFields {
        try PlanFields(try value(key), file: file, at: at, field: path + key, path: path + key + ".")
    }

    func array(_ key: String, maxCount: Int = TrainingPlan.maxScheduleEntries) throws(PlanFileError) -> [JSONValue] {
        guard case .array(let items) = try value(key) else { throw invalid(key, "must be an array, found \(fields[key]!.kindDescription)") }
        guard items.count <= maxCount else { throw invalid(key, "has \(items.count) elements, more than the \(maxCount) allowed") }
        return items
    }

    func bool(_ key: String) throws(PlanFileError) -> Bool {
        guard case .bool(let b) = try value(key) else { throw invalid(key, "must be true or false, found \(fields[key]!.kindDescription)") }
        return b
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws(PlanFileError) -> Int {
        try PlanFields.int(try value(key), range) { invalid(key, $0) }
    }

    /// An integer in `range`, or a description of why `v` is not one.
    static func int(_ v: JSONValue, _ range: ClosedRange<Int>, error: (String) -> PlanFileError) throws(PlanFileError) -> Int {
        guard case .int(let i) = v else { throw error("must be an integer, found \(v.kindDescription)") }
        guard range.contains(i) else { throw error("\(i) is outside \(range.lowerBound)…\(range.upperBound)") }
        return i
    }

    /// An integer in `range`, or null.
    func optionalInt(_ key: String, _ range: ClosedRange<Int>) throws(PlanFileError) -> Int? {
        if try value(key) == .null { return nil }
        return try int(key, range)
    }

    func string(_ key: String) throws(PlanFileError) -> String {
        guard case .string(let s) = try value(key) else { throw invalid(key, "must be a string, found \(fields[key]!.kindDescription)") }
        return s
    }

    /// A node or model name: a non-empty string of at most `TrainingPlan.maxNameBytes` bytes.
    func name(_ key: String) throws(PlanFileError) -> String {
        try PlanFields.name(try value(key)) { invalid(key, $0) }
    }

    static func name(_ v: JSONValue, error: (String) -> PlanFileError) throws(PlanFileError) -> String {
        guard case .string(let s) = v else { throw error("must be a name (a string), found \(v.kindDescription)") }
        guard !s.isEmpty else { throw error("must not be empty") }
        guard s.utf8.count <= TrainingPlan.maxNameBytes else { throw error("is longer than \(TrainingPlan.maxNameBytes) bytes") }
        return s
    }

    /// A name, or null.
    func optionalName(_ key: String) throws(PlanFileError) -> String? {
        if try value(key) == .null { return nil }
        return try name(key)
    }

    func names(_ key: String) throws(PlanFileError) -> [String] {
        var result: [String] = []
        for (k, v) in try array(key).enumerated() {
            result.append(try PlanFields.name(v) { invalid("\(key)[\(k)]", $0) })
        }
        return result
    }

    /// An array of integers in `range`, of exactly `count` elements when given.
    func ints(_ key: String, count: Int? = nil, _ range: ClosedRange<Int>) throws(PlanFileError) -> [Int] {
        let items = try array(key)
        if let count, items.count != count { throw invalid(key, "must have \(count) elements, has \(items.count)") }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for (k, v) in items.enumerated() {
            result.append(try PlanFields.int(v, range) { invalid("\(key)[\(k)]", $0) })
        }
        return result
    }

    /// Input channels: a non-empty, strictly ascending list of non-negative integers.
    func channels(_ key: String) throws(PlanFileError) -> ChannelSelection {
        let list = try ints(key, 0...Int(Int32.max))
        guard let sel = ChannelSelection(list) else { throw invalid(key, "must be a non-empty, strictly ascending list of channels") }
        return sel
    }

    /// A finite number, as the `Float` it was written from.
    func float(_ key: String) throws(PlanFileError) -> Float {
        let f: Float?
        switch try value(key) {
        case .int(let i): f = Float(i)
        // The writer prints a Float's shortest decimal; parsing that text as a Float
        // gives back the same bits (going through Double first could round twice).
        case .double(let d): f = d.isFinite ? Float(d.description) : nil
        default: throw invalid(key, "must be a number, found \(fields[key]!.kindDescription)")
        }
        guard let f, f.isFinite else { throw invalid(key, "must be a finite number within the range of fp32") }
        return f
    }
}

extension OrderedJSON {
    /// A Float as its shortest decimal (0.9, not 0.899999976158…).
    static func float(_ f: Float) -> OrderedJSON {
        .scalar(.double(Double(f.description) ?? Double(f)))
    }
}
