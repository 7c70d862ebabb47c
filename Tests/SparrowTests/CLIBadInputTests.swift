import Foundation
import Testing

/// Every bad input a user can reach from the `sparrow` command line fails the same
/// way: exit code 1; exactly one non-empty line on standard error, which starts with
/// "error:" and names the offending file, option, layer, tensor or target (only the
/// over-budget report adds an indented block of detail under that line); nothing on
/// standard output; and nothing at an `--out` / `-o` / `--svg` destination (a path
/// that did not exist still does not, one that did is unchanged).
///
/// Each case runs in its own temporary folder (`{tmp}` in the arguments) holding
/// the bad files; the tampered plans start from valid plans compiled once per run.
@Suite struct CLIBadInputTests {
    @Test(arguments: BadInput.missingFiles)
    func missingFile(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.wrongFormats)
    func wrongFormat(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.budgets)
    func budgetTooSmallOrMalformed(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.unknownTargets)
    func unknownTarget(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.foreignPlans)
    func planFromAnotherModel(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.unknownOptions)
    func unknownOptionOrCommand(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.badValues)
    func badOptionValue(_ bad: BadInput) throws { try expectClearFailure(bad) }

    @Test(arguments: BadInput.missingOptions)
    func missingRequiredOption(_ bad: BadInput) throws { try expectClearFailure(bad) }

    /// Runs `bad` in a fresh workspace and checks the four promises of the suite.
    private func expectClearFailure(_ bad: BadInput) throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let args = bad.args.map(ws.expand)
        let destinations = BadInput.destinations(in: args).map { ($0, Snapshot(of: $0)) }
        let r = try ws.run(args)
        let context = "sparrow \(args.joined(separator: " ")) (garbage seed \(Workspace.garbageSeed))\nstderr:\n\(r.err)"

        #expect(!r.timedOut, "did not finish in \(Workspace.timeout) s: \(context)")
        #expect(r.code == 1, "exit code \(r.code): \(context)")
        let lines = r.err.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let first = lines.first ?? ""
        #expect(first.hasPrefix("error: "), "first stderr line is not an error line: \(context)")
        if bad.detailBlock {
            #expect(lines.count > 1 && lines.dropFirst().allSatisfy { $0.hasPrefix("  ") }, "detail is not an indented block: \(context)")
        } else {
            #expect(lines.count == 1, "\(lines.count) stderr lines: \(context)")
        }
        for m in bad.mentions.map(ws.expand) {
            #expect(first.contains(m), "the error line does not name '\(m)': \(context)")
        }
        #expect(r.out.isEmpty, "printed to stdout: \(r.out.prefix(400)) — \(context)")
        for (path, before) in destinations {
            #expect(Snapshot(of: path) == before, "\(path) was \(before == .absent ? "written" : "changed"): \(context)")
        }
    }
}

