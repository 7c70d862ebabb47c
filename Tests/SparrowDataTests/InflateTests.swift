import Foundation
import SparrowIR
import Testing

@testable import SparrowData

/// Writes a raw deflate bit stream by hand: values LSB first, Huffman codes MSB first.
struct BitWriter {
    var bytes: [UInt8] = []
    var bitCount = 0

    mutating func put(_ value: Int, bits: Int) {
        for i in 0..<bits {
            if bitCount % 8 == 0 { bytes.append(0) }
            bytes[bytes.count - 1] |= UInt8((value >> i) & 1) << UInt8(bitCount % 8)
            bitCount += 1
        }
    }

    mutating func code(_ code: Int, bits: Int) {
        for i in stride(from: bits - 1, through: 0, by: -1) { put((code >> i) & 1, bits: 1) }
    }

    /// A literal/length symbol of the fixed code (RFC 1951 §3.2.6).
    mutating func fixedSymbol(_ s: Int) {
        switch s {
        case 0...143: code(0x30 + s, bits: 8)
        case 144...255: code(0x190 + s - 144, bits: 9)
        case 256...279: code(s - 256, bits: 7)
        default: code(0xC0 + s - 280, bits: 8)
        }
    }
}

@Suite("CRC-32 and inflate")
struct InflateTests {
    @Test func crc32KnownValues() {
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func crc32IncrementalMatchesOneShot() {
        var generator = SeededGenerator(seed: TestSupport.seed("crc32IncrementalMatchesOneShot", fallback: 17))
        let data = TestSupport.randomBytes(10_000, using: &generator)
        for _ in 0..<20 {
            let cut = generator.nextInt(below: data.count + 1)
            var crc = CRC32()
            crc.update(data[..<cut])
            crc.update(data[cut...].reversed().reversed())  // a non-contiguous collection
            #expect(crc.value == CRC32.checksum(data))
        }
    }

    @Test func committedGzipFixturesInflate() throws {
        #expect(try Gzip.decompress(Fixtures.helloGzip, source: "hello.gz") == Fixtures.helloText)
        #expect(try Gzip.decompress(Fixtures.shortGzip, source: "short.gz") == Fixtures.shortText)
        let idx = try Gzip.decompress(Fixtures.idxGzip, source: "fixture.idx.gz")
        #expect(CRC32.checksum(idx) == Fixtures.idxCRC)
        #expect(try IDXFile.decode(idx, source: "fixture").dimensions == [8, 8, 8])
    }

    @Test(arguments: ["-1", "-6", "-9"])
    func systemGzipOutputsInflate(level: String) throws {
        guard TestSupport.gzipPath != nil else {
            print("no /bin/gzip on this machine; the committed fixtures cover inflate instead")
            return
        }
        var generator = SeededGenerator(seed: TestSupport.seed("systemGzipOutputsInflate\(level)", fallback: 2024))
        let random = TestSupport.randomBytes(60_000, using: &generator)
        // Repetitive data: runs, short-period patterns and repeated text, to exercise
        // long matches, overlapping copies and far distances.
        var repetitive: [UInt8] = []
        while repetitive.count < 300_000 {
            switch generator.nextInt(below: 4) {
            case 0: repetitive += [UInt8](repeating: UInt8(generator.nextInt(below: 256)), count: generator.nextInt(below: 600))
            case 1: repetitive += Array("sparrow trains CNNs on MCUs; ".utf8)
            case 2:
                let period = TestSupport.randomBytes(1 + generator.nextInt(below: 7), using: &generator)
                for _ in 0..<generator.nextInt(below: 50) { repetitive += period }
            default:
                if repetitive.count > 40_000 {
                    let start = generator.nextInt(below: repetitive.count - 33_000)
                    repetitive += repetitive[start..<(start + 200 + generator.nextInt(below: 2_000))]
                }
            }
        }
        // Skewed literals (each 16 values half as likely as the previous 16): Huffman
        // codes from 5 up to 15 bits, so the decoder's long-code path runs too.
        let skewed = (0..<80_000).map { _ in
            UInt8(min(15, (generator.next() | 1 << 63).trailingZeroBitCount) * 16 + generator.nextInt(below: 16))
        }
        for data in [random, repetitive, skewed, [], [42]] {
            let compressed = try TestSupport.runGzip([level], input: data)
            #expect(try Gzip.decompress(compressed, source: "gzip\(level)") == data)
        }
    }

    @Test func storedWriterRoundTripsAndSystemGzipAgrees() throws {
        var generator = SeededGenerator(seed: TestSupport.seed("storedWriterRoundTrips", fallback: 5))
        for count in [0, 1, 65_535, 65_536, 140_000] {
            let data = TestSupport.randomBytes(count, using: &generator)
            let stored = Gzip.stored(data)
            #expect(try Gzip.decompress(stored, source: "stored") == data)
            if TestSupport.gzipPath != nil {
                #expect(try TestSupport.runGzip(["-d"], input: stored) == data)
            }
        }
    }

    @Test func concatenatedMembersAndPadding() throws {
        let a = Array("first member\n".utf8), b = Array("second\n".utf8)
        let both = Gzip.stored(a) + Fixtures.shortGzip + Gzip.stored(b)
        #expect(try Gzip.decompress(both, source: "multi") == a + Fixtures.shortText + b)
        #expect(try Gzip.decompress(Gzip.stored(a) + [0, 0, 0, 0], source: "padded") == a)
        expectDataError(file: "garbage", { () throws(DataError) in try Gzip.decompress(Gzip.stored(a) + [7, 7, 7, 7, 7, 7, 7, 7, 7, 7], source: "garbage") }) {
            if case .badMagic = $0 { return true } else { return false }
        }
    }

    /// A stored-body member whose header carries the optional fields of RFC 1952.
    func memberWithOptionalFields(_ body: [UInt8], headerCRC: Bool, corruptHeaderCRC: Bool = false) -> [UInt8] {
        let plain = Gzip.stored(body)
        var header: [UInt8] = [0x1F, 0x8B, 8, 0x04 | 0x08 | 0x10 | (headerCRC ? 0x02 : 0), 1, 2, 3, 4, 0, 3]
        header += [5, 0] + Array("extra".utf8)
        header += Array("name.idx".utf8) + [0] + Array("a comment".utf8) + [0]
        if headerCRC {
            let crc = UInt16(truncatingIfNeeded: CRC32.checksum(header)) ^ (corruptHeaderCRC ? 1 : 0)
            header += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        }
        return header + plain[10...]
    }

    @Test func optionalHeaderFields() throws {
        let body = Array("payload".utf8)
        #expect(try Gzip.decompress(memberWithOptionalFields(body, headerCRC: false), source: "f") == body)
        #expect(try Gzip.decompress(memberWithOptionalFields(body, headerCRC: true), source: "f") == body)
        expectDataError(file: "f", { () throws(DataError) in
            try Gzip.decompress(memberWithOptionalFields(body, headerCRC: true, corruptHeaderCRC: true), source: "f")
        }) { if case .headerCRCMismatch = $0 { return true } else { return false } }
        var reserved = Gzip.stored(body)
        reserved[3] = 0x20
        expectDataError(file: "r", { () throws(DataError) in try Gzip.decompress(reserved, source: "r") }) {
            if case .unsupportedGzip = $0 { return true } else { return false }
        }
        var method = Gzip.stored(body)
        method[2] = 7
        expectDataError(file: "m", { () throws(DataError) in try Gzip.decompress(method, source: "m") }) {
            if case .unsupportedGzip = $0 { return true } else { return false }
        }
    }

    @Test func trailerChecks() {
        let good = Fixtures.helloGzip
        var crc = good
        crc[crc.count - 8] ^= 0x01
        expectDataError(file: "crc.gz", { () throws(DataError) in try Gzip.decompress(crc, source: "crc.gz") }) {
            if case .crcMismatch = $0 { return true } else { return false }
        }
        var size = good
        size[size.count - 1] ^= 0x01
        expectDataError(file: "size.gz", { () throws(DataError) in try Gzip.decompress(size, source: "size.gz") }) {
            if case .sizeMismatch = $0 { return true } else { return false }
        }
        expectDataError(file: "short.gz", { () throws(DataError) in try Gzip.decompress(Array(good.dropLast(3)), source: "short.gz") }) {
            if case .truncatedStream = $0 { return true } else { return false }
        }
        expectDataError(file: "cut.gz", { () throws(DataError) in try Gzip.decompress(Array(good.prefix(40)), source: "cut.gz") }) {
            if case .truncatedStream = $0 { return true } else { return false }
        }
        expectDataError(file: "hdr.gz", { () throws(DataError) in try Gzip.decompress(Array(good.prefix(6)), source: "hdr.gz") }) {
            if case .truncatedHeader = $0 { return true } else { return false }
        }
    }

    @Test func handcraftedFixedBlocks() throws {
        // "a" then a length-10 match at distance 1: an overlapping copy.
        var w = BitWriter()
        w.put(1, bits: 1); w.put(1, bits: 2)
        w.fixedSymbol(Int(UInt8(ascii: "a")))
        w.fixedSymbol(264)  // length 10
        w.code(0, bits: 5)  // distance 1
        w.fixedSymbol(256)
        #expect(try Inflate.decompress(w.bytes).bytes == [UInt8](repeating: UInt8(ascii: "a"), count: 11))

        // A match before any output reaches outside the window.
        var far = BitWriter()
        far.put(1, bits: 1); far.put(1, bits: 2)
        far.fixedSymbol(257)
        far.code(0, bits: 5)
        expectDataError(file: "far", { () throws(DataError) in try Inflate.decompress(far.bytes, source: "far") }) {
            if case .corruptDeflate(_, let reason) = $0 { return reason.contains("distance") } else { return false }
        }

        // Block type 3 is reserved.
        var reserved = BitWriter()
        reserved.put(1, bits: 1); reserved.put(3, bits: 2)
        expectDataError(file: "bt3", { () throws(DataError) in try Inflate.decompress(reserved.bytes, source: "bt3") }) {
            if case .corruptDeflate = $0 { return true } else { return false }
        }

        // Stored block whose NLEN is not the complement of LEN.
        expectDataError(file: "nlen", { () throws(DataError) in try Inflate.decompress([1, 3, 0, 0, 0, 1, 2, 3], source: "nlen") }) {
            if case .corruptDeflate = $0 { return true } else { return false }
        }
    }

    @Test func outputLimitStopsDecompressionBombs() throws {
        let zeros = [UInt8](repeating: 0, count: 200_000)
        let compressed = TestSupport.gzipPath != nil ? try TestSupport.runGzip(["-9"], input: zeros) : Gzip.stored(zeros)
        expectDataError(file: "bomb", { () throws(DataError) in try Gzip.decompress(compressed, source: "bomb", outputLimit: 100_000) }) {
            if case .outputTooLarge = $0 { return true } else { return false }
        }
        #expect(try Gzip.decompress(compressed, source: "ok", outputLimit: 200_000) == zeros)
    }

    @Test func hostileSizeHintIsCapped() throws {
        // ISIZE claims 4 GiB: only a capacity hint, so this must neither allocate it nor fail oddly.
        var lying = Fixtures.shortGzip
        for k in 1...4 { lying[lying.count - k] = 0xFF }
        expectDataError(file: "lie", { () throws(DataError) in try Gzip.decompress(lying, source: "lie") }) {
            if case .sizeMismatch = $0 { return true } else { return false }
        }
    }
}
