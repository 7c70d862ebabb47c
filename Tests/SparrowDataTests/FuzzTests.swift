import Foundation
import SparrowIR
import Testing

@testable import SparrowData

/// Corrupted inputs must load or throw a `DataError` — never trap, hang or
/// allocate without bound. (Typed throws make "only DataError" a compile-time
/// fact; these tests check the "never trap" half.)
@Suite("Fuzz")
struct FuzzTests {
    /// One random corruption: truncation, 1–4 bit flips, a byte overwrite, or an insertion/deletion.
    static func mutate(_ bytes: [UInt8], using g: inout SeededGenerator) -> [UInt8] {
        var out = bytes
        switch g.nextInt(below: 5) {
        case 0: out = Array(out.prefix(g.nextInt(below: out.count + 1)))
        case 1:
            for _ in 0...g.nextInt(below: 4) where !out.isEmpty {
                out[g.nextInt(below: out.count)] ^= UInt8(1) << UInt8(g.nextInt(below: 8))
            }
        case 2 where !out.isEmpty: out[g.nextInt(below: out.count)] = UInt8(truncatingIfNeeded: g.next())
        case 3: out.insert(UInt8(truncatingIfNeeded: g.next()), at: g.nextInt(below: out.count + 1))
        default: if !out.isEmpty { out.remove(at: g.nextInt(below: out.count)) }
        }
        return out
    }

    /// Decodes like `IDXFile.read` does after reading the file; returns whether it loaded.
    static func load(_ bytes: [UInt8], _ source: String) -> Bool {
        do {
            let idx = try IDXFile.decode(FileBytes.decompressIfGzip(bytes, source: source, outputLimit: 1 << 20), source: source)
            #expect(idx.payload.count == idx.elementCount * idx.dataType.width)
            return true
        } catch {
            #expect(error.file == source && error.description.hasPrefix(source + ": "))
            return false
        }
    }

    @Test func corruptedIDXAndGzipNeverCrash() throws {
        var g = SeededGenerator(seed: TestSupport.seed("corruptedIDXAndGzipNeverCrash", fallback: 1_234))
        let plain = try Gzip.decompress(Fixtures.idxGzip, source: "fixture")
        var bases: [(String, [UInt8])] = [
            ("dynamic.idx.gz", Fixtures.idxGzip), ("stored.idx.gz", Gzip.stored(plain)), ("plain.idx", plain),
            ("fixed.gz", Fixtures.shortGzip),
        ]
        if TestSupport.gzipPath != nil { bases.append(("gzip1.idx.gz", try TestSupport.runGzip(["-1"], input: plain))) }
        var outcomes = [String: (loaded: Int, rejected: Int)]()
        for (name, base) in bases {
            for round in 0..<150 {
                var bytes = base
                for _ in 0...(round % 3) { bytes = FuzzTests.mutate(bytes, using: &g) }
                let loaded = FuzzTests.load(bytes, name)
                outcomes[name, default: (0, 0)].loaded += loaded ? 1 : 0
                outcomes[name, default: (0, 0)].rejected += loaded ? 0 : 1
            }
        }
        print("fuzz outcomes (loaded, rejected):", outcomes.sorted { $0.key < $1.key })
        // Corruption must mostly be caught: CRC-32 guards the gzip files, sizes guard plain IDX.
        #expect(outcomes.values.allSatisfy { $0.rejected > 75 })
    }

    @Test func exhaustiveTruncationsOfTheCompressedFixture() {
        for length in 0..<Fixtures.idxGzip.count {
            #expect(!FuzzTests.load(Array(Fixtures.idxGzip.prefix(length)), "cut.idx.gz"))
        }
        #expect(FuzzTests.load(Fixtures.idxGzip, "whole.idx.gz"))
    }

    @Test func corruptedDatasetFilePairsNeverCrash() throws {
        var g = SeededGenerator(seed: TestSupport.seed("corruptedDatasetFilePairsNeverCrash", fallback: 4_321))
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let images = try Gzip.decompress(Fixtures.idxGzip, source: "fixture")
        let labels = try IDXFile(ubyte: [0, 1, 2, 3, 4, 5, 6, 7], dimensions: [8]).encoded()
        let imagePath = (directory as NSString).appendingPathComponent("images")
        let labelPath = (directory as NSString).appendingPathComponent("labels")
        for round in 0..<60 {
            let mutateImages = round % 2 == 0
            let imageBytes = mutateImages ? FuzzTests.mutate(Gzip.stored(images), using: &g) : Fixtures.idxGzip
            let labelBytes = mutateImages ? labels : FuzzTests.mutate(labels, using: &g)
            try Data(imageBytes).write(to: URL(fileURLWithPath: imagePath))
            try Data(labelBytes).write(to: URL(fileURLWithPath: labelPath))
            do {
                let dataset = try Dataset.loadIDX(images: imagePath, labels: labelPath, classCount: 8)
                #expect(dataset.count == 8)
            } catch {
                #expect(error.file == imagePath || error.file == labelPath, "\(error)")
            }
        }
    }

    @Test func editedCSVNeverCrashes() {
        var g = SeededGenerator(seed: TestSupport.seed("editedCSVNeverCrashes", fallback: 99))
        let base = Array("label,p1,p2,p3\n0,0,128,255\n1,\"12\",0,7\n2,255,255,255\r\n\n1,0,0,0\n".utf8)
        let alphabet = Array(",\n\r\"-+.e0123456789x ;\u{00}".utf8)
        var loaded = 0
        for round in 0..<300 {
            var bytes = base
            for _ in 0...(round % 4) {
                if g.nextInt(below: 3) == 0 {
                    bytes = FuzzTests.mutate(bytes, using: &g)
                } else if !bytes.isEmpty {
                    bytes[g.nextInt(below: bytes.count)] = alphabet[g.nextInt(below: alphabet.count)]
                }
            }
            let options = CSVOptions(hasHeader: round % 5 != 0, labelColumn: round % 2 == 0 ? .index(0) : .name("label"))
            do {
                let csv = try CSVFile.parse(bytes, source: "edit.csv", options: options)
                #expect(csv.features.count == csv.labels.count * csv.featureCount)
                #expect(csv.features.allSatisfy { $0.isFinite })
                loaded += 1
            } catch {
                #expect(error.file == "edit.csv")
            }
        }
        print("CSV fuzz: \(loaded) of 300 edited files still parsed")
    }
}
