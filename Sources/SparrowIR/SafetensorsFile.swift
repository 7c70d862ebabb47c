import Foundation

/// The tensors and string metadata of one safetensors file.
///
/// Layout on disk (https://huggingface.co/docs/safetensors): an 8-byte
/// little-endian header length `N`, `N` bytes of UTF-8 JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the data buffer. Offsets are in bytes relative to the buffer start; the
/// tensors are contiguous, do not overlap, and cover the buffer exactly.
///
/// Reading accepts F32 exactly and widens F16, BF16 and F64 to `Float` (F64 is
/// rounded to nearest; values beyond `Float`'s range become ±infinity, which the
/// model loader then reports as non-finite). Writing always produces F32. Tensor
/// values are kept in Sparrow's layouts (activations HWC, conv weights
/// `[Cout, Kh, Kw, Cin/groups]`, depthwise `[Kh, Kw, C]`, linear `[out, in]`);
/// this type does not permute anything.
public struct SafetensorsFile: Hashable, Sendable {
    /// Tensors by name.
    public var tensors: [String: Tensor]
    /// `__metadata__`: free-form string pairs. Sparrow writes `format: sparrow`.
    public var metadata: [String: String]

    /// Headers larger than this (in bytes) are rejected as corrupt before anything is allocated.
    public static let maxHeaderLength = 100_000_000

    /// The metadata value Sparrow writes under `format`, marking Sparrow's layouts.
    public static let sparrowFormat = "sparrow"

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and fully validates the file at `url`.
    public init(contentsOf url: URL) throws(ModelFileError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(file: url.path, detail: ModelFile.reason(error))
        }
        try self.init(decoding: data, file: url.path)
    }

    /// Decodes a whole file's bytes; `file` is only used to name the file in errors.
    public init(decoding data: Data, file: String) throws(ModelFileError) {
        self = try SafetensorsDecoder(data: data, file: file).decode()
    }

    /// The file's bytes: tensors sorted by name (byte order of the UTF-8), all F32
    /// little-endian, the header padded with spaces so the data starts at a multiple
    /// of 8 bytes, and `__metadata__` holding `metadata` with `format` set to `sparrow`
    /// (a caller's `format` is replaced, because the writer always writes Sparrow layouts).
    /// Throws `.unrepresentable` when a tensor's element count does not match its shape.
    public func encoded(file: String = "<safetensors>") throws(ModelFileError) -> Data {
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var header: [String: JSONValue] = [:]
        var meta = metadata.mapValues { JSONValue.string($0) }
        meta["format"] = .string(SafetensorsFile.sparrowFormat)
        header["__metadata__"] = .object(meta)
        var offset = 0
        for name in names {
            guard let t = tensors[name] else { continue }
            guard let count = SafetensorsFile.elementCount(t.shape.dims), count == t.scalars.count else {
                throw .unrepresentable(file: file, node: name,
                                       detail: "shape \(t.shape) does not match its \(t.scalars.count) values")
            }
            header[name] = .object([
                "dtype": .string("F32"),
                "shape": .array(t.shape.dims.map { .int($0) }),
                "data_offsets": .array([.int(offset), .int(offset + count * 4)]),
            ])
            offset += count * 4
        }
        var headerBytes = Array(JSONValue.object(header).serialized(pretty: false).utf8)
        // Pad so the data buffer starts 8-byte aligned (8-byte length prefix + header).
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for name in names {
            guard let t = tensors[name] else { continue }
            var chunk = [UInt8]()
            chunk.reserveCapacity(t.scalars.count * 4)
            for x in t.scalars {
                let bits = x.bitPattern
                chunk.append(UInt8(truncatingIfNeeded: bits))
                chunk.append(UInt8(truncatingIfNeeded: bits >> 8))
                chunk.append(UInt8(truncatingIfNeeded: bits >> 16))
                chunk.append(UInt8(truncatingIfNeeded: bits >> 24))
            }
            out.append(contentsOf: chunk)
        }
        return out
    }

    /// Encodes and writes atomically (`AtomicFile`): on error the file at `url` is unchanged.
    public func write(to url: URL) throws(ModelFileError) {
        let data = try encoded(file: url.path)
        do { try AtomicFile.write(data, to: url) } catch {
            throw .unwritable(file: url.path, detail: error.detail)
        }
    }

    /// Product of `dims`, or nil when a dimension is negative or the product overflows.
    static func elementCount(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return n
    }
}
