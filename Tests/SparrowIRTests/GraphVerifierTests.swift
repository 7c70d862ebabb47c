import Testing
@testable import SparrowIR

/// `Graph.verify()` on graphs built with `Graph(unchecked:)`, and `append`'s checks.
@Suite("graph verifier")
struct GraphVerifierTests {
    static let f32x4 = TensorType(Shape(4))
    static func leaf(_ name: String, _ t: TensorType = f32x4) -> Node { Node(name: name, op: .input, inputs: [], type: t) }

    func expectGraphError(_ graph: Graph, _ expected: GraphError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try graph.verify() }
    }

    @Test func validGraphVerifies() throws {
        let g = Graph(unchecked: [Self.leaf("a"), Self.leaf("b"), Node(name: "s", op: .add, inputs: [0, 1], type: Self.f32x4)], prediction: 2)
        try g.verify()
    }

    @Test func danglingInput() {
        let g = Graph(unchecked: [Self.leaf("a"), Node(name: "r", op: .activation(.relu), inputs: [7], type: Self.f32x4)])
        expectGraphError(g, .danglingInput(node: "r", input: 7))
        let negative = Graph(unchecked: [Node(name: "r", op: .activation(.relu), inputs: [-1], type: Self.f32x4)])
        expectGraphError(negative, .danglingInput(node: "r", input: -1))
    }

    @Test func cycle() {
        let selfLoop = Graph(unchecked: [Self.leaf("a"), Node(name: "r", op: .activation(.relu), inputs: [1], type: Self.f32x4)])
        expectGraphError(selfLoop, .cycle(node: "r", input: "r"))
        let forward = Graph(unchecked: [
            Self.leaf("a"),
            Node(name: "p", op: .add, inputs: [0, 2], type: Self.f32x4),
            Node(name: "q", op: .activation(.relu), inputs: [1], type: Self.f32x4),
        ])
        expectGraphError(forward, .cycle(node: "p", input: "q"))
    }

    @Test func arity() {
        let g = Graph(unchecked: [Self.leaf("a"), Node(name: "s", op: .add, inputs: [0], type: Self.f32x4)])
        expectGraphError(g, .arity(node: "s", op: "add", expected: "2", got: 1))
        let leafWithInput = Graph(unchecked: [Self.leaf("a"), Node(name: "p", op: .parameter, inputs: [0], type: Self.f32x4)])
        expectGraphError(leafWithInput, .arity(node: "p", op: "parameter", expected: "0", got: 1))
    }

    @Test func shapeMismatch() throws {
        let g = Graph(unchecked: [Self.leaf("a"), Self.leaf("b", TensorType(Shape(5))), Node(name: "s", op: .add, inputs: [0, 1], type: Self.f32x4)])
        #expect {
            try g.verify()
        } throws: { error in
            guard case GraphError.shapeMismatch(let node, let detail) = error else { return false }
            return node == "s" && detail.contains("[4]") && detail.contains("[5]")
        }
        // A recorded type that disagrees with inference is a shape mismatch too.
        let wrongRecord = Graph(unchecked: [Self.leaf("a"), Node(name: "r", op: .activation(.relu), inputs: [0], type: TensorType(Shape(2, 2)))])
        #expect(throws: GraphError.self) { try wrongRecord.verify() }
        do { try wrongRecord.verify() } catch { #expect(caseName(error) == "shapeMismatch") }
    }

    @Test func dtypeMismatch() {
        let g = Graph(unchecked: [
            Self.leaf("a", TensorType(Shape(4), .int32)),
            Node(name: "r", op: .activation(.relu), inputs: [0], type: TensorType(Shape(4), .int32)),
        ])
        expectGraphError(g, .dtypeMismatch(node: "r", detail: "input must be fp32, is int32"))
        let label = Graph(unchecked: [
            Self.leaf("z"), Self.leaf("y"), Node(name: "l", op: .softmaxCrossEntropy, inputs: [0, 1], type: TensorType(.scalar)),
        ])
        #expect {
            try label.verify()
        } throws: { error in
            guard case GraphError.dtypeMismatch(let node, _) = error else { return false }
            return node == "l"
        }
    }

    @Test func duplicateNames() throws {
        let g = Graph(unchecked: [Self.leaf("a"), Self.leaf("a")])
        expectGraphError(g, .duplicateName("a"))
        var appended = Graph()
        try appended.append("x", .input, type: Self.f32x4)
        #expect(throws: GraphError.duplicateName("x")) { try appended.append("x", .activation(.relu), [0]) }
    }

    @Test func badOutputs() {
        let g = Graph(unchecked: [Self.leaf("a")], prediction: 3)
        #expect(throws: GraphError.self) { try g.verify() }
        let nonScalarLoss = Graph(unchecked: [Self.leaf("a")], prediction: 0, loss: 0)
        #expect {
            try nonScalarLoss.verify()
        } throws: { error in
            guard case GraphError.badOutput(let d) = error else { return false }
            return d.contains("scalar")
        }
    }

    @Test("append rejects what verify rejects, and leaves the graph unchanged")
    func appendChecks() throws {
        var g = Graph()
        let a = try g.append("a", .input, type: Self.f32x4)
        #expect(throws: GraphError.danglingInput(node: "r", input: 5)) { try g.append("r", .activation(.relu), [5]) }
        #expect(throws: GraphError.arity(node: "s", op: "add", expected: "2", got: 1)) { try g.append("s", .add, [a]) }
        #expect(g.count == 1)
    }
}