/// One way to call the CLI wrongly. `{tmp}` in `args` and `mentions` is the case's
/// temporary folder; every string in `mentions` must appear in the error line.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var args: [String]
    var mentions: [String]
    /// The error line may be followed by an indented block (the over-budget report).
    var detailBlock = false

    var testDescription: String { name }

    init(_ name: String, _ args: [String], mentions: [String], detailBlock: Bool = false) {
        self.name = name
        self.args = args
        self.mentions = mentions
        self.detailBlock = detailBlock
    }

    /// The paths the command was told to write: the values of --out, -o and --svg.
    static func destinations(in args: [String]) -> [String] {
        var paths: [String] = []
        for (i, a) in args.enumerated() {
            if ["--out", "-o", "--svg"].contains(a), i + 1 < args.count { paths.append(args[i + 1]) }
            for option in ["--out=", "--svg="] where a.hasPrefix(option) { paths.append(String(a.dropFirst(option.count))) }
        }
        return paths
    }

    static let trainQuick = ["--epochs", "1", "--train-limit", "4", "--test-limit", "4"]
    static let pretrained = ["--weights", "models/cnn-small.safetensors"]

    // MARK: 1. Missing files

    static let missingFiles: [BadInput] = [
        BadInput("info: model JSON missing", ["info", "--model", "{tmp}/absent/model.json"], mentions: ["absent/model.json"]),
        BadInput("info: weights missing (zoo model)", ["info", "--model", "cnn-small", "--weights", "{tmp}/absent.safetensors"],
                 mentions: ["absent.safetensors"]),
        BadInput("info: weights missing (JSON model)", ["info", "--model", "models/cnn-small.json", "--weights", "{tmp}/absent.safetensors"],
                 mentions: ["absent.safetensors"]),
        BadInput("eval: weights missing", ["eval", "--weights", "{tmp}/absent.safetensors"], mentions: ["absent.safetensors"]),
        BadInput("eval: data dir missing", ["eval"] + pretrained + ["--data", "{tmp}/absent-dir"], mentions: ["absent-dir"]),
        BadInput("train: data dir missing", ["train", "--data", "{tmp}/absent-dir", "--out", "{tmp}/run"] + trainQuick, mentions: ["absent-dir"]),
        BadInput("train: plan missing", ["train", "--plan", "{tmp}/absent-plan.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["absent-plan.json"]),
        BadInput("train: checkpoint missing", ["train", "--resume", "{tmp}/absent-checkpoint.safetensors", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["absent-checkpoint.safetensors"]),
        BadInput("compile: spec file missing", ["compile", "--spec", "{tmp}/absent-spec.json", "--out", "{tmp}/out.json"],
                 mentions: ["absent-spec.json"]),
        BadInput("compile: model JSON missing", ["compile", "--model", "{tmp}/absent-model.json", "--out", "{tmp}/out.json"],
                 mentions: ["absent-model.json"]),
        BadInput("compile: weights missing", ["compile", "--weights", "{tmp}/absent.safetensors", "--out", "{tmp}/out.json"],
                 mentions: ["absent.safetensors"]),
        BadInput("compile: calibration dir missing", ["compile", "--dtype", "int8", "--calibrate", "{tmp}/absent-dir", "--out", "{tmp}/int8.json"],
                 mentions: ["absent-dir"]),
        BadInput("plan show: plan missing", ["plan", "show", "{tmp}/absent-plan.json", "--svg", "{tmp}/memory.svg"], mentions: ["absent-plan.json"]),
        BadInput("search: weights missing", ["search", "--weights", "{tmp}/absent.safetensors", "--out", "{tmp}/spec.json"],
                 mentions: ["absent.safetensors"]),
        BadInput("search: data dir missing", ["search", "--data", "{tmp}/absent-dir", "--out", "{tmp}/spec.json"], mentions: ["absent-dir"]),
        BadInput("export: plan missing", ["export", "--plan", "{tmp}/absent-plan.json", "-o", "{tmp}/c"], mentions: ["absent-plan.json"]),
        BadInput("export: weights missing", ["export", "--plan", "{tmp}/plan.json", "--weights", "{tmp}/absent.safetensors", "-o", "{tmp}/c"],
                 mentions: ["absent.safetensors"]),
        BadInput("export: samples dir missing", ["export", "--plan", "{tmp}/plan.json", "--samples", "4", "--data", "{tmp}/absent-dir", "-o", "{tmp}/c"],
                 mentions: ["absent-dir"]),
        BadInput("export: target file missing", ["export", "--plan", "{tmp}/plan.json", "--target", "{tmp}/absent-target.json", "-o", "{tmp}/c"],
                 mentions: ["absent-target.json"]),
        BadInput("emulate: plan missing", ["emulate", "--plan", "{tmp}/absent-plan.json", "--svg", "{tmp}/profile.svg"],
                 mentions: ["absent-plan.json"]),
        BadInput("emulate: data dir missing", ["emulate", "--plan", "{tmp}/plan.json", "--data", "{tmp}/absent-dir", "--svg", "{tmp}/profile.svg"],
                 mentions: ["absent-dir"]),
    ]

    // MARK: 2. Files that exist but are not what is expected

    static let wrongFormats: [BadInput] = [
        BadInput("info: text file as model JSON", ["info", "--model", "{tmp}/notes.txt"], mentions: ["notes.txt"]),
        BadInput("info: safetensors as model JSON", ["info", "--model", "models/cnn-small.safetensors"], mentions: ["cnn-small.safetensors"]),
        BadInput("info: plan as model JSON", ["info", "--model", "{tmp}/plan.json"], mentions: ["plan.json", "sparrow-plan"]),
        BadInput("info: folder as model JSON", ["info", "--model", "{tmp}/a-folder"], mentions: ["a-folder", "directory"]),
        BadInput("info: text file as safetensors", ["info", "--model", "models/cnn-small.json", "--weights", "{tmp}/notes.txt"], mentions: ["notes.txt"]),
        BadInput("info: truncated safetensors", ["info", "--model", "models/cnn-small.json", "--weights", "{tmp}/truncated.safetensors"],
                 mentions: ["truncated.safetensors", "truncated"]),
        BadInput("info: model JSON as safetensors", ["info", "--model", "models/cnn-small.json", "--weights", "models/cnn-small.json"],
                 mentions: ["cnn-small.json"]),
        BadInput("info: weights of another model", ["info", "--model", "resnet8"] + pretrained, mentions: ["cnn-small.safetensors", "stem.weight"]),
        BadInput("eval: IDX dir of garbage", ["eval"] + pretrained + ["--data", "{tmp}/idx-garbage"], mentions: ["idx-garbage/train-images-idx3-ubyte"]),
        BadInput("eval: IDX dir with a truncated image file", ["eval"] + pretrained + ["--data", "{tmp}/idx-truncated"],
                 mentions: ["idx-truncated/train-images-idx3-ubyte"]),
        BadInput("eval: gzip IDX of garbage", ["eval"] + pretrained + ["--data", "{tmp}/idx-gz-garbage"], mentions: ["idx-gz-garbage/train-images-idx3-ubyte.gz"]),
        BadInput("eval: empty folder as data", ["eval"] + pretrained + ["--data", "{tmp}/idx-empty"], mentions: ["idx-empty", "train-images-idx3-ubyte"]),
        BadInput("eval: file as data dir", ["eval"] + pretrained + ["--data", "{tmp}/notes.txt"], mentions: ["notes.txt"]),
        BadInput("eval: images of another shape", ["eval", "--model", "ds-cnn", "--limit", "3"], mentions: ["fashion-mnist", "49×10×1"]),
        BadInput("train: model JSON as plan", ["train", "--plan", "models/cnn-small.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["cnn-small.json", "sparrow-plan"]),
        BadInput("train: truncated plan", ["train", "--plan", "{tmp}/plan-truncated.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["plan-truncated.json"]),
        BadInput("train: plan with a wrong field", ["train", "--plan", "{tmp}/plan-bad-field.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["plan-bad-field.json", "reorder_updates"]),
        BadInput("train: weights as checkpoint", ["train", "--resume", "models/cnn-small.safetensors", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["cnn-small.safetensors"]),
        BadInput("train: images of another shape", ["train", "--model", "ds-cnn", "--out", "{tmp}/run"] + trainQuick, mentions: ["fashion-mnist", "49×10×1"]),
        BadInput("train: uncalibrated int8 plan", ["train", "--plan", "{tmp}/int8-uncalibrated.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["int8-uncalibrated.json", "calibrat"]),
        BadInput("plan show: safetensors as plan", ["plan", "show", "models/cnn-small.safetensors", "--svg", "{tmp}/memory.svg"],
                 mentions: ["cnn-small.safetensors"]),
        BadInput("plan show: empty file", ["plan", "show", "{tmp}/plan-empty.json"], mentions: ["plan-empty.json"]),
        BadInput("plan show: folder as plan", ["plan", "show", "{tmp}/a-folder"], mentions: ["a-folder", "directory"]),
        BadInput("plan show: unknown field", ["plan", "show", "{tmp}/plan-unknown-field.json"], mentions: ["plan-unknown-field.json", "colour"]),
        BadInput("plan show: unknown op in the schedule", ["plan", "show", "{tmp}/plan-bad-op.json"], mentions: ["plan-bad-op.json", "conv1.weight", "warp"]),
        BadInput("plan show: misaligned offset", ["plan", "show", "{tmp}/plan-misaligned.json"], mentions: ["plan-misaligned.json", "conv1.bias"]),
        BadInput("plan show: newer format version", ["plan", "show", "{tmp}/plan-version-2.json"], mentions: ["plan-version-2.json", "version 2"]),
        BadInput("compile: spec naming a layer the model lacks", ["compile", "--spec", "{tmp}/spec-unknown-layer.json", "--out", "{tmp}/out.json"],
                 mentions: ["spec-unknown-layer.json", "nosuchlayer"]),
        BadInput("compile: spec naming a layer ds-cnn lacks", ["compile", "--model", "ds-cnn", "--spec", "{tmp}/spec-unknown-layer.json", "--budget", "none"],
                 mentions: ["spec-unknown-layer.json", "nosuchlayer"]),
        BadInput("compile: spec with a bad update", ["compile", "--spec", "{tmp}/spec-bad-update.json", "--out", "{tmp}/out.json"],
                 mentions: ["spec-bad-update.json", "layers.fc"]),
        BadInput("compile: text file as spec", ["compile", "--spec", "{tmp}/notes.txt", "--out", "{tmp}/out.json"], mentions: ["notes.txt"]),
        BadInput("compile: plan as spec", ["compile", "--spec", "{tmp}/plan.json", "--out", "{tmp}/out.json"], mentions: ["plan.json"]),
        BadInput("compile: text file as weights", ["compile", "--weights", "{tmp}/notes.txt", "--out", "{tmp}/out.json"], mentions: ["notes.txt"]),
        BadInput("compile: calibration dir of garbage", ["compile", "--dtype", "int8", "--calibrate", "{tmp}/idx-garbage", "--out", "{tmp}/int8.json"],
                 mentions: ["idx-garbage"]),
        BadInput("search: IDX dir of garbage", ["search", "--data", "{tmp}/idx-garbage", "--out", "{tmp}/spec.json"], mentions: ["idx-garbage"]),
        BadInput("export: truncated plan", ["export", "--plan", "{tmp}/plan-truncated.json", "-o", "{tmp}/c"], mentions: ["plan-truncated.json"]),
        BadInput("export: samples from garbage IDX", ["export", "--plan", "{tmp}/plan.json", "--samples", "4", "--data", "{tmp}/idx-garbage", "-o", "{tmp}/c"],
                 mentions: ["idx-garbage"]),
        BadInput("export: uncalibrated int8 plan", ["export", "--plan", "{tmp}/int8-uncalibrated.json", "-o", "{tmp}/c"],
                 mentions: ["int8-uncalibrated.json"]),
        BadInput("emulate: plan with a wrong field", ["emulate", "--plan", "{tmp}/plan-bad-field.json", "--svg", "{tmp}/profile.svg"],
                 mentions: ["plan-bad-field.json", "reorder_updates"]),
        BadInput("emulate: uncalibrated int8 plan", ["emulate", "--plan", "{tmp}/int8-uncalibrated.json"], mentions: ["int8-uncalibrated.json"]),
        BadInput("emulate: samples from garbage IDX", ["emulate", "--plan", "{tmp}/plan.json", "--data", "{tmp}/idx-garbage"], mentions: ["idx-garbage"]),
    ]

    // MARK: 3. Budgets

    static let budgets: [BadInput] = [
        BadInput("compile: sparse plan over 100KB", ["compile", "--spec", "sparse", "--budget", "100KB", "--out", "{tmp}/plan-out.json", "--svg", "{tmp}/memory.svg"],
                 mentions: ["100 KB budget"], detailBlock: true),
        BadInput("compile: full plan over 100KB", ["compile", "--spec", "full", "--budget", "100KB", "--out", "{tmp}/plan-out.json"],
                 mentions: ["100 KB budget"], detailBlock: true),
        BadInput("compile: budget 12XB", ["compile", "--budget", "12XB", "--out", "{tmp}/plan-out.json"], mentions: ["--budget", "12XB"]),
        BadInput("compile: negative budget", ["compile", "--budget", "-5KB", "--out", "{tmp}/plan-out.json"], mentions: ["--budget", "-5KB"]),
        BadInput("compile: zero budget", ["compile", "--budget", "0"], mentions: ["--budget", "'0'"]),
        BadInput("compile: budget under a byte", ["compile", "--budget", "0.5B"], mentions: ["--budget", "0.5B"]),
        BadInput("compile: unit without a number", ["compile", "--budget", "KB"], mentions: ["--budget", "KB"]),
        BadInput("compile: absurd budget", ["compile", "--budget", "1e20"], mentions: ["--budget", "1e20"]),
        BadInput("search: budget 12XB", ["search", "--budget", "12XB", "--out", "{tmp}/spec.json"], mentions: ["--budget", "12XB"]),
        BadInput("search: nothing fits 1KB", ["search", "--budget", "1KB", "--steps", "2", "--out", "{tmp}/spec.json"], mentions: ["1 KB", "--budget"]),
    ]

    // MARK: 4. Targets

    static let unknownTargets: [BadInput] = [
        BadInput("export: unknown target", ["export", "--plan", "{tmp}/plan.json", "--target", "nosuchmcu", "-o", "{tmp}/c"], mentions: ["nosuchmcu"]),
        BadInput("export: malformed target JSON", ["export", "--plan", "{tmp}/plan.json", "--target", "{tmp}/target-incomplete.json", "-o", "{tmp}/c"],
                 mentions: ["target-incomplete.json", "isa"]),
        BadInput("export: target file not JSON", ["export", "--plan", "{tmp}/plan.json", "--target", "{tmp}/target-text.json", "-o", "{tmp}/c"],
                 mentions: ["target-text.json"]),
        BadInput("emulate: unknown target", ["emulate", "--plan", "{tmp}/plan.json", "--target", "nosuchmcu", "--svg", "{tmp}/profile.svg"],
                 mentions: ["nosuchmcu"]),
        BadInput("emulate: malformed target JSON", ["emulate", "--plan", "{tmp}/plan.json", "--target", "{tmp}/target-incomplete.json"],
                 mentions: ["target-incomplete.json"]),
        BadInput("train --plan: unknown target", ["train", "--plan", "{tmp}/plan.json", "--target", "nosuchmcu", "--out", "{tmp}/run"] + pretrained + trainQuick,
                 mentions: ["nosuchmcu"]),
        BadInput("train --plan: malformed target JSON",
                 ["train", "--plan", "{tmp}/plan.json", "--target", "{tmp}/target-incomplete.json", "--out", "{tmp}/run"] + pretrained + trainQuick,
                 mentions: ["target-incomplete.json"]),
        BadInput("compile --tune: unknown target", ["compile", "--spec", "sparse", "--tune", "--target", "nosuchmcu", "--out", "{tmp}/tuned.json"],
                 mentions: ["nosuchmcu"]),
        BadInput("compile --tune: malformed target JSON",
                 ["compile", "--spec", "sparse", "--tune", "--target", "{tmp}/target-incomplete.json", "--out", "{tmp}/tuned.json"],
                 mentions: ["target-incomplete.json"]),
        BadInput("compile: --target without --tune", ["compile", "--target", "nosuchmcu", "--out", "{tmp}/plan-out.json"], mentions: ["--target", "--tune"]),
    ]

    // MARK: 5. A plan compiled for another model

    static let foreignPlans: [BadInput] = [
        BadInput("train: cnn-small plan, ds-cnn model", ["train", "--plan", "{tmp}/plan.json", "--model", "ds-cnn", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["plan.json", "cnn-small", "ds-cnn"]),
        BadInput("train: cnn-small plan, resnet8 JSON", ["train", "--plan", "{tmp}/plan.json", "--model", "models/resnet8.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["plan.json", "resnet8"]),
        BadInput("train: ds-cnn plan, cnn-small model", ["train", "--plan", "{tmp}/ds-cnn-plan.json", "--out", "{tmp}/run"] + pretrained + trainQuick,
                 mentions: ["ds-cnn-plan.json", "ds-cnn"]),
        BadInput("train: plan naming ds-cnn", ["train", "--plan", "{tmp}/plan-for-ds-cnn.json", "--out", "{tmp}/run"] + trainQuick,
                 mentions: ["plan-for-ds-cnn.json", "ds-cnn"]),
        BadInput("train: resnet8 renamed cnn-small", ["train", "--plan", "{tmp}/plan.json", "--model", "{tmp}/resnet8-named-cnn-small.json", "--out", "{tmp}/run"]
                 + trainQuick, mentions: ["plan.json", "conv1.weight"]),
        BadInput("train: cnn-small with a narrower pw3", ["train", "--plan", "{tmp}/plan.json", "--model", "{tmp}/narrow-cnn-small.json", "--out", "{tmp}/run"]
                 + trainQuick, mentions: ["plan.json", "pw3.weight"]),
        BadInput("train: resnet8 with cnn-small weights", ["train", "--plan", "{tmp}/plan.json", "--model", "resnet8", "--out", "{tmp}/run"] + pretrained + trainQuick,
                 mentions: ["cnn-small.safetensors", "stem.weight"]),
        BadInput("export: cnn-small plan, ds-cnn model", ["export", "--plan", "{tmp}/plan.json", "--model", "ds-cnn", "-o", "{tmp}/c"],
                 mentions: ["plan.json", "ds-cnn"]),
        BadInput("export: ds-cnn plan, cnn-small weights", ["export", "--plan", "{tmp}/ds-cnn-plan.json", "-o", "{tmp}/c"] + pretrained,
                 mentions: ["ds-cnn-plan.json", "ds-cnn"]),
        BadInput("export: cnn-small with a narrower pw3", ["export", "--plan", "{tmp}/plan.json", "--model", "{tmp}/narrow-cnn-small.json", "-o", "{tmp}/c"],
                 mentions: ["plan.json", "pw3.weight"]),
        BadInput("export: resnet8 with cnn-small weights", ["export", "--plan", "{tmp}/plan.json", "--model", "resnet8", "-o", "{tmp}/c"] + pretrained,
                 mentions: ["cnn-small.safetensors", "stem.weight"]),
        BadInput("emulate: cnn-small plan, ds-cnn model", ["emulate", "--plan", "{tmp}/plan.json", "--model", "ds-cnn", "--svg", "{tmp}/profile.svg"],
                 mentions: ["plan.json", "ds-cnn"]),
        BadInput("emulate: ds-cnn plan, cnn-small model", ["emulate", "--plan", "{tmp}/ds-cnn-plan.json"] + pretrained, mentions: ["ds-cnn-plan.json", "ds-cnn"]),
        BadInput("emulate: resnet8 renamed cnn-small", ["emulate", "--plan", "{tmp}/plan.json", "--model", "{tmp}/resnet8-named-cnn-small.json"],
                 mentions: ["plan.json", "conv1.weight"]),
    ]

    // MARK: Unknown options and commands

    static let unknownOptions: [BadInput] = [
        BadInput("unknown command", ["nonsense"], mentions: ["nonsense"]),
        BadInput("train --epochz", ["train", "--epochz", "3"], mentions: ["--epochz", "did you mean --epochs"]),
        BadInput("train -epochs (one dash)", ["train", "-epochs", "3"], mentions: ["-epochs"]),
        BadInput("eval --jsn", ["eval", "--jsn"], mentions: ["--jsn"]),
        BadInput("info --bogus", ["info", "--bogus"], mentions: ["--bogus"]),
        BadInput("info with a stray word", ["info", "cnn-small"], mentions: ["'cnn-small'"]),
        BadInput("info --json=yes", ["info", "--json=yes"], mentions: ["--json"]),
        BadInput("compile --budjet", ["compile", "--budjet", "1KB", "--out", "{tmp}/plan-out.json"], mentions: ["--budjet", "--budget"]),
        BadInput("plan show --tensor", ["plan", "show", "{tmp}/plan.json", "--tensor"], mentions: ["--tensor"]),
        BadInput("plan list", ["plan", "list", "{tmp}/plan.json"], mentions: ["'list'"]),
        BadInput("search --stepz", ["search", "--stepz", "2", "--out", "{tmp}/spec.json"], mentions: ["--stepz"]),
        BadInput("export --no-bulid", ["export", "--plan", "{tmp}/plan.json", "-o", "{tmp}/c", "--no-bulid"], mentions: ["--no-bulid", "--no-build"]),
        BadInput("emulate --chek", ["emulate", "--plan", "{tmp}/plan.json", "--chek"], mentions: ["--chek", "--check"]),
        BadInput("demo --bogus", ["demo", "--bogus", "--out", "{tmp}/demo"], mentions: ["--bogus"]),
        BadInput("bench --bogus", ["bench", "--bogus"], mentions: ["--bogus"]),
    ]

    // MARK: Bad option values

    static let badValues: [BadInput] = [
        BadInput("train --epochs zero", ["train", "--epochs", "zero"], mentions: ["--epochs", "zero"]),
        BadInput("train --epochs 0", ["train", "--epochs", "0", "--out", "{tmp}/run"], mentions: ["epochs"]),
        BadInput("train --optimizer lion", ["train", "--optimizer", "lion"], mentions: ["--optimizer", "lion"]),
        BadInput("train --schedule linear", ["train", "--schedule", "linear"], mentions: ["--schedule", "linear"]),
        BadInput("train --lr nan", ["train", "--lr", "nan"], mentions: ["--lr", "nan"]),
        BadInput("train --loss-scale 3", ["train", "--loss-scale", "3"], mentions: ["--loss-scale", "3"]),
        BadInput("train --seed -1", ["train", "--seed", "-1"], mentions: ["--seed"]),
        BadInput("train --momentum x", ["train", "--momentum", "x"], mentions: ["--momentum", "'x'"]),
        BadInput("train --augment-shift 99", ["train", "--augment-shift", "99"], mentions: ["shift", "99"]),
        BadInput("train --cores 0", ["train", "--cores", "0"], mentions: ["cores"]),
        BadInput("train --train-limit -1", ["train", "--train-limit", "-1", "--out", "{tmp}/run"], mentions: ["--train-limit", "-1"]),
        BadInput("train --test-limit 0", ["train", "--test-limit", "0", "--out", "{tmp}/run"], mentions: ["--test-limit"]),
        BadInput("train --out is a file", ["train", "--out", "{tmp}/notes.txt"] + trainQuick, mentions: ["--out", "notes.txt"]),
        BadInput("train --svg in a missing folder", ["train", "--svg", "{tmp}/absent/training.svg"] + trainQuick, mentions: ["--svg", "absent"]),
        BadInput("eval --limit -5", ["eval", "--limit", "-5"] + pretrained, mentions: ["--limit", "-5"]),
        BadInput("eval --limit abc", ["eval", "--limit", "abc"] + pretrained, mentions: ["--limit", "abc"]),
        BadInput("compile --dtype fp8", ["compile", "--dtype", "fp8", "--out", "{tmp}/plan-out.json"], mentions: ["--dtype", "fp8"]),
        BadInput("compile --accumulate on fp32", ["compile", "--accumulate", "fp16"], mentions: ["--accumulate"]),
        BadInput("compile int8 with adam", ["compile", "--dtype", "int8", "--optimizer", "adam", "--calibrate", "none"], mentions: ["int8", "adam"]),
        BadInput("compile --no-qas on fp16", ["compile", "--dtype", "fp16", "--no-qas"], mentions: ["--no-qas"]),
        BadInput("compile --spec last:two", ["compile", "--spec", "last:two"], mentions: ["--spec", "last:two"]),
        BadInput("compile --spec tte index out of range", ["compile", "--spec", "tte:2:-9@1/4"], mentions: ["-9"]),
        BadInput("compile --cores 65", ["compile", "--cores", "65"], mentions: ["--cores", "65"]),
        BadInput("compile --optimizer lion", ["compile", "--optimizer", "lion"], mentions: ["--optimizer", "lion"]),
        BadInput("compile --out in a missing folder", ["compile", "--spec", "sparse", "--out", "{tmp}/absent/plan.json"], mentions: ["--out", "absent"]),
        BadInput("compile --svg in a missing folder", ["compile", "--spec", "sparse", "--out", "{tmp}/plan-out.json", "--svg", "{tmp}/absent/memory.svg"],
                 mentions: ["--svg", "absent"]),
        BadInput("compile --out is a folder", ["compile", "--spec", "sparse", "--out", "{tmp}/a-folder"], mentions: ["--out", "a-folder"]),
        BadInput("plan show --svg in a missing folder", ["plan", "show", "{tmp}/plan.json", "--svg", "{tmp}/absent/memory.svg"], mentions: ["--svg", "absent"]),
        BadInput("search --steps -3", ["search", "--steps", "-3", "--out", "{tmp}/spec.json"], mentions: ["--steps", "-3"]),
        BadInput("search --lr abc", ["search", "--lr", "abc"], mentions: ["--lr", "abc"]),
        BadInput("search --seed -1", ["search", "--seed", "-1"], mentions: ["--seed"]),
        BadInput("search --optimizer lion", ["search", "--optimizer", "lion"], mentions: ["--optimizer", "lion"]),
        BadInput("search --out in a missing folder", ["search", "--out", "{tmp}/absent/spec.json"], mentions: ["--out", "absent"]),
        BadInput("export --cores beyond the plan", ["export", "--plan", "{tmp}/plan.json", "--cores", "9", "-o", "{tmp}/c"], mentions: ["--cores 9"]),
        BadInput("export --cores 0", ["export", "--plan", "{tmp}/plan.json", "--cores", "0", "-o", "{tmp}/c"], mentions: ["--cores"]),
        BadInput("export --lr abc", ["export", "--plan", "{tmp}/plan.json", "--lr", "abc", "-o", "{tmp}/c"], mentions: ["--lr", "abc"]),
        BadInput("export --samples 0", ["export", "--plan", "{tmp}/plan.json", "--samples", "0", "-o", "{tmp}/c"], mentions: ["--samples"]),
        BadInput("export -o is a file", ["export", "--plan", "{tmp}/plan.json", "-o", "{tmp}/notes.txt"], mentions: ["notes.txt"]),
        BadInput("emulate --steps 0", ["emulate", "--plan", "{tmp}/plan.json", "--steps", "0"], mentions: ["--steps"]),
        BadInput("emulate --steps x", ["emulate", "--plan", "{tmp}/plan.json", "--steps", "x"], mentions: ["--steps", "'x'"]),
        BadInput("emulate --cores beyond the plan", ["emulate", "--plan", "{tmp}/plan.json", "--cores", "5"], mentions: ["--cores 5"]),
        BadInput("emulate --lr x", ["emulate", "--plan", "{tmp}/plan.json", "--lr", "x"], mentions: ["--lr", "'x'"]),
        BadInput("emulate --svg in a missing folder", ["emulate", "--plan", "{tmp}/plan.json", "--svg", "{tmp}/absent/profile.svg"], mentions: ["--svg", "absent"]),
        BadInput("demo --seed -1", ["demo", "--seed", "-1", "--out", "{tmp}/demo"], mentions: ["--seed"]),
        BadInput("demo --emulated-steps 0", ["demo", "--emulated-steps", "0", "--out", "{tmp}/demo"], mentions: ["--emulated-steps"]),
        BadInput("demo --emulated-steps x", ["demo", "--emulated-steps", "x", "--out", "{tmp}/demo"], mentions: ["--emulated-steps", "'x'"]),
        BadInput("demo --out is a file", ["demo", "--out", "{tmp}/notes.txt"], mentions: ["--out", "notes.txt"]),
        BadInput("bench --only nosuch", ["bench", "--only", "nosuch"], mentions: ["--only", "nosuch"]),
        BadInput("bench --seconds abc", ["bench", "--seconds", "abc"], mentions: ["--seconds", "abc"]),
        BadInput("bench --precision --epochs 0", ["bench", "--precision", "--epochs", "0"], mentions: ["--epochs"]),
    ]

    // MARK: Missing required options and values

    static let missingOptions: [BadInput] = [
        BadInput("export without --plan", ["export", "-o", "{tmp}/c"], mentions: ["--plan"]),
        BadInput("export without -o", ["export", "--plan", "{tmp}/plan.json"], mentions: ["-o DIR"]),
        BadInput("emulate without --plan", ["emulate", "--svg", "{tmp}/profile.svg"], mentions: ["--plan"]),
        BadInput("plan without a subcommand", ["plan"], mentions: ["plan show"]),
        BadInput("plan show without a file", ["plan", "show"], mentions: ["plan file"]),
        BadInput("plan show with two files", ["plan", "show", "{tmp}/plan.json", "{tmp}/plan.json"], mentions: ["one plan file"]),
        BadInput("train --model without a value", ["train", "--model"], mentions: ["--model"]),
        BadInput("compile --budget without a value", ["compile", "--budget"], mentions: ["--budget"]),
        BadInput("eval --data without a value", ["eval", "--data"], mentions: ["--data"]),
        BadInput("export --plan without a value", ["export", "-o", "{tmp}/c", "--plan"], mentions: ["--plan"]),
    ]
}

/// A path's state, to tell whether a failed command wrote to it.
enum Snapshot: Equatable {
    case absent
    case file(Data)
    case folder([String])

    init(of path: String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { self = .absent; return }
        if isDirectory.boolValue {
            self = .folder(((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted())
        } else {
            self = .file((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
        }
    }
}

/// A case's temporary folder with the bad inputs in it; `remove()` deletes it.
struct Workspace {
    /// Seed of the garbage bytes in `idx-garbage` (printed with every failure).
    static let garbageSeed: UInt64 = 0x5EED_BAD1
    /// Seconds a case may run before it is killed and fails.
    static let timeout: TimeInterval = 60

    /// Prints the seed once per run, so a failure in the garbage-IDX cases can be replayed.
    private static let seedAnnouncement: Void = print("CLIBadInputTests: garbage IDX bytes from SplitMix64 seed \(garbageSeed)")

    let dir: URL

    init() throws {
        Workspace.seedAnnouncement
        let plans = try ValidPlans.shared.get()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-bad-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try write(plans.cnnSmall, "plan.json")
        try write(plans.dsCNN, "ds-cnn-plan.json")
        try write(plans.int8Uncalibrated, "int8-uncalibrated.json")
        try writePlanVariants(String(decoding: plans.cnnSmall, as: UTF8.self))
        try write(Data("hello, this is not a model\n".utf8), "notes.txt")
        try folder("a-folder")
        let weights = try Data(contentsOf: URL(fileURLWithPath: Repo.path("models/cnn-small.safetensors")))
        try write(weights.prefix(1000), "truncated.safetensors")
        try writeDatasets()
        try writeModels()
        try write(Data(#"{"format": "sparrow-update-spec", "version": 1, "layers": {"nosuchlayer": "bias"}}"#.utf8), "spec-unknown-layer.json")
        try write(Data(#"{"format": "sparrow-update-spec", "version": 1, "layers": {"fc": "half"}}"#.utf8), "spec-bad-update.json")
        try write(Data(#"{"format": "sparrow-target", "name": "incomplete"}"#.utf8), "target-incomplete.json")
        try write(Data("not a target\n".utf8), "target-text.json")
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// `{tmp}` replaced by this workspace's folder.
    func expand(_ s: String) -> String { s.replacingOccurrences(of: "{tmp}", with: dir.path) }

    /// Runs the CLI from the repository root, output to files (no pipe can fill up),
    /// killed after `Workspace.timeout` seconds.
    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String, timedOut: Bool) {
        let outURL = dir.appendingPathComponent(".stdout"), errURL = dir.appendingPathComponent(".stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        let p = Process()
        p.executableURL = Repo.sparrowBinary
        p.arguments = args
        p.currentDirectoryURL = Repo.root
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(Workspace.timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = p.isRunning
        if timedOut { p.terminate() }
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8), timedOut)
    }

    private func write(_ data: Data, _ name: String) throws {
        try data.write(to: dir.appendingPathComponent(name))
    }

    private func folder(_ name: String) throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
    }

    /// Copies of the valid cnn-small plan, each broken in one way.
    private func writePlanVariants(_ plan: String) throws {
        func variant(_ name: String, _ old: String, _ new: String) throws {
            guard plan.contains(old) else { throw SetupError(description: "the compiled plan no longer contains \(old)") }
            try write(Data(plan.replacingOccurrences(of: old, with: new).utf8), name)
        }
        try write(Data(plan.utf8.prefix(plan.utf8.count / 2)), "plan-truncated.json")
        try write(Data(), "plan-empty.json")
        try variant("plan-bad-field.json", #""reorder_updates": true"#, #""reorder_updates": "yes""#)
        try variant("plan-unknown-field.json", #""format": "sparrow-plan","#, #""format": "sparrow-plan", "colour": "red","#)
        try variant("plan-bad-op.json", #""name": "conv1.weight", "op": {"kind": "parameter"}"#, #""name": "conv1.weight", "op": {"kind": "warp"}"#)
        try variant("plan-version-2.json", #""version": 1,"#, #""version": 2,"#)
        try variant("plan-for-ds-cnn.json", #""model": "cnn-small""#, #""model": "ds-cnn""#)
        // conv1.bias sits in SRAM at offset 0 (the plan keeps it all step); 8 is not 16-byte aligned.
        try variant("plan-misaligned.json", #""name": "conv1.bias", "op": {"kind": "parameter"}, "inputs": [], "dtype": "fp32", "shape": [16], "phase": "leaf", "region": "sram", "offset": 0,"#,
                    #""name": "conv1.bias", "op": {"kind": "parameter"}, "inputs": [], "dtype": "fp32", "shape": [16], "phase": "leaf", "region": "sram", "offset": 8,"#)
    }

    /// IDX folders that are not datasets: seeded garbage, a truncated image file, garbage gzip, nothing.
    private func writeDatasets() throws {
        var rng = SplitMix64(seed: Workspace.garbageSeed)
        let stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        try folder("idx-garbage")
        for stem in stems { try write(Data((0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), "idx-garbage/\(stem)") }
        try folder("idx-gz-garbage")
        for stem in stems { try write(Data((0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), "idx-gz-garbage/\(stem).gz") }
        // A header for 100 images of 28×28 followed by only 10 bytes of pixels.
        try folder("idx-truncated")
        try write(Data([0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28] + [UInt8](repeating: 7, count: 10)), "idx-truncated/train-images-idx3-ubyte")
        try write(Data([0, 0, 8, 1, 0, 0, 0, 100] + [UInt8](repeating: 1, count: 100)), "idx-truncated/train-labels-idx1-ubyte")
        try folder("idx-empty")
    }

    /// Architectures that pass the plan's name check but not its shapes.
    private func writeModels() throws {
        func edited(_ file: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
            let data = try Data(contentsOf: URL(fileURLWithPath: Repo.path(file)))
            guard var json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw SetupError(description: "\(file) is not a JSON object") }
            edit(&json)
            return try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        }
        try write(try edited("models/resnet8.json") { $0["name"] = "cnn-small" }, "resnet8-named-cnn-small.json")
        try write(try edited("models/cnn-small.json") { json in
            json["layers"] = (json["layers"] as? [[String: Any]] ?? []).map { layer in
                var l = layer
                if l["name"] as? String == "pw3" { l["out_channels"] = 24 }
                return l
            }
        }, "narrow-cnn-small.json")
    }
}

/// The valid plans the workspaces start from, compiled by the CLI once per test run.
struct ValidPlans: Sendable {
    var cnnSmall: Data
    var dsCNN: Data
    var int8Uncalibrated: Data

    static let shared: Result<ValidPlans, SetupError> = compile()

    private static func compile() -> Result<ValidPlans, SetupError> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-bad-input-plans-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        func plan(_ name: String, _ args: [String]) throws -> Data {
            let file = dir.appendingPathComponent(name).path
            let r = try Repo.sparrow(["compile"] + args + ["--out", file])
            guard r.code == 0 else { throw SetupError(description: "sparrow compile \(args.joined(separator: " ")): \(r.err)") }
            return try Data(contentsOf: URL(fileURLWithPath: file))
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return .success(ValidPlans(
                cnnSmall: try plan("plan.json", ["--model", "cnn-small", "--spec", "sparse"]),
                dsCNN: try plan("ds-cnn-plan.json", ["--model", "ds-cnn", "--spec", "sparse", "--budget", "none"]),
                int8Uncalibrated: try plan("int8.json", ["--model", "cnn-small", "--spec", "sparse", "--dtype", "int8", "--calibrate", "none"])))
        } catch let e as SetupError {
            return .failure(e)
        } catch {
            return .failure(SetupError(description: "\(error)"))
        }
    }
}

/// A workspace that could not be prepared (not a failure of the CLI under test).
struct SetupError: Error, CustomStringConvertible {
    var description: String
}

/// SplitMix64: the garbage bytes of a workspace, reproducible from `Workspace.garbageSeed`.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
