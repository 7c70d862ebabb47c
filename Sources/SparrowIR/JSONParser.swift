/// A strict RFC 8259 JSON parser over bytes.
///
/// Strict on purpose: model files are hand-edited, and a parser that accepts
/// trailing commas, comments, duplicate keys or invalid UTF-8 would let typos
/// change a model silently. Nesting is limited to `maxDepth` so a hostile file
/// cannot exhaust the stack. Never traps on any input.
public struct JSONParser {
    /// Why the text is not JSON, and where (1-based line and column in bytes).
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var offset: Int
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Deeper nesting than any model file needs; bounds recursion.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var pos = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses one JSON value that must span the whole input (surrounding whitespace allowed).
    public static func parse(_ input: some Collection<UInt8>) throws(Failure) -> JSONValue {
        var p = JSONParser(Array(input))
        if let bad = p.firstInvalidUTF8() { throw p.failure(at: bad, "the text is not valid UTF-8") }
        p.skipWhitespace()
        let value = try p.parseValue(depth: 0)
        p.skipWhitespace()
        guard p.pos == p.bytes.count else { throw p.failure("unexpected text after the end of the JSON value") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw failure("nesting deeper than \(JSONParser.maxDepth) levels") }
        guard let c = peek() else { throw failure("unexpected end of text; expected a value") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character \(describe(c)); expected a value")
        }
    }

    private mutating func parseObject(depth: Int) throws(Failure) -> JSONValue {
        pos += 1
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { pos += 1; return .object(fields) }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                throw failure(peek() == UInt8(ascii: "}") && !fields.isEmpty
                    ? "a trailing comma before '}' is not allowed in JSON" : "expected a key in double quotes")
            }
            let keyStart = pos
            let key = try parseString()
            guard fields[key] == nil else { throw failure(at: keyStart, "duplicate key \"\(key)\"") }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after key \"\(key)\"") }
            pos += 1
            skipWhitespace()
            fields[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return .object(fields)
            case nil: throw failure("unexpected end of text inside an object; expected ',' or '}'")
            case let c?: throw failure("unexpected character \(describe(c)); expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(Failure) -> JSONValue {
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "]"), !items.isEmpty { throw failure("a trailing comma before ']' is not allowed in JSON") }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return .array(items)
            case nil: throw failure("unexpected end of text inside an array; expected ',' or ']'")
            case let c?: throw failure("unexpected character \(describe(c)); expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(Failure) -> String {
        pos += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let c = peek() else { throw failure("unterminated string") }
            pos += 1
            switch c {
            case UInt8(ascii: "\""):
                // The whole input was validated as UTF-8 and escapes add whole scalars.
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek() else { throw failure("unterminated escape sequence") }
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw failure(at: pos - 2, "invalid escape \\\(describeRaw(e))")
                }
            case 0..<0x20:
                throw failure(at: pos - 1, "control character \(describe(c)) inside a string; escape it")
            default:
                utf8.append(c)
            }
        }
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` when the first is a high surrogate.
    private mutating func parseUnicodeEscape() throws(Failure) -> [UInt8] {
        let start = pos - 2
        let first = try hex4()
        var value = first
        if (0xD800..<0xDC00).contains(first) {
            guard peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else {
                throw failure(at: start, "unpaired surrogate in \\u escape")
            }
            pos += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else { throw failure(at: start, "unpaired surrogate in \\u escape") }
            value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else if (0xDC00..<0xE000).contains(first) {
            throw failure(at: start, "unpaired surrogate in \\u escape")
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure(at: start, "invalid \\u escape") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek() else { throw failure("unterminated \\u escape") }
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw failure("expected a hex digit in \\u escape, found \(describe(c))")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; integers without fraction
    /// or exponent that fit in `Int` stay `.int`, everything else becomes `.double`.
    private mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = pos
        var integral = true
        if peek() == UInt8(ascii: "-") { pos += 1 }
        guard let lead = peek(), isDigit(lead) else { throw failure("expected a digit after '-'") }
        pos += 1
        if lead != UInt8(ascii: "0") { while let c = peek(), isDigit(c) { pos += 1 } }
        if peek() == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard let c = peek(), isDigit(c) else { throw failure("expected a digit after '.'") }
            while let c = peek(), isDigit(c) { pos += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            pos += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { pos += 1 }
            guard let c = peek(), isDigit(c) else { throw failure("expected a digit in the exponent") }
            while let c = peek(), isDigit(c) { pos += 1 }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if integral, let i = Int(text) { return .int(i) }
        // Double(_:) accepts every literal of the grammar above; huge ones become ±inf.
        return .double(Double(text) ?? .infinity)
    }

    // MARK: - Helpers

    private mutating func literal(_ word: String) throws(Failure) {
        let start = pos
        for b in word.utf8 {
            guard peek() == b else { throw failure(at: start, "invalid literal; expected '\(word)'") }
            pos += 1
        }
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        pos + ahead < bytes.count ? bytes[pos + ahead] : nil
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func skipWhitespace() {
        while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 }
    }

    private func firstInvalidUTF8() -> Int? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x" + String(c, radix: 16)
    }

    private func describeRaw(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(Character(Unicode.Scalar(c))) : "(byte 0x" + String(c, radix: 16) + ")"
    }

    private func failure(_ message: String) -> Failure { failure(at: pos, message) }

    private func failure(at offset: Int, _ message: String) -> Failure {
        let end = min(max(offset, 0), bytes.count)
        var line = 1, lineStart = 0
        for i in 0..<end where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return Failure(offset: end, line: line, column: end - lineStart + 1, message: message)
    }
}
