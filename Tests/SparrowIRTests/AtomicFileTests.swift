import Foundation
import Testing
@testable import SparrowIR

@Suite("atomic file writes")
struct AtomicFileTests {
    @Test("a failed write leaves the target untouched and no temporary file")
    func failureKeepsOldContent() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let target = try dir.write("old", to: "keep.txt")
        try AtomicFile.write(Data("new".utf8), to: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "new")

        // Renaming a file over a non-empty directory fails after the temporary is written.
        let blocker = dir.file("blocked")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        _ = try dir.write("x", to: "blocked/inner")
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data("data".utf8), to: blocker) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() == ["blocked", "keep.txt"])

        let missing = dir.url.appendingPathComponent("no/such/dir/file")
        do {
            try AtomicFile.write(Data(), to: missing)
            Issue.record("writing into a missing directory must fail")
        } catch {
            #expect(error.description.contains(missing.path))
        }
    }
}
