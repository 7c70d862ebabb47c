import Foundation
import Sparrow

/// The `sparrow` command-line tool. Exit codes: 0 success, 1 user error (bad
/// options or input files; the message says what to fix), 2 internal error.
let commands: [any Command.Type] = [DemoCommand.self, TrainCommand.self, EvalCommand.self, InfoCommand.self, CompileCommand.self, PlanCommand.self, ExportCommand.self, EmulateCommand.self, SearchCommand.self, BenchCommand.self]

@MainActor func topLevelHelp() -> String {
    var lines = ["sparrow — compile, train and measure CNN training for microcontrollers", "",
                 "USAGE: sparrow <command> [options]", "", "COMMANDS:"]
    let width = commands.map { $0.name.count }.max() ?? 0
    for c in commands { lines.append("  \(c.name)\(String(repeating: " ", count: width - c.name.count + 2))\(c.summary)") }
    lines += ["", "Run 'sparrow <command> --help' for a command's options."]
    return lines.joined(separator: "\n")
}

func exitCode(for error: Error) -> Int32 {
    switch error {
    case is UsageError, is ModelFileError, is DataError, is RuntimeError, is AutodiffError, is ModelError, is GraphError,
         is SpecError, is BudgetError, is PlanFileError, is SpecSearch.NothingFits, is ExportError, is TargetError, is EmulatorFault, is LoadError,
         is AtomicFile.WriteError:
        return 1
    case let e as CocoaError where e.filePath != nil:
        return 1
    default:
        return 2
    }
}

/// The one line that says what went wrong (a file error names its file); a
/// longer explanation (the over-budget report) follows as an indented block.
func message(for error: Error) -> String {
    var text = String(describing: error)
    if let e = error as? CocoaError, let path = e.filePath {
        text = "\(path): \(ModelFile.reason(e))"
    }
    let code = exitCode(for: error)
    return (code == 1 ? "error: " : "internal error: ") + text.replacingOccurrences(of: "\n", with: "\n  ")
}

/// Fails with `error`: its message on standard error, exit code 1 or 2. A mistake
/// in the options themselves points at the command's help, on the same line.
func fail(_ error: Error, helpOf command: String? = nil) -> Never {
    let hint = command.map { error is UsageError ? "; see 'sparrow \($0) --help'" : "" } ?? ""
    note(message(for: error) + hint)
    exit(exitCode(for: error))
}

var words = Array(CommandLine.arguments.dropFirst())
guard let first = words.first, !["--help", "-h", "help"].contains(first) else {
    print(topLevelHelp())
    exit(words.isEmpty ? 1 : 0)
}
guard let command = commands.first(where: { $0.name == first }) else {
    note("error: unknown command '\(first)'; commands: \(commands.map { $0.name }.joined(separator: ", ")) (sparrow --help describes them)")
    exit(1)
}
words.removeFirst()
if words.contains("--help") || words.contains("-h") {
    print(command.help)
    exit(0)
}
let parsed: any Command
do {
    let args = try Arguments(words, specs: command.specs)
    if let stray = args.positional.first, !command.takesPositionalArguments {
        throw UsageError("unexpected argument '\(stray)'; options start with --")
    }
    parsed = try command.init(args)
} catch {
    fail(error, helpOf: command.name)
}
do { try parsed.run() } catch { fail(error) }
