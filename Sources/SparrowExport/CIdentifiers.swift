import SparrowIR

/// C identifiers for the nodes of a graph: the node name with every character
/// that is not a letter, digit or underscore replaced by `_`, prefixed (`t_` for
/// tensors), and made unique by a numeric suffix.
struct CIdentifiers {
    private(set) var tensors: [String] = []

    init(_ graph: Graph) {
        var used = Set<String>()
        for node in graph.nodes {
            let base = "t_" + cIdentifierBody(node.name)
            var name = base, k = 2
            while used.contains(name) { name = "\(base)_\(k)"; k += 1 }
            used.insert(name)
            tensors.append(name)
        }
    }

    subscript(_ id: NodeID) -> String { tensors[id] }
}

/// `name` with every character that is not an ASCII letter or digit replaced by `_`.
func cIdentifierBody(_ name: String) -> String {
    String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
}

/// Text safe inside a C block comment and on one line: no `*/`, no line breaks.
func commentSafe(_ s: String) -> String {
    String(s.replacingOccurrences(of: "*/", with: "* /").map { $0.isNewline ? " " : $0 })
}

/// A C string literal of `s` (UTF-8 bytes; quotes, backslashes, `?` and non-printable bytes escaped).
func cString(_ s: String) -> String {
    var out = "\""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "?"): out += "\\" + String(UnicodeScalar(b))
        case 0x20...0x7E: out += String(UnicodeScalar(b))
        default: out += String(format: "\\%03o", b)
        }
    }
    return out + "\""
}

/// The C element type of a storage type.
func cType(_ d: DType) -> String {
    switch d {
    case .fp32: return "float"
    case .fp16: return "sp_f16"
    case .int8: return "int8_t"
    case .int32: return "int32_t"
    case .uint8, .bit: return "uint8_t"
    }
}

/// An int32 as a C expression of type int (INT32_MIN has no literal).
func cInt(_ v: Int32) -> String { v == Int32.min ? "(-2147483647 - 1)" : "\(v)" }

/// Bytes as a C initializer, 16 per line.
func cBytes(_ bytes: [UInt8], indent: String = "    ") -> String {
    stride(from: 0, to: bytes.count, by: 16).map { start in
        indent + bytes[start..<min(start + 16, bytes.count)].map { String(format: "0x%02x,", $0) }.joined(separator: " ")
    }.joined(separator: "\n")
}
