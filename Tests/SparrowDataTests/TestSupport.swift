import Foundation
import SparrowIR
import Testing

@testable import SparrowData

/// Shared helpers: seeds, temporary files, the system gzip, random data.
enum TestSupport {
    /// The repository root (found from this file's path), holding the shipped dataset.
    static let repoRoot: String? = FashionMNIST.findRepoRoot(from: #filePath)

    /// The seed for a randomized test: `SPARROW_TEST_SEED` if set, else `fallback`.
    /// Printed so a failure can be replayed with the same seed.
    static func seed(_ test: String, fallback: UInt64) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["SPARROW_TEST_SEED"].flatMap { UInt64($0) } ?? fallback
        print("\(test): seed \(seed) (replay with SPARROW_TEST_SEED=\(seed))")
        return seed
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sparrow-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Path of the system gzip, if this machine has one.
    static let gzipPath: String? = ["/bin/gzip", "/usr/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `gzip <arguments>` on `input` and returns its standard output.
    static func runGzip(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        guard let gzip = gzipPath else { throw CocoaError(.fileNoSuchFile) }
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let inputPath = (directory as NSString).appendingPathComponent("input")
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzip)
        process.arguments = arguments + ["-c", inputPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        // Read before waiting: a full pipe would otherwise block gzip forever.
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return [UInt8](output)
    }

    static func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// A small valid dataset: `count` samples of shape [h, w, 1] with label `i % classes`.
    static func tinyDataset(count: Int, classes: Int, h: Int = 4, w: Int = 4) throws -> Dataset {
        var samples: [Float] = []
        for i in 0..<count {
            for p in 0..<(h * w) { samples.append(Float((i * 7 + p) % 256) / 255) }
        }
        return try Dataset(
            name: "tiny", sampleShape: [h, w, 1], samples: samples,
            labels: (0..<count).map { Int32($0 % classes) }, classCount: classes)
    }
}

/// Expects `body` to throw a `DataError` whose problem matches `matches`, and
/// whose description names `file`.
func expectDataError<T>(
    file: String? = nil, _ body: () throws(DataError) -> T,
    sourceLocation: SourceLocation = #_sourceLocation, matches: (DataError.Problem) -> Bool
) {
    do {
        _ = try body()
        Issue.record("expected a DataError, got success", sourceLocation: sourceLocation)
    } catch {
        #expect(matches(error.problem), "unexpected problem: \(error)", sourceLocation: sourceLocation)
        if let file {
            #expect(error.file == file, "error names \(error.file), expected \(file)", sourceLocation: sourceLocation)
            #expect(error.description.contains(file), sourceLocation: sourceLocation)
        }
    }
}
