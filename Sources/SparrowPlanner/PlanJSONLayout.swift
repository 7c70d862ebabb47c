import SparrowIR

/// JSON whose object keys keep the order they were given in: the plan file puts
/// `format` and `version` first and the schedule last, and each schedule entry
/// reads `step`, `name`, `op`, `inputs`, … left to right on one line.
///
/// `JSONValue.serialized` sorts keys and expands every object; this layout is
/// still plain JSON (any parser reads it), only arranged for people and diffs.
indirect enum OrderedJSON {
    /// A scalar: null, bool, number or string.
    case scalar(JSONValue)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    static func string(_ s: String) -> OrderedJSON { .scalar(.string(s)) }
    static func int(_ i: Int) -> OrderedJSON { .scalar(.int(i)) }
    static func bool(_ b: Bool) -> OrderedJSON { .scalar(.bool(b)) }
    static let null = OrderedJSON.scalar(.null)
    static func ints(_ v: [Int]) -> OrderedJSON { .array(v.map { .int($0) }) }
    static func strings(_ v: [String]) -> OrderedJSON { .array(v.map { .string($0) }) }
    static func optional(_ s: String?) -> OrderedJSON { s.map { .string($0) } ?? .null }

    /// The text: containers nested less than `expandDepth` deep are written one
    /// member per line (indented by two spaces), deeper ones on a single line.
    /// Arrays of scalars always stay on one line.
    func text(expandDepth: Int) -> String {
        var out = ""
        write(to: &out, indent: 0, expand: expandDepth)
        return out
    }

    private var isContainer: Bool {
        if case .scalar = self { return false }
        return true
    }

    private func write(to out: inout String, indent: Int, expand: Int) {
        let pad = String(repeating: " ", count: indent + 2)
        switch self {
        case .scalar(let v):
            // Scalars serialise the same pretty or not; strings get JSONValue's escaping.
            out += v.serialized(pretty: false)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if expand > 0 && items.contains(where: { $0.isContainer }) {
                out += "[\n"
                for (k, item) in items.enumerated() {
                    out += pad
                    item.write(to: &out, indent: indent + 2, expand: expand - 1)
                    out += k + 1 < items.count ? ",\n" : "\n"
                }
                out += String(repeating: " ", count: indent) + "]"
            } else {
                out += "["
                for (k, item) in items.enumerated() {
                    if k > 0 { out += ", " }
                    item.write(to: &out, indent: indent, expand: 0)
                }
                out += "]"
            }
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            if expand > 0 {
                out += "{\n"
                for (k, field) in fields.enumerated() {
                    out += pad + JSONValue.string(field.0).serialized(pretty: false) + ": "
                    field.1.write(to: &out, indent: indent + 2, expand: expand - 1)
                    out += k + 1 < fields.count ? ",\n" : "\n"
                }
                out += String(repeating: " ", count: indent) + "}"
            } else {
                out += "{"
                for (k, field) in fields.enumerated() {
                    if k > 0 { out += ", " }
                    out += JSONValue.string(field.0).serialized(pretty: false) + ": "
                    field.1.write(to: &out, indent: indent, expand: 0)
                }
                out += "}"
            }
        }
    }
}
