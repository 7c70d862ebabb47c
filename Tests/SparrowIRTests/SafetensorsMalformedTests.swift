import Foundation
import Testing
@testable import SparrowIR

/// Each way a safetensors file can be wrong gives its own error case, naming the
/// file and, where there is one, the tensor.
@Suite("malformed safetensors files")
struct SafetensorsMalformedTests {
    static let name = "broken.safetensors"

    /// A file with this header text (unpadded) followed by `dataBytes` zero bytes.
    static func file(header: String, dataBytes: Int) -> Data {
        raw(header: Array(header.utf8), dataBytes: dataBytes)
    }

    static func raw(header: [UInt8], dataBytes: Int, length: UInt64? = nil) -> Data {
        var d = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: header)
        d.append(contentsOf: [UInt8](repeating: 0, count: dataBytes))
        return d
    }

    func expect(_ data: Data, _ expected: String, mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        expectModelFileError(expected, mentions: [Self.name] + mentions, sourceLocation: sourceLocation) { () throws(ModelFileError) in
            _ = try SafetensorsFile(decoding: data, file: Self.name)
        }
    }

    @Test func shorterThanTheLengthField() {
        expect(Data([1, 2, 3]), "truncated", mentions: ["8-byte"])
    }

    @Test func headerLengthPastEndOfFile() {
        expect(Self.raw(header: Array("{}".utf8), dataBytes: 0, length: 500), "headerLength", mentions: ["500"])
    }

    @Test func absurdHeaderLength() {
        expect(Self.raw(header: [], dataBytes: 0, length: UInt64.max), "headerLength")
        expect(Self.raw(header: [], dataBytes: 0, length: 1 << 40), "headerLength")
    }

    @Test func headerNotUTF8() {
        expect(Self.raw(header: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], dataBytes: 0), "badHeader", mentions: ["UTF-8"])
    }

    @Test func headerNotJSON() {
        expect(Self.file(header: "{\"a\": {\"dtype\": \"F32\",", dataBytes: 0), "badHeader", mentions: ["line 1"])
        expect(Self.file(header: "[1, 2]", dataBytes: 0), "badHeader", mentions: ["object"])
    }

    @Test func missingFields() {
        expect(Self.file(header: #"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "dtype"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "shape"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "data_offsets"])
        expect(Self.file(header: #"{"w": [1]}"#, dataBytes: 4), "badHeader", mentions: ["'w'"])
    }

    @Test func malformedFields() {
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "non-negative"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.5]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "[begin, end]"])
        expect(Self.file(header: #"{"w": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}}"#, dataBytes: 4), "badHeader", mentions: ["'w'", "\"x\""])
        expect(Self.file(header: #"{"__metadata__": {"epoch": 3}}"#, dataBytes: 0), "badHeader", mentions: ["epoch"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99999999999999999999999]}}"#, dataBytes: 4), "badHeader", mentions: ["'w'"])
    }

    @Test func shapeOverflow() {
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [2147483647, 2147483647, 2147483647], "data_offsets": [0, 4]}}"#, dataBytes: 4),
               "badHeader", mentions: ["'w'", "too large"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [4294967296], "data_offsets": [0, 4]}}"#, dataBytes: 4),
               "badHeader", mentions: ["'w'", "too large"])
    }

    @Test func sizeDoesNotMatchShape() {
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, dataBytes: 4), "badOffsets", mentions: ["'w'", "needs 8"])
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, dataBytes: 4), "badOffsets", mentions: ["'w'", "after end"])
    }

    @Test func offsetsOutOfRange() {
        expect(Self.file(header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataBytes: 8), "truncated", mentions: ["'w'", "16"])
    }

    @Test func overlappingTensors() {
        let h = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        expect(Self.file(header: h, dataBytes: 12), "badOffsets", mentions: ["'b'", "overlaps", "'a'"])
    }

    @Test func gapBetweenTensors() {
        let h = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        expect(Self.file(header: h, dataBytes: 12), "badOffsets", mentions: ["'b'", "gap"])
        expect(Self.file(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, dataBytes: 8), "badOffsets", mentions: ["'a'", "start"])
    }

    @Test func bytesNotCoveredByAnyTensor() {
        expect(Self.file(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 9), "badOffsets", mentions: ["'a'", "5 bytes"])
        expect(Self.file(header: "{}", dataBytes: 3), "badHeader", mentions: ["no tensors"])
    }

    @Test func truncatedData() throws {
        let good = try SafetensorsFile(tensors: ["w": Tensor(shape: Shape(4), scalars: [1, 2, 3, 4])]).encoded()
        expect(good.prefix(good.count - 3), "truncated", mentions: ["'w'"])
    }

    @Test func unsupportedDType() {
        expect(Self.file(header: #"{"idx": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "unsupportedDType", mentions: ["'idx'", "I32", "F32, F16, BF16"])
        expect(Self.file(header: #"{"q": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}"#, dataBytes: 4), "unsupportedDType", mentions: ["'q'"])
    }

    @Test("PyTorch's int64 batch-norm counter is rejected with a hint to the conversion tool")
    func pytorchCounter() {
        expectModelFileError("unsupportedDType", mentions: ["torch_cnn.pt.safetensors", "num_batches_tracked", "torch_layout.py"]) { () throws(ModelFileError) in
            _ = try SafetensorsFile(contentsOf: Fixtures.model("torch_cnn.pt.safetensors"))
        }
    }

    @Test func unreadableFile() {
        expectModelFileError("unreadable", mentions: ["/no/such/file.safetensors"]) { () throws(ModelFileError) in
            _ = try SafetensorsFile(contentsOf: URL(fileURLWithPath: "/no/such/file.safetensors"))
        }
    }

    @Test("zero-element tensors and an empty file are valid")
    func degenerateButValid() throws {
        let f = try SafetensorsFile(decoding: Self.file(header: #"{"e": {"dtype": "F16", "shape": [0, 5], "data_offsets": [0, 0]}}"#, dataBytes: 0), file: Self.name)
        #expect(f.tensors["e"] == Tensor(shape: Shape(0, 5), scalars: []))
        let empty = try SafetensorsFile(decoding: Self.file(header: "{}", dataBytes: 0), file: Self.name)
        #expect(empty.tensors.isEmpty)
    }
}
