/// The gzip container (RFC 1952): header with optional fields, a deflate
/// stream, and a trailer with CRC-32 and ISIZE, possibly several members in a row.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic 1f 8b. Callers detect gzip
    /// by content, not by file name, so a renamed file still loads.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    // Header flag bits (RFC 1952 §2.3.1).
    private static let flagHeaderCRC: UInt8 = 0x02
    private static let flagExtra: UInt8 = 0x04
    private static let flagName: UInt8 = 0x08
    private static let flagComment: UInt8 = 0x10
    private static let flagReserved: UInt8 = 0xE0

    /// Decompresses every member of a gzip file and verifies each CRC-32 and ISIZE.
    ///
    /// Members are concatenated, as `gunzip` does; zero bytes after the last
    /// member are tolerated (tape padding), anything else is an error.
    /// - Parameters:
    ///   - source: file name used in errors.
    ///   - outputLimit: total decompressed bytes allowed (see `Inflate.defaultOutputLimit`).
    public static func decompress(
        _ bytes: [UInt8], source: String, outputLimit: Int = Inflate.defaultOutputLimit
    ) throws(DataError) -> [UInt8] {
        guard !bytes.isEmpty else { throw DataError(file: source, .empty) }
        var result: [UInt8] = []
        var pos = 0
        var first = true
        while true {
            let start = try headerEnd(bytes, member: pos, source: source)
            // ISIZE of a single-member file is the output size: a free capacity hint.
            let hint = first ? readLE32(bytes, bytes.count - 4).map(Int.init) ?? 0 : 0
            let (data, end) = try Inflate.decompress(
                bytes, from: start, source: source, sizeHint: hint, outputLimit: outputLimit - result.count)
            guard let storedCRC = readLE32(bytes, end), let storedSize = readLE32(bytes, end + 4) else {
                throw DataError(file: source, .truncatedStream(format: "gzip (trailer missing)"))
            }
            let crc = CRC32.checksum(data)
            guard crc == storedCRC else { throw DataError(file: source, .crcMismatch(stored: storedCRC, computed: crc)) }
            let size = UInt32(truncatingIfNeeded: data.count)
            guard size == storedSize else {
                throw DataError(file: source, .sizeMismatch(stored: storedSize, computed: size))
            }
            if first { result = data } else { result.append(contentsOf: data) }
            first = false
            pos = end + 8
            if pos >= bytes.count || bytes[pos...].allSatisfy({ $0 == 0 }) { return result }
        }
    }

    /// Validates the header of the member at `member`; returns where its deflate data starts.
    private static func headerEnd(_ bytes: [UInt8], member: Int, source: String) throws(DataError) -> Int {
        let format = member == 0 ? "gzip" : "gzip member at byte \(member)"
        let available = bytes.count - member
        guard available >= 10 else {
            throw DataError(file: source, .truncatedHeader(format: format, needed: 10, available: available))
        }
        guard bytes[member] == 0x1F, bytes[member + 1] == 0x8B else {
            let found = hexBytes(bytes[member..<(member + 2)])
            throw DataError(file: source, .badMagic(format: format + " (expected 1f 8b)", found: found))
        }
        guard bytes[member + 2] == 8 else {
            throw DataError(file: source, .unsupportedGzip("compression method \(bytes[member + 2]); only 8 (deflate) is defined"))
        }
        let flags = bytes[member + 3]
        guard flags & flagReserved == 0 else {
            throw DataError(file: source, .unsupportedGzip("reserved header flag bits set (0x\(String(flags, radix: 16)))"))
        }
        var pos = member + 10
        func need(_ n: Int, _ what: String) throws(DataError) {
            guard bytes.count - pos >= n else {
                throw DataError(file: source, .truncatedHeader(
                    format: "\(format) (\(what))", needed: pos - member + n, available: available))
            }
        }
        if flags & flagExtra != 0 {
            try need(2, "extra field length")
            let extraLength = Int(bytes[pos]) | Int(bytes[pos + 1]) << 8
            pos += 2
            try need(extraLength, "extra field")
            pos += extraLength
        }
        for (flag, what) in [(flagName, "file name"), (flagComment, "comment")] where flags & flag != 0 {
            // Zero-terminated Latin-1 text; only its end matters here.
            guard let zero = bytes[pos...].firstIndex(of: 0) else {
                throw DataError(file: source, .truncatedHeader(
                    format: "\(format) (unterminated \(what))", needed: available + 1, available: available))
            }
            pos = zero + 1
        }
        if flags & flagHeaderCRC != 0 {
            try need(2, "header CRC")
            let stored = UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8
            let computed = UInt16(truncatingIfNeeded: CRC32.checksum(bytes[member..<pos]))
            guard stored == computed else {
                throw DataError(file: source, .headerCRCMismatch(stored: stored, computed: computed))
            }
            pos += 2
        }
        return pos
    }

    private static func readLE32(_ bytes: [UInt8], _ at: Int) -> UInt32? {
        guard at >= 0, bytes.count - at >= 4 else { return nil }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    /// A single-member gzip file holding `bytes` in stored (uncompressed)
    /// deflate blocks. Deterministic: MTIME 0, no name, OS 255 ("unknown").
    /// Useful for tests and for writing files any gzip reader accepts without
    /// carrying a compressor.
    public static func stored(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        out.reserveCapacity(bytes.count + bytes.count / 65_535 * 5 + 23)
        var start = 0
        repeat {
            let length = min(65_535, bytes.count - start)
            let final: UInt8 = start + length == bytes.count ? 1 : 0
            out.append(final)  // BFINAL bit, BTYPE 00; the rest of the byte is padding
            out.append(contentsOf: le16(length) + le16(length ^ 0xFFFF))
            out.append(contentsOf: bytes[start..<(start + length)])
            start += length
        } while start < bytes.count
        out.append(contentsOf: le32(CRC32.checksum(bytes)) + le32(UInt32(truncatingIfNeeded: bytes.count)))
        return out
    }

    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
