import Foundation

/// The validating half of `SafetensorsFile`: every length, offset and shape read
/// from the file is checked before it is used, with overflow-checked arithmetic,
/// so no input can trap, allocate more than the file's size, or yield a `Tensor`
/// whose element count disagrees with its shape.
struct SafetensorsDecoder {
    let data: Data
    let file: String

    /// Element types the reader understands, with their size in bytes.
    private static let readable: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8]

    /// One header entry, checked against itself but not yet against the others.
    private struct Entry {
        var name: String
        var dtype: String
        var dims: [Int]
        var count: Int
        var begin: Int
        var end: Int
    }

    func decode() throws(ModelFileError) -> SafetensorsFile {
        guard data.count >= 8 else {
            throw .truncated(file: file, detail: "it has \(data.count) bytes; a safetensors file starts with an 8-byte header length")
        }
        let length = readUInt64(at: 0)
        guard length <= UInt64(SafetensorsFile.maxHeaderLength), length <= UInt64(data.count - 8) else {
            throw .headerLength(file: file, length: length, fileSize: data.count)
        }
        let headerEnd = 8 + Int(length)
        let root: JSONValue
        do {
            root = try JSONParser.parse(data[data.startIndex + 8 ..< data.startIndex + headerEnd])
        } catch {
            throw .badHeader(file: file, tensor: nil, detail: "the JSON header is not valid: \(error)")
        }
        guard case .object(let fields) = root else {
            throw .badHeader(file: file, tensor: nil, detail: "the JSON header is \(root.kindDescription), expected an object")
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in fields.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            if name == "__metadata__" {
                metadata = try decodeMetadata(value)
            } else {
                entries.append(try decodeEntry(name: name, value))
            }
        }

        let bufferLength = data.count - headerEnd
        try checkLayout(entries, bufferLength: bufferLength)

        var tensors: [String: Tensor] = [:]
        for e in entries {
            let scalars = readScalars(e, base: headerEnd)
            tensors[e.name] = Tensor(shape: Shape(e.dims), scalars: scalars)
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    // MARK: - Header

    private func decodeMetadata(_ value: JSONValue) throws(ModelFileError) -> [String: String] {
        guard case .object(let pairs) = value else {
            throw .badHeader(file: file, tensor: nil, detail: "__metadata__ is \(value.kindDescription), expected an object of strings")
        }
        var out: [String: String] = [:]
        for (k, v) in pairs {
            guard case .string(let s) = v else {
                throw .badHeader(file: file, tensor: nil, detail: "__metadata__ key \"\(k)\" is \(v.kindDescription), expected a string")
            }
            out[k] = s
        }
        return out
    }

    private func decodeEntry(name: String, _ value: JSONValue) throws(ModelFileError) -> Entry {
        guard case .object(let f) = value else {
            throw .badHeader(file: file, tensor: name, detail: "the entry is \(value.kindDescription), expected an object")
        }
        for key in f.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw .badHeader(file: file, tensor: name, detail: "unknown field \"\(key)\" (known: dtype, shape, data_offsets)")
        }
        guard let dtypeValue = f["dtype"] else { throw .badHeader(file: file, tensor: name, detail: "missing field \"dtype\"") }
        guard case .string(let dtype) = dtypeValue else {
            throw .badHeader(file: file, tensor: name, detail: "\"dtype\" is \(dtypeValue.kindDescription), expected a string such as \"F32\"")
        }
        guard let size = SafetensorsDecoder.readable[dtype] else { throw .unsupportedDType(file: file, tensor: name, dtype: dtype) }

        let dims = try naturals(f["shape"], field: "shape", tensor: name)
        // Dimensions above Int32.max cannot describe a tensor in a real file; rejecting
        // them keeps every later product in range.
        guard dims.allSatisfy({ $0 <= Int(Int32.max) }), let count = SafetensorsFile.elementCount(dims),
              case let (bytes, overflow) = count.multipliedReportingOverflow(by: size), !overflow else {
            throw .badHeader(file: file, tensor: name, detail: "shape \(dims) is too large")
        }
        let offsets = try naturals(f["data_offsets"], field: "data_offsets", tensor: name)
        guard offsets.count == 2 else {
            throw .badHeader(file: file, tensor: name, detail: "data_offsets has \(offsets.count) numbers, expected [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw .badOffsets(file: file, tensor: name, detail: "begin \(begin) is after end \(end)") }
        guard end - begin == bytes else {
            throw .badOffsets(file: file, tensor: name,
                              detail: "[\(begin), \(end)] spans \(end - begin) bytes, but \(dtype) \(dims) needs \(bytes)")
        }
        return Entry(name: name, dtype: dtype, dims: dims, count: count, begin: begin, end: end)
    }

    /// An array of non-negative integers.
    private func naturals(_ value: JSONValue?, field: String, tensor: String) throws(ModelFileError) -> [Int] {
        guard let value else { throw .badHeader(file: file, tensor: tensor, detail: "missing field \"\(field)\"") }
        guard case .array(let items) = value else {
            throw .badHeader(file: file, tensor: tensor, detail: "\"\(field)\" is \(value.kindDescription), expected an array of integers")
        }
        var out: [Int] = []
        for item in items {
            guard case .int(let i) = item, i >= 0 else {
                throw .badHeader(file: file, tensor: tensor, detail: "\"\(field)\" holds \(item.kindDescription) \(item.serialized(pretty: false)), expected a non-negative integer")
            }
            out.append(i)
        }
        return out
    }

    /// Contiguous from 0, no overlaps or gaps, and exactly covering the buffer.
    private func checkLayout(_ entries: [Entry], bufferLength: Int) throws(ModelFileError) {
        let byStart = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous: String?
        for e in byStart {
            if e.begin < position, let p = previous {
                throw .badOffsets(file: file, tensor: e.name, detail: "[\(e.begin), \(e.end)] overlaps tensor '\(p)', which ends at \(position)")
            }
            if e.begin > position {
                let after = previous.map { "after tensor '\($0)'" } ?? "at the start of the data"
                throw .badOffsets(file: file, tensor: e.name, detail: "[\(e.begin), \(e.end)] leaves a gap of \(e.begin - position) bytes \(after)")
            }
            position = e.end
            previous = e.name
        }
        if position > bufferLength, let last = previous {
            throw .truncated(file: file, detail: "tensor '\(last)' ends at byte \(position) of the data, "
                             + "but only \(bufferLength) bytes follow the header")
        }
        if position < bufferLength {
            if let last = previous {
                throw .badOffsets(file: file, tensor: last, detail: "\(bufferLength - position) bytes after its end at \(position) belong to no tensor")
            }
            throw .badHeader(file: file, tensor: nil, detail: "\(bufferLength) bytes of data follow a header that lists no tensors")
        }
    }

    // MARK: - Data

    private func readScalars(_ e: Entry, base: Int) -> [Float] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let start = base + e.begin
            switch e.dtype {
            case "F32":
                return (0..<e.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: UInt32.self))) }
            case "F16":
                return (0..<e.count).map { HalfPrecision.floatFromF16(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self))) }
            case "BF16":
                return (0..<e.count).map { HalfPrecision.floatFromBF16(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self))) }
            default:  // F64; `readable` admits nothing else
                return (0..<e.count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * $0, as: UInt64.self)))) }
            }
        }
    }

    private func readUInt64(at offset: Int) -> UInt64 {
        data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
}
