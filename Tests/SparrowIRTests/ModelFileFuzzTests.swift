import Foundation
import Testing
@testable import SparrowIR

/// Seeded mutations of valid files: every one must load or throw a
/// `ModelFileError` naming the file; none may crash. (Typed throws already make
/// any other error type impossible; what these tests catch is traps: overflow,
/// out-of-range indexing, preconditions, runaway allocation.)
@Suite("model file fuzzing")
struct ModelFileFuzzTests {
    static let architecture = """
    {"format": "sparrow-model", "version": 1, "name": "fuzz",
     "input": {"name": "input", "shape": [8, 8, 2]},
     "layers": [
      {"name": "conv1", "op": "conv2d", "out_channels": 4, "kernel": 3, "stride": 1, "padding": 1, "groups": 1, "bias": false},
      {"name": "bn1", "op": "batchnorm", "eps": 0.001},
      {"name": "relu1", "op": "relu"},
      {"name": "dw", "op": "depthwise_conv2d", "kernel": [3, 3], "padding": [1, 1, 1, 1]},
      {"name": "sum", "op": "add", "inputs": ["dw", "relu1"]},
      {"name": "pool", "op": "avgpool2d", "kernel": 2, "stride": 2},
      {"name": "mp", "op": "maxpool2d", "kernel": 2},
      {"name": "flat", "op": "flatten"},
      {"name": "fc", "op": "linear", "out_features": 3, "bias": true}
     ],
     "output": "fc",
     "loss": "softmax_cross_entropy"}
    """

    static func validWeights() throws -> Data {
        var rng = SeededGenerator(seed: 77)
        var t = try ModelFile.weights(of: ModelFile.decode(architecture: Data(architecture.utf8), weights: nil, seed: 1)).tensors
        t["conv1.bias"] = nil  // bias: false in the file; folding added it
        t["bn1.weight"] = rng.tensor(Shape(4))
        t["bn1.bias"] = rng.tensor(Shape(4))
        t["bn1.running_mean"] = rng.tensor(Shape(4))
        t["bn1.running_var"] = Tensor(shape: Shape(4), scalars: [0.5, 1, 1.5, 2])
        return try SafetensorsFile(tensors: t).encoded()
    }

    @Test("the unmutated files load")
    func baseline() throws {
        _ = try ModelFile.decode(architecture: Data(Self.architecture.utf8), weights: try Self.validWeights())
    }

    @Test("500 mutations of a safetensors file never crash")
    func safetensorsMutations() throws {
        let seed: UInt64 = 0x5AFE
        announce(seed: seed, "fuzz.safetensors")
        var rng = SeededGenerator(seed: seed)
        let valid = try Self.validWeights()
        let arch = Data(Self.architecture.utf8)
        var loaded = 0, failed: [String: Int] = [:]
        for i in 0..<500 {
            var bytes = [UInt8](valid)
            switch i % 4 {
            case 0:  // truncation at a random length
                bytes = Array(bytes.prefix(rng.nextInt(below: bytes.count)))
            case 1:  // random bit flips, biased towards the header where the structure is
                for _ in 0..<(1 + rng.nextInt(below: 4)) {
                    let limit = rng.nextInt(below: 3) == 0 ? bytes.count : min(bytes.count, 8 + 700)
                    let k = rng.nextInt(below: limit)
                    bytes[k] ^= UInt8(1) << UInt8(rng.nextInt(below: 8))
                }
            case 2:  // random byte insertions
                for _ in 0..<(1 + rng.nextInt(below: 3)) {
                    bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: bytes.count + 1))
                }
            default:  // overwrite a run of bytes with random ones
                let start = rng.nextInt(below: bytes.count)
                for k in start..<min(bytes.count, start + 1 + rng.nextInt(below: 8)) { bytes[k] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            do {
                _ = try ModelFile.decode(architecture: arch, weights: Data(bytes), weightsFile: "fuzz-\(i).safetensors")
                loaded += 1
            } catch {
                #expect(error.file == "fuzz-\(i).safetensors", "case \(i): \(error)")
                #expect(error.description.contains("fuzz-\(i).safetensors"))
                failed[caseName(error), default: 0] += 1
            }
        }
        print("[fuzz.safetensors] loaded \(loaded), errors by case: \(failed.sorted { $0.key < $1.key })")
        #expect(failed.count >= 4, "the mutations reach several distinct checks")
    }

