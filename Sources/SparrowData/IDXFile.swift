/// An IDX file, the container of MNIST and Fashion-MNIST.
///
/// Layout: two zero bytes, a type byte, a dimension count byte, one
/// big-endian UInt32 per dimension, then the elements in row-major order,
/// big-endian for multi-byte types. Images are `[N, H, W]` ubyte, labels `[N]` ubyte.
///
/// Invariant (checked by every initializer): `payload.count` is exactly the
/// product of `dimensions` times the element width, and that product fits in `Int`.
public struct IDXFile: Equatable, Sendable {
    /// The element types IDX defines, by their type byte.
    public enum DataType: UInt8, Sendable, CaseIterable {
        case ubyte = 0x08
        case byte = 0x09
        case short = 0x0B
        case int = 0x0C
        case float = 0x0D
        case double = 0x0E

        /// Bytes per element.
        public var width: Int {
            switch self {
            case .ubyte, .byte: return 1
            case .short: return 2
            case .int, .float: return 4
            case .double: return 8
            }
        }
    }

    /// How `write` stores the file.
    public enum Compression: Sendable {
        /// Plain IDX bytes.
        case none
        /// A gzip file with stored (uncompressed) deflate blocks; readable by any gunzip.
        case gzipStored
    }

    public let dataType: DataType
    /// Sizes of each dimension, outermost first (e.g. `[N, 28, 28]`).
    public let dimensions: [Int]
    /// The elements exactly as stored: row-major, big-endian.
    public let payload: [UInt8]

    /// Number of elements (product of `dimensions`).
    public var elementCount: Int { payload.count / dataType.width }

    /// Builds a file from parts, checking that `payload` matches `dimensions`.
    /// - Throws: `.invalidDimensions` / `.unexpectedShape` naming `source`.
    public init(dataType: DataType, dimensions: [Int], payload: [UInt8], source: String = "<memory>") throws(DataError) {
        guard (1...255).contains(dimensions.count) else {
            throw DataError(file: source, .invalidDimensions("\(dimensions.count) dimensions (IDX allows 1 to 255)"))
        }
        guard dimensions.allSatisfy({ $0 >= 0 && UInt64($0) <= UInt64(UInt32.max) }) else {
            throw DataError(file: source, .invalidDimensions("\(dimensions) (each must be in 0...\(UInt32.max))"))
        }
        let bytes = try IDXFile.byteCount(dimensions, dataType, source: source)
        guard bytes == payload.count else {
            throw DataError(file: source, .unexpectedShape(
                "dimensions \(dimensions) of \(dataType) need \(bytes) bytes, payload has \(payload.count)"))
        }
        self.dataType = dataType
        self.dimensions = dimensions
        self.payload = payload
    }

    /// A ubyte file, e.g. images `[N, H, W]` or labels `[N]`.
    public init(ubyte values: [UInt8], dimensions: [Int]) throws(DataError) {
        try self.init(dataType: .ubyte, dimensions: dimensions, payload: values)
    }

    /// The elements as UInt8 when `dataType` is `.ubyte`, else nil.
    public var ubytes: [UInt8]? { dataType == .ubyte ? payload : nil }

    /// Bytes of data the dimensions describe, or an error when the product overflows `Int`.
    static func byteCount(_ dimensions: [Int], _ type: DataType, source: String) throws(DataError) -> Int {
        var product = type.width
        for d in dimensions {
            let (next, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw DataError(file: source, .invalidDimensions("\(dimensions) describe more bytes than fit in memory"))
            }
            product = next
        }
        return product
    }

    /// Parses IDX bytes (already decompressed).
    /// - Throws: truncated header, bad magic, unknown type, dimension overflow,
    ///   data past end of file, or trailing bytes — each naming `source`.
    public static func decode(_ bytes: [UInt8], source: String) throws(DataError) -> IDXFile {
        guard !bytes.isEmpty else { throw DataError(file: source, .empty) }
        guard bytes.count >= 4 else {
            throw DataError(file: source, .truncatedHeader(format: "IDX", needed: 4, available: bytes.count))
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: source, .badMagic(
                format: "IDX (expected 00 00 <type> <dims>)", found: hexBytes(bytes[0..<4])))
        }
        guard let type = DataType(rawValue: bytes[2]) else {
            throw DataError(file: source, .unsupportedIDXType(code: bytes[2]))
        }
        let rank = Int(bytes[3])
        guard rank > 0 else { throw DataError(file: source, .invalidDimensions("0 dimensions")) }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(file: source, .truncatedHeader(format: "IDX", needed: headerSize, available: bytes.count))
        }
        var dimensions: [Int] = []
        for i in 0..<rank {
            let at = 4 + 4 * i
            dimensions.append(Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]))
        }
        let dataBytes = try byteCount(dimensions, type, source: source)
        let available = bytes.count - headerSize
        guard dataBytes <= available else {
            throw DataError(file: source, .dataPastEnd(declaredBytes: dataBytes, availableBytes: available))
        }
        guard dataBytes == available else { throw DataError(file: source, .trailingBytes(count: available - dataBytes)) }
        return try IDXFile(dataType: type, dimensions: dimensions, payload: Array(bytes[headerSize...]), source: source)
    }

    /// Reads an IDX file, plain or gzip-compressed (detected by content, not name).
    /// - Parameter outputLimit: cap on decompressed bytes (see `Inflate.defaultOutputLimit`).
    public static func read(from path: String, outputLimit: Int = Inflate.defaultOutputLimit) throws(DataError) -> IDXFile {
        try decode(try FileBytes.readDecompressed(path, outputLimit: outputLimit), source: path)
    }

    /// The file's bytes: header then payload.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [0, 0, dataType.rawValue, UInt8(dimensions.count)]
        out.reserveCapacity(4 + 4 * dimensions.count + payload.count)
        for d in dimensions {
            // Dimensions were checked to fit in UInt32 at construction.
            let v = UInt32(truncatingIfNeeded: d)
            out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        out += payload
        return out
    }

    /// Writes the file atomically (temporary name, then rename).
    public func write(to path: String, compression: Compression = .none) throws(DataError) {
        let bytes = encoded()
        switch compression {
        case .none: try FileBytes.writeAtomically(bytes, to: path)
        case .gzipStored: try FileBytes.writeAtomically(Gzip.stored(bytes), to: path)
        }
    }
}
