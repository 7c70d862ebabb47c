import Foundation
import SparrowIR
import Testing

@testable import SparrowData

@Suite("IDX files")
struct IDXFileTests {
    @Test func roundTripPlainAndGzip() throws {
        var generator = SeededGenerator(seed: TestSupport.seed("IDX roundTrip", fallback: 99))
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let images = try IDXFile(ubyte: TestSupport.randomBytes(5 * 7 * 3, using: &generator), dimensions: [5, 7, 3])
        #expect(try IDXFile.decode(images.encoded(), source: "mem") == images)
        for (name, compression) in [("plain.idx", IDXFile.Compression.none), ("packed.idx.gz", .gzipStored)] {
            let path = (directory as NSString).appendingPathComponent(name)
            try images.write(to: path, compression: compression)
            #expect(try IDXFile.read(from: path) == images)
        }
        // Detection is by content: a gzip file without .gz and a plain file named .gz both load.
        let misnamedGzip = (directory as NSString).appendingPathComponent("really-gzip.idx")
        let misnamedPlain = (directory as NSString).appendingPathComponent("really-plain.gz")
        try images.write(to: misnamedGzip, compression: .gzipStored)
        try images.write(to: misnamedPlain, compression: .none)
        #expect(try IDXFile.read(from: misnamedGzip) == images)
        #expect(try IDXFile.read(from: misnamedPlain) == images)
        if TestSupport.gzipPath != nil {
            let compressed = try TestSupport.runGzip(["-6"], input: images.encoded())
            #expect(try IDXFile.decode(FileBytes.decompressIfGzip(compressed, source: "g"), source: "g") == images)
        }
    }

    @Test func otherDataTypesRoundTrip() throws {
        for type in IDXFile.DataType.allCases {
            let payload = (0..<(2 * 3 * type.width)).map { UInt8(truncatingIfNeeded: $0 * 37) }
            let file = try IDXFile(dataType: type, dimensions: [2, 3], payload: payload)
            let decoded = try IDXFile.decode(file.encoded(), source: "t")
            #expect(decoded == file)
            #expect(decoded.elementCount == 6)
            #expect(decoded.ubytes == (type == .ubyte ? payload : nil))
        }
        // Big-endian dimensions on disk.
        let labels = try IDXFile(ubyte: [1, 2, 3], dimensions: [3])
        #expect(labels.encoded() == [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])
    }

    @Test func headerErrorsNameTheFile() {
        func decode(_ bytes: [UInt8]) -> () throws(DataError) -> IDXFile {
            { () throws(DataError) in try IDXFile.decode(bytes, source: "bad.idx") }
        }
        expectDataError(file: "bad.idx", decode([])) { $0 == .empty }
        expectDataError(file: "bad.idx", decode([0, 0, 8])) {
            if case .truncatedHeader(_, 4, 3) = $0 { return true } else { return false }
        }
        expectDataError(file: "bad.idx", decode([0x1F, 0, 8, 1, 0, 0, 0, 0])) {
            if case .badMagic = $0 { return true } else { return false }
        }
        expectDataError(file: "bad.idx", decode([0, 0, 7, 1, 0, 0, 0, 0])) { $0 == .unsupportedIDXType(code: 7) }
        expectDataError(file: "bad.idx", decode([0, 0, 8, 0])) {
            if case .invalidDimensions = $0 { return true } else { return false }
        }
        expectDataError(file: "bad.idx", decode([0, 0, 8, 3, 0, 0, 0, 1, 0, 0])) {
            if case .truncatedHeader(_, 16, 10) = $0 { return true } else { return false }
        }
        expectDataError(file: "bad.idx", decode([0, 0, 8, 1, 0, 0, 0, 4, 1, 2])) {
            $0 == .dataPastEnd(declaredBytes: 4, availableBytes: 2)
        }
        expectDataError(file: "bad.idx", decode([0, 0, 8, 1, 0, 0, 0, 1, 1, 2])) { $0 == .trailingBytes(count: 1) }
    }

    @Test func hostileDimensionsNeverTrap() {
        // 2^32-1 cubed overflows Int: must be an error, not a trap.
        let overflow: [UInt8] = [0, 0, 0x0E, 3] + [UInt8](repeating: 0xFF, count: 12)
        expectDataError(file: "huge.idx", { () throws(DataError) in try IDXFile.decode(overflow, source: "huge.idx") }) {
            if case .invalidDimensions = $0 { return true } else { return false }
        }
        // 2^48 bytes does not overflow but is far past the end of the file.
        let big: [UInt8] = [0, 0, 8, 3] + [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0] + [1, 2, 3]
        expectDataError(file: "big.idx", { () throws(DataError) in try IDXFile.decode(big, source: "big.idx") }) {
            $0 == .dataPastEnd(declaredBytes: 1 << 48, availableBytes: 3)
        }
        // 255 dimensions of 2^32-1 each.
        let many: [UInt8] = [0, 0, 8, 255] + [UInt8](repeating: 0xFF, count: 4 * 255)
        expectDataError(file: "many.idx", { () throws(DataError) in try IDXFile.decode(many, source: "many.idx") }) {
            if case .invalidDimensions = $0 { return true } else { return false }
        }
    }

    @Test func constructionChecksPayload() {
        expectDataError({ () throws(DataError) in try IDXFile(ubyte: [1, 2, 3], dimensions: [2, 2]) }) {
            if case .unexpectedShape = $0 { return true } else { return false }
        }
        expectDataError({ () throws(DataError) in try IDXFile(ubyte: [], dimensions: []) }) {
            if case .invalidDimensions = $0 { return true } else { return false }
        }
        expectDataError({ () throws(DataError) in try IDXFile(ubyte: [], dimensions: [-1]) }) {
            if case .invalidDimensions = $0 { return true } else { return false }
        }
    }

    @Test func unreadableAndEmptyFiles() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let missing = (directory as NSString).appendingPathComponent("missing.idx")
        expectDataError(file: missing, { () throws(DataError) in try IDXFile.read(from: missing) }) {
            if case .cannotRead = $0 { return true } else { return false }
        }
        let empty = (directory as NSString).appendingPathComponent("empty.idx")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        expectDataError(file: empty, { () throws(DataError) in try IDXFile.read(from: empty) }) { $0 == .empty }
        let unwritable = (directory as NSString).appendingPathComponent("no/such/dir/x.idx")
        expectDataError(file: unwritable, { () throws(DataError) in
            try IDXFile(ubyte: [1], dimensions: [1]).write(to: unwritable)
        }) { if case .cannotWrite = $0 { return true } else { return false } }
    }
}
