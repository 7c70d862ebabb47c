import Foundation
import Testing

@Suite struct CLITests {
    @Test(arguments: ["demo", "train", "eval", "info", "compile", "plan", "search", "bench", "export", "emulate"])
    func everySubcommandHasHelp(_ command: String) throws {
        let r = try Repo.sparrow([command, "--help"])
        #expect(r.code == 0)
        #expect(r.out.contains("USAGE: sparrow \(command)"))
        #expect(r.out.contains("--help"))
    }

    @Test func infoAsJSON() throws {
        let r = try Repo.sparrow(["info", "--model", "cnn-small", "--json"])
        #expect(r.code == 0)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect(json?["parameters"] as? Int == 21_866)
    }

    @Test func userErrorsExitWithOne() throws {
        let cases: [[String]] = [
            ["nonsense"],
            ["train", "--epochz", "3"],
            ["train", "--epochs", "zero"],
            ["train", "--optimizer", "lion"],
            ["info", "--model", "/nonexistent/model.json"],
            ["eval", "--model", "cnn-small", "--weights", "/nonexistent.safetensors"],
            ["train", "--data", "/nonexistent-dir", "--epochs", "1"],
            ["compile", "--dtype", "fp8"],
            ["compile", "--accumulate", "fp16"],
            ["compile", "--dtype", "int8", "--optimizer", "adam", "--calibrate", "none"],
            ["compile", "--dtype", "fp16", "--no-qas"],
            ["train", "--loss-scale", "3"],
            ["export", "-o", "/tmp/sparrow-never-written"],
            ["export", "--plan", "/nonexistent-plan.json", "-o", "/tmp/sparrow-never-written"],
            ["export", "--plan", "Tests/Fixtures/plans/tiny-plan.json", "-o", "/tmp/sparrow-never-written"],
            ["export", "--plan", "Tests/Fixtures/plans/tiny-plan.json", "--target", "nosuchmcu", "-o", "/tmp/sparrow-never-written"],
            ["emulate"],
            ["emulate", "--plan", "/nonexistent-plan.json"],
            ["emulate", "--plan", "Tests/Fixtures/plans/tiny-plan.json"],
        ]
        for c in cases {
            let r = try Repo.sparrow(c)
            #expect(r.code == 1, "\(c) exited \(r.code): \(r.err)")
            #expect(r.err.contains("error"), "\(c) printed no error: \(r.err)")
        }
        let typo = try Repo.sparrow(["train", "--epochz", "3"])
        #expect(typo.err.contains("did you mean --epochs"))
    }

    /// compile → plan.json → plan show → train --plan, and the over-budget error.
    @Test func compileShowAndTrainThroughAPlan() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-plan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("plan.json").path, svg = dir.appendingPathComponent("memory.svg").path
        let c = try Repo.sparrow(["compile", "--model", "cnn-small", "--weights", "models/cnn-small.safetensors", "--spec", "sparse",
                                  "--budget", "256KB", "--out", plan, "--svg", svg])
        #expect(c.code == 0, "\(c.err)")
        #expect(c.out.contains("peak SRAM") && c.out.contains("live-set lower bound"))
        #expect(FileManager.default.fileExists(atPath: svg))
        let show = try Repo.sparrow(["plan", "show", plan, "--json"])
        #expect(show.code == 0, "\(show.err)")
        let report = try JSONSerialization.jsonObject(with: Data(show.out.utf8)) as? [String: Any]
        #expect((report?["peakSRAM"] as? Int ?? .max) <= 256 * 1024)
        let t = try Repo.sparrow(["train", "--plan", plan, "--weights", "models/cnn-small.safetensors", "--epochs", "1",
                                  "--train-limit", "64", "--test-limit", "64", "--json"])
        #expect(t.code == 0, "\(t.err)")
        let over = try Repo.sparrow(["compile", "--model", "cnn-small", "--spec", "full", "--budget", "100KB"])
        #expect(over.code == 1)
        #expect(over.err.contains("over the 100 KB budget") && over.err.contains("Largest tensors alive at the peak"))
        // An int8 plan, calibrated on the shipped images, fine-tunes through the same CLI path.
        let int8 = dir.appendingPathComponent("int8.json").path
        let q = try Repo.sparrow(["compile", "--weights", "models/cnn-small.safetensors", "--spec", "sparse", "--dtype", "int8", "--out", int8])
        #expect(q.code == 0 && q.out.contains("in int8"), "\(q.err)")
        let tq = try Repo.sparrow(["train", "--plan", int8, "--weights", "models/cnn-small.safetensors", "--epochs", "1",
                                   "--train-limit", "64", "--test-limit", "64"])
        #expect(tq.code == 0, "\(tq.err)")
        let badSpec = try Repo.sparrow(["compile", "--spec", "last:two"])
        #expect(badSpec.code == 1 && badSpec.err.contains("--spec"))
    }

    @Test func evalPrintsAccuracyAndConfusionAsJSON() throws {
        let r = try Repo.sparrow(["eval", "--model", "models/cnn-small.json", "--weights", "models/cnn-small.safetensors",
                                  "--limit", "200", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect((json?["accuracy"] as? Double ?? 0) > 0.8)
        #expect((json?["confusion"] as? [[Int]])?.count == 10)
    }

    @Test func trainWritesCheckpointAndModel() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try Repo.sparrow(["train", "--epochs", "1", "--train-limit", "256", "--test-limit", "64", "--out", out.path, "--json"])
        #expect(r.code == 0, "\(r.err)")
        for f in ["model.json", "weights.safetensors", "checkpoint.safetensors", "training.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "missing \(f)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.count == 4, "stray temporary files: \(files)")
    }
}
