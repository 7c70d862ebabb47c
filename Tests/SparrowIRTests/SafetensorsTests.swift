import Foundation
import Testing
@testable import SparrowIR

@Suite("safetensors reading and writing")
struct SafetensorsTests {
    @Test("round trip keeps names, shapes, metadata and every bit", arguments: [UInt64(1), 2, 3])
    func roundTrip(seed: UInt64) throws {
        announce(seed: seed, "safetensors.roundTrip")
        var rng = SeededGenerator(seed: seed)
        var tensors: [String: Tensor] = [:]
        for k in 0..<6 {
            let rank = rng.nextInt(below: 4)
            let shape = Shape((0..<rank).map { _ in 1 + rng.nextInt(below: 5) })
            tensors["layer\(k).weight"] = rng.tensor(shape, scale: 3)
        }
        // Values a lossy path would change: -0, subnormals, extremes.
        tensors["special"] = Tensor(shape: Shape(5), scalars: [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1e-30, 1])
        tensors["empty"] = Tensor(shape: Shape(0, 3), scalars: [])
        let file = SafetensorsFile(tensors: tensors, metadata: ["epoch": "3", "ünïcode \"quoted\"": "a\nb"])
        let data = try file.encoded()
        let back = try SafetensorsFile(decoding: data, file: "mem.safetensors")

        #expect(back.metadata == ["epoch": "3", "ünïcode \"quoted\"": "a\nb", "format": "sparrow"])
        #expect(Set(back.tensors.keys) == Set(tensors.keys))
        for (name, t) in tensors {
            let b = try #require(back.tensors[name])
            #expect(b.shape == t.shape, "\(name)")
            #expect(b.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern), "\(name)")
        }
        #expect(try back.encoded() == data, "re-encoding is byte-identical")
    }

    @Test("the writer sorts names, pads the header to 8 bytes with spaces, and stores F32")
    func writerConventions() throws {
        let file = SafetensorsFile(tensors: ["b": Tensor(shape: Shape(1), scalars: [2]), "a": Tensor(shape: Shape(2), scalars: [1, -1])])
        let data = try file.encoded()
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect((8 + n) % 8 == 0)
        let header = try #require(String(data: data[8..<(8 + Int(n))], encoding: .utf8))
        #expect(header.hasPrefix("{\"__metadata__\":{\"format\":\"sparrow\"},\"a\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]},\"b\":"))
        #expect(header.last == "}" || header.last == " ")
        #expect(data.count == 8 + Int(n) + 12)
        // a = [1, -1] first (sorted), little-endian.
        #expect(Array(data[(8 + Int(n))...].prefix(8)) == [0, 0, 0x80, 0x3F, 0, 0, 0x80, 0xBF])
    }

    @Test("a file written by Python with F32, F16, BF16 and F64 tensors reads exactly")
    func pythonFixture() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.model("python_dtypes.safetensors"))
        #expect(file.metadata == ["source": "numpy"])
        #expect(file.tensors["f32"] == Tensor(shape: Shape(2, 3), scalars: [1.5, -2, 0, 3.25, 1e-3, -7]))
        #expect(file.tensors["f16"] == Tensor(shape: Shape(4), scalars: [0.5, -1.25, 65504, 0x1p-24]))
        #expect(file.tensors["bf16"] == Tensor(shape: Shape(2, 2), scalars: [1, -2.5, 3.140625, 0.0078125]))
        #expect(file.tensors["f64"] == Tensor(shape: Shape(3), scalars: [Float(0.1 as Double), Float(-1e-3 as Double), Float(12345.678 as Double)]))
    }

    @Test("F16 widening is exact for every bit pattern class")
    func halfPrecision() {
        #expect(HalfPrecision.floatFromF16(0x0000).bitPattern == (0.0 as Float).bitPattern)
        #expect(HalfPrecision.floatFromF16(0x8000).bitPattern == (-0.0 as Float).bitPattern)
        #expect(HalfPrecision.floatFromF16(0x3C00) == 1)
        #expect(HalfPrecision.floatFromF16(0xC000) == -2)
        #expect(HalfPrecision.floatFromF16(0x0001) == 0x1p-24)
        #expect(HalfPrecision.floatFromF16(0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.floatFromF16(0x0400) == 0x1p-14)
        #expect(HalfPrecision.floatFromF16(0x7BFF) == 65504)
        #expect(HalfPrecision.floatFromF16(0x7C00) == .infinity)
        #expect(HalfPrecision.floatFromF16(0xFC00) == -.infinity)
        #expect(HalfPrecision.floatFromF16(0x7E00).isNaN)
        #expect(HalfPrecision.floatFromBF16(0x4049) == 3.140625)
        #if !(os(macOS) && arch(x86_64))  // Float16 does not exist on Intel Macs
        if #available(macOS 11, *) {
            for bits in 0...0xFFFF {
                let h = UInt16(bits)
                let expected = Float(Float16(bitPattern: h))
                let got = HalfPrecision.floatFromF16(h)
                if got.bitPattern != expected.bitPattern && !(got.isNaN && expected.isNaN) {
                    Issue.record("0x\(String(h, radix: 16)): \(got) vs Float16's \(expected)")
                }
            }
        }
        #endif
    }

    @Test("files are written atomically and can be read back")
    func writeToDisk() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let url = dir.file("w.safetensors")
        let file = SafetensorsFile(tensors: ["x": Tensor(shape: Shape(3), scalars: [1, 2, 3])])
        try file.write(to: url)
        try file.write(to: url)  // replacing an existing file
        #expect(try SafetensorsFile(contentsOf: url).tensors == file.tensors)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(leftovers == ["w.safetensors"], "no temporary files remain")
    }

    @Test("a tensor whose values do not match its shape is not written")
    func inconsistentTensorIsRejected() throws {
        var t = Tensor(shape: Shape(2), scalars: [1, 2])
        t.scalars.append(3)
        let file = SafetensorsFile(tensors: ["bad": t])
        expectModelFileError("unrepresentable", mentions: ["bad", "out.safetensors"]) { () throws(ModelFileError) in
            _ = try file.encoded(file: "out.safetensors")
        }
    }
}
