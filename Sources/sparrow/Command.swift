import Foundation
import Sparrow

/// A subcommand: parses its own options, validates them, runs.
protocol Command {
    static var name: String { get }
    static var summary: String { get }
    static var usage: String { get }
    static var specs: [OptionSpec] { get }
    static var details: String { get }
    /// Whether words that are not options (`plan show FILE`) mean something; else they are errors.
    static var takesPositionalArguments: Bool { get }
    init(_ args: Arguments) throws(UsageError)
    func run() throws
}

extension Command {
    static var details: String { "" }
    static var takesPositionalArguments: Bool { false }
    static var help: String { helpText(usage: usage, summary: summary, specs: specs, details: details) }
}

/// Writes a line to standard error.
func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// Pretty JSON with sorted keys on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try e.encode(value), as: UTF8.self))
}

func format(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }
func percent(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }
func bytes(_ n: Int) -> String {
    n >= 1024 * 1024 ? String(format: "%.2f MB", Double(n) / 1_048_576)
        : n >= 1024 ? String(format: "%.1f KB", Double(n) / 1024) : "\(n) B"
}
func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}
