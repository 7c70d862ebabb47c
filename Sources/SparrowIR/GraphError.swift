/// Why a graph is not well formed. Every case names the node (its unique name) and,
/// in `detail`, what is wrong and what was expected.
public enum GraphError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateName(String)
    /// An input id that is not a node of the graph.
    case danglingInput(node: String, input: Int)
    /// An input that is the node itself or a later node: the graph would have a cycle.
    case cycle(node: String, input: String)
    case arity(node: String, op: String, expected: String, got: Int)
    case shapeMismatch(node: String, detail: String)
    case dtypeMismatch(node: String, detail: String)
    case invalidAttribute(node: String, detail: String)
    /// `prediction` or `loss` is missing, out of range, or of the wrong kind.
    case badOutput(String)

    public var description: String {
        switch self {
        case .duplicateName(let n): return "two nodes are named '\(n)'; names must be unique"
        case .danglingInput(let n, let i): return "node '\(n)' reads input #\(i), which does not exist"
        case .cycle(let n, let i): return "node '\(n)' reads '\(i)', which is not computed before it (cycle)"
        case .arity(let n, let op, let e, let g): return "node '\(n)' (\(op)) takes \(e) inputs, got \(g)"
        case .shapeMismatch(let n, let d): return "node '\(n)': shape mismatch: \(d)"
        case .dtypeMismatch(let n, let d): return "node '\(n)': dtype mismatch: \(d)"
        case .invalidAttribute(let n, let d): return "node '\(n)': \(d)"
        case .badOutput(let d): return "graph output: \(d)"
        }
    }
}
