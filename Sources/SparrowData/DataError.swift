/// Everything that can go wrong while reading, decoding or checking data.
///
/// Every error names its `file` (a path, or a label such as `"<memory>"` for
/// in-memory input) and says what is wrong in terms a user can act on
/// (DESIGN.md invariant 5). Readers never trap on file contents: hostile
/// headers, truncated streams and overflowing dimensions all end up here.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or in-memory source label) the problem was found in.
    public var file: String
    /// What is wrong.
    public var problem: Problem

    public init(file: String, _ problem: Problem) {
        self.file = file
        self.problem = problem
    }

    /// The closed set of problems. Byte offsets are 0-based; CSV rows and
    /// columns are 1-based, as a text editor shows them.
    public enum Problem: Equatable, Sendable {
        /// The file could not be opened or read; `reason` comes from the OS.
        case cannotRead(reason: String)
        /// The file could not be written; `reason` comes from the OS.
        case cannotWrite(reason: String)
        /// The file (or decompressed stream) has no bytes at all.
        case empty
        /// A fixed-size header of `format` needs `needed` bytes but only `available` exist.
        case truncatedHeader(format: String, needed: Int, available: Int)
        /// The magic number is not the one `format` requires.
        case badMagic(format: String, found: String)
        /// An IDX type byte that the IDX format does not define.
        case unsupportedIDXType(code: UInt8)
        /// Dimensions that cannot describe data (zero dimensions, or a product that overflows).
        case invalidDimensions(String)
        /// The header promises `declaredBytes` of data but only `availableBytes` follow it.
        case dataPastEnd(declaredBytes: Int, availableBytes: Int)
        /// Bytes left over after the data the header describes.
        case trailingBytes(count: Int)
        /// The compressed stream is malformed at `offset` of the file.
        case corruptDeflate(offset: Int, reason: String)
        /// The compressed stream ends before its final block / trailer.
        case truncatedStream(format: String)
        /// A gzip option this reader refuses (e.g. a compression method other than deflate).
        case unsupportedGzip(String)
        /// The gzip member's CRC-32 does not match the decompressed bytes.
        case crcMismatch(stored: UInt32, computed: UInt32)
        /// The gzip header CRC-16 (FHCRC) does not match the header bytes.
        case headerCRCMismatch(stored: UInt16, computed: UInt16)
        /// The gzip member's ISIZE does not match the decompressed length (mod 2^32).
        case sizeMismatch(stored: UInt32, computed: UInt32)
        /// Decompressing would exceed `limit` bytes (guards against decompression bombs).
        case outputTooLarge(limit: Int)
        /// The data has a shape the caller cannot use; `detail` says which and why.
        case unexpectedShape(String)
        /// The image file and the label file hold different numbers of samples.
        case countMismatch(images: Int, labels: Int, labelFile: String)
        /// A label outside `0..<classCount` (for sample `index`, 0-based).
        case labelOutOfRange(index: Int, label: Int, classCount: Int)
        /// A CSV row with a different number of fields than the first row.
        case raggedRow(row: Int, expected: Int, found: Int)
        /// A CSV cell that cannot be used; `reason` says why (not a number, label
        /// not a whole number, value not finite after scaling).
        case badCell(row: Int, column: Int, columnName: String?, text: String, reason: String)
        /// The CSV has a header but no data rows.
        case noRows
        /// The label column named or indexed by the caller does not exist.
        case unknownColumn(String)
        /// An argument that makes no sense for this data (e.g. a class count of 0).
        case invalidArgument(String)
    }

    public var description: String { "\(file): \(problem.explanation)" }
}

extension DataError.Problem {
    /// One sentence, no file name (the owning `DataError` prefixes it).
    public var explanation: String {
        switch self {
        case .cannotRead(let reason): return "cannot read file (\(reason))"
        case .cannotWrite(let reason): return "cannot write file (\(reason))"
        case .empty: return "file is empty"
        case .truncatedHeader(let format, let needed, let available):
            return "truncated \(format) header: needs \(needed) bytes, file has \(available)"
        case .badMagic(let format, let found):
            return "bad magic number for \(format): found \(found)"
        case .unsupportedIDXType(let code):
            return "unsupported IDX data type byte 0x\(String(code, radix: 16)) "
                + "(expected 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float or 0x0e double)"
        case .invalidDimensions(let detail): return "invalid dimensions: \(detail)"
        case .dataPastEnd(let declared, let available):
            return "header dimensions need \(declared) bytes of data past the header, "
                + "but only \(available) follow (file truncated or header corrupt)"
        case .trailingBytes(let count):
            return "\(count) unexpected bytes after the data the header describes"
        case .corruptDeflate(let offset, let reason):
            return "corrupt compressed data at byte \(offset): \(reason)"
        case .truncatedStream(let format): return "\(format) stream ends early (file truncated)"
        case .unsupportedGzip(let detail): return "unsupported gzip file: \(detail)"
        case .crcMismatch(let stored, let computed):
            return "CRC-32 mismatch: trailer says \(hex32(stored)), data gives \(hex32(computed)) (file corrupt)"
        case .headerCRCMismatch(let stored, let computed):
            return "gzip header CRC mismatch: stored 0x\(String(stored, radix: 16)), "
                + "computed 0x\(String(computed, radix: 16))"
        case .sizeMismatch(let stored, let computed):
            return "gzip ISIZE mismatch: trailer says \(stored) bytes, decompressed \(computed) (mod 2^32)"
        case .outputTooLarge(let limit):
            return "decompressed data exceeds the limit of \(limit) bytes"
        case .unexpectedShape(let detail): return "unexpected shape: \(detail)"
        case .countMismatch(let images, let labels, let labelFile):
            return "\(images) images but \(labels) labels in \(labelFile); the counts must agree"
        case .labelOutOfRange(let index, let label, let classCount):
            return "label \(label) of sample \(index) is outside 0..<\(classCount)"
        case .raggedRow(let row, let expected, let found):
            return "row \(row) has \(found) fields, expected \(expected) like the first row"
        case .badCell(let row, let column, let name, let text, let reason):
            let place = name.map { "column \(column) (\"\($0)\")" } ?? "column \(column)"
            return "row \(row), \(place): \"\(text.prefix(40))\" \(reason)"
        case .noRows: return "no data rows"
        case .unknownColumn(let column): return "no column \(column)"
        case .invalidArgument(let detail): return "invalid argument: \(detail)"
        }
    }
}

private func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

/// Bytes as lowercase two-digit hex separated by spaces, e.g. "1f 8b".
func hexBytes(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