    @Test("500 edits of an architecture file never crash")
    func architectureMutations() throws {
        let seed: UInt64 = 0xA2C4
        announce(seed: seed, "fuzz.architecture")
        var rng = SeededGenerator(seed: seed)
        let base = try JSONParser.parse(Array(Self.architecture.utf8))
        let weights = try Self.validWeights()
        var loaded = 0, failed: [String: Int] = [:]
        for i in 0..<500 {
            var text: String
            if i % 10 == 9 {  // cut the text
                text = String(Self.architecture.prefix(rng.nextInt(below: Self.architecture.count)))
            } else {
                var doc = base
                for _ in 0..<(1 + rng.nextInt(below: 2)) { doc = Self.mutate(doc, &rng, depth: 0) }
                text = doc.serialized(pretty: rng.nextInt(below: 2) == 0)
            }
            let withWeights = i % 3 == 0
            do {
                _ = try ModelFile.decode(architecture: Data(text.utf8), weights: withWeights ? weights : nil, seed: UInt64(i),
                                         architectureFile: "fuzz-\(i).json", weightsFile: "fuzz-\(i).safetensors")
                loaded += 1
            } catch {
                #expect(error.file.hasPrefix("fuzz-\(i)."), "case \(i): \(error)")
                #expect(error.description.contains("fuzz-\(i)."))
                failed[caseName(error), default: 0] += 1
            }
        }
        print("[fuzz.architecture] loaded \(loaded), errors by case: \(failed.sorted { $0.key < $1.key })")
        #expect(failed.count >= 6, "the edits reach several distinct checks")
    }

    /// One random edit somewhere in the document: delete a key, change a number to a
    /// string / negative / huge / fraction, rename an op, duplicate a layer name, or
    /// duplicate / drop an array element.
    static func mutate(_ v: JSONValue, _ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        switch v {
        case .object(var fields) where !fields.isEmpty:
            let keys = fields.keys.sorted()
            // Most edits go into the layers, where most of the checks are.
            let key = fields["layers"] != nil && rng.nextInt(below: 3) > 0 ? "layers" : keys[rng.nextInt(below: keys.count)]
            switch rng.nextInt(below: 6) {
            case 0: fields[key] = nil
            case 1 where key == "op": fields[key] = .string(["conv", "linear", "relu", "batchnorm", "add", "Conv2D", ""][rng.nextInt(below: 7)])
            case 2 where key == "name": fields[key] = .string(["conv1", "relu1", "input", "fc", "label", "x"][rng.nextInt(below: 6)])
            default: fields[key] = mutate(fields[key] ?? .null, &rng, depth: depth + 1)
            }
            return .object(fields)
        case .array(var items) where !items.isEmpty:
            let k = rng.nextInt(below: items.count)
            switch rng.nextInt(below: 5) {
            case 0: items.remove(at: k)
            case 1: items.insert(items[k], at: k)  // duplicates a layer (and its name) or a dimension
            default: items[k] = mutate(items[k], &rng, depth: depth + 1)
            }
            return .array(items)
        case .int(let n):
            let options: [JSONValue] = [.string(String(n)), .int(0 &- n), .int(-1), .int(0), .int(1 << 40), .int(Int.max),
                                        .double(1e300), .double(Double(n) + 0.5), .int(n &+ 1), .bool(true), .null]
            return options[rng.nextInt(below: options.count)]
        case .double(let d):
            return [.double(-d), .double(0), .string("x"), .int(0)][rng.nextInt(below: 4)]
        case .string(let s):
            return [.string(s + "x"), .string(""), .int(3), .string(String(s.reversed())), .array([.string(s)])][rng.nextInt(below: 5)]
        case .bool(let b):
            return [.bool(!b), .string("true"), .int(1)][rng.nextInt(below: 3)]
        default:
            return .object(["x": v])
        }
    }
}
