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
         is SpecError, is BudgetError, is PlanFileError, is SpecSearch.NothingFits, is ExportError, is TargetError, is EmulatorFault, is LoadError:
        return 1
    default:
        return 2
    }
}

var words = Array(CommandLine.arguments.dropFirst())
guard let first = words.first, !["--help", "-h", "help"].contains(first) else {
    print(topLevelHelp())
    exit(words.isEmpty ? 1 : 0)
}
guard let command = commands.first(where: { $0.name == first }) else {
    note("error: unknown command '\(first)'\n\n" + topLevelHelp())
    exit(1)
}
words.removeFirst()
if words.contains("--help") || words.contains("-h") {
    print(command.help)
    exit(0)
}
do {
    let parsed = try Arguments(words, specs: command.specs)
    try command.init(parsed).run()
} catch {
    let code = exitCode(for: error)
    note((code == 1 ? "error: " : "internal error: ") + String(describing: error))
    if error is UsageError { note("run 'sparrow \(command.name) --help' for usage") }
    exit(code)
}
