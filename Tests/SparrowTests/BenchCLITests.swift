import Foundation
import Testing

/// `sparrow bench`'s memory section: its figures are the planner's, and they order as the plans do.
@Suite struct BenchCLITests {
    @Test func memorySectionAgreesWithCompile() throws {
        let r = try Repo.sparrow(["bench", "--only", "memory", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        let rows = json?["memory"] as? [[String: Any]] ?? []
        #expect(Set(rows.compactMap { $0["model"] as? String }) == ["cnn-small", "mobilenetv2-w0.35", "mcunet-like", "resnet8", "ds-cnn"])
        #expect((json?["host"] as? [Any])?.isEmpty == true && (json?["device"] as? [Any])?.isEmpty == true)
        for row in rows {
            let name = row["model"] as? String ?? "?"
            func peak(_ key: String) -> Int { row[key] as? Int ?? -1 }
            #expect(peak("fullReordered") <= peak("full"), "\(name)")
            #expect(peak("sparseReordered") <= peak("sparse"), "\(name)")
            #expect(peak("sparse") < peak("full"), "\(name)")
            #expect(peak("sparseReorderedFP16") < peak("sparseReordered"), "\(name)")
        }
        // The same figure as `sparrow compile` of that plan.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("plan.json").path
        let c = try Repo.sparrow(["compile", "--model", "ds-cnn", "--spec", "sparse", "--dtype", "fp16", "--budget", "4MB", "--out", plan])
        #expect(c.code == 0, "\(c.err)")
        let show = try JSONSerialization.jsonObject(with: Data(try Repo.sparrow(["plan", "show", plan, "--json"]).out.utf8)) as? [String: Any]
        let ds = rows.first { $0["model"] as? String == "ds-cnn" }
        #expect(show?["peakSRAM"] as? Int != nil && show?["peakSRAM"] as? Int == ds?["sparseReorderedFP16"] as? Int)
    }

    @Test func unknownSectionIsAUserError() throws {
        let r = try Repo.sparrow(["bench", "--only", "memory,gpu"])
        #expect(r.code == 1)
        #expect(r.err.contains("unknown section 'gpu'"), "\(r.err)")
    }
}
