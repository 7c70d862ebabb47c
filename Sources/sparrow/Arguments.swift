/// A minimal command-line parser: `--name value`, `--name=value`, boolean flags,
/// and positional words. Each subcommand declares its options in `OptionSpec`s so
/// that help text and parsing come from one list.
struct OptionSpec {
    var name: String
    var valueName: String?   // nil for a flag
    var help: String
    var defaultValue: String?
}

struct Arguments {
    private(set) var values: [String: String] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positional: [String] = []
    /// Options the user wrote (as opposed to defaults filled in).
    private(set) var given: Set<String> = []

    /// Parses `words` against `specs`; unknown options are usage errors.
    init(_ words: [String], specs: [OptionSpec]) throws(UsageError) {
        let byName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var i = 0
        while i < words.count {
            // `-o` is short for `--out`, as compilers spell it.
            let w = words[i] == "-o" && byName["out"] != nil ? "--out" : words[i]
            i += 1
            guard w.hasPrefix("--") else { positional.append(w); continue }
            var name = String(w.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = byName[name] else {
                throw UsageError("unknown option --\(name)" + suggestion(name, among: specs.map(\.name)))
            }
            given.insert(name)
            if spec.valueName == nil {
                guard inline == nil else { throw UsageError("--\(name) is a flag and takes no value") }
                flags.insert(name)
            } else if let v = inline {
                values[name] = v
            } else {
                guard i < words.count else { throw UsageError("--\(name) needs a value (\(spec.valueName!))") }
                values[name] = words[i]
                i += 1
            }
        }
        for s in specs where s.valueName != nil && values[s.name] == nil { values[s.name] = s.defaultValue }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    /// Whether the user wrote option `name` (a flag or a valued option).
    func isGiven(_ name: String) -> Bool { given.contains(name) }
    func string(_ name: String) -> String? { values[name] }

    func int(_ name: String) throws(UsageError) -> Int? {
        guard let s = values[name] else { return nil }
        guard let v = Int(s) else { throw UsageError("--\(name) must be an integer, got '\(s)'") }
        return v
    }

    /// A count such as `--limit N`: an integer of at least 1.
    func positiveInt(_ name: String) throws(UsageError) -> Int? {
        guard let v = try int(name) else { return nil }
        guard v >= 1 else { throw UsageError("--\(name) must be at least 1, got \(v)") }
        return v
    }

    func float(_ name: String) throws(UsageError) -> Float? {
        guard let s = values[name] else { return nil }
        guard let v = Float(s), v.isFinite else { throw UsageError("--\(name) must be a number, got '\(s)'") }
        return v
    }

    func required(_ name: String) throws(UsageError) -> String {
        guard let v = values[name] else { throw UsageError("--\(name) is required") }
        return v
    }
}

/// A mistake in how the command was called: exit code 1 with the message and a hint to use --help.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// " (did you mean --x?)" when a known name is close to `word`.
func suggestion(_ word: String, among names: [String]) -> String {
    let best = names.min { editDistance(word, $0) < editDistance(word, $1) }
    guard let b = best, editDistance(word, b) <= max(2, word.count / 3) else { return "" }
    return " (did you mean --\(b)?)"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var prev = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let cur = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
            prev = cur
        }
    }
    return row[b.count]
}

/// Help text for a subcommand from its specs.
func helpText(usage: String, summary: String, specs: [OptionSpec], details: String = "") -> String {
    var lines = ["USAGE: \(usage)", "", summary, "", "OPTIONS:"]
    let allSpecs = specs + [OptionSpec(name: "help", valueName: nil, help: "Show this help.")]
    let width = allSpecs.map { $0.name.count + ($0.valueName.map { $0.count + 1 } ?? 0) }.max() ?? 0
    for s in allSpecs {
        let left = "--\(s.name)" + (s.valueName.map { " \($0)" } ?? "")
        let pad = String(repeating: " ", count: width + 4 - left.count + 2)
        lines.append("  \(left)\(pad)\(s.help)" + (s.defaultValue.map { " (default: \($0))" } ?? ""))
    }
    if !details.isEmpty { lines += ["", details] }
    return lines.joined(separator: "\n")
}
