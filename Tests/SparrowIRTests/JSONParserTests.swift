import Testing
@testable import SparrowIR

/// The strict JSON reader under the model files: values, error positions, limits.
@Suite("JSON parser")
struct JSONParserTests {
    @Test func values() throws {
        let v = try JSONParser.parse(Array(#" {"a": [1, -0, 2.5, 1e2, true, false, null], "b": "\u00e9\ud83d\ude00\n\"", "c": {}} "#.utf8))
        #expect(v == .object([
            "a": .array([.int(1), .int(0), .double(2.5), .double(100), .bool(true), .bool(false), .null]),
            "b": .string("é😀\n\""), "c": .object([:]),
        ]))
        #expect(try JSONParser.parse(Array("99999999999999999999".utf8)) == .double(1e20))
        #expect(try JSONParser.parse(Array("1e400".utf8)) == .double(.infinity))
    }

    @Test("errors carry line and column", arguments: [
        ("{\n  \"a\": 1,\n}", 3, 1), ("[1 2]", 1, 4), ("{\"a\": tru}", 1, 7), ("\"x", 1, 3), ("01", 1, 2),
        ("{\"a\": 1, \"a\": 2}", 1, 10), ("\"\\q\"", 1, 2), ("\"\\ud800\"", 1, 2), ("[1,]", 1, 4), ("", 1, 1),
    ])
    func errors(text: String, line: Int, column: Int) {
        do {
            _ = try JSONParser.parse(Array(text.utf8))
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.line == line && error.column == column, "\(text): \(error)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func serializationRoundTrips() throws {
        let v = JSONValue.object(["z": .array([.int(1), .object(["k": .string("tab\there \u{1}")])]), "a": .double(1e-5), "m": .null])
        for pretty in [false, true] {
            #expect(try JSONParser.parse(Array(v.serialized(pretty: pretty).utf8)) == v)
        }
        #expect(v.serialized(pretty: false) == #"{"a":1e-05,"m":null,"z":[1,{"k":"tab\there \u0001"}]}"#)
    }
}
