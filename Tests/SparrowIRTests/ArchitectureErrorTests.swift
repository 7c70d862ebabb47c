import Foundation
import Testing
@testable import SparrowIR

/// Each error case of model loading: the right `ModelFileError` case, and a
/// description that names the file and the layer or tensor at fault.
@Suite("architecture and weights errors")
struct ArchitectureErrorTests {
    static let base = """
    {"format": "sparrow-model", "version": 1, "name": "small",
     "input": {"name": "input", "shape": [6, 6, 2]},
     "layers": [
      {"name": "conv1", "op": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
      {"name": "relu1", "op": "relu"},
      {"name": "pool1", "op": "maxpool2d", "kernel": 2},
      {"name": "flat", "op": "flatten"},
      {"name": "fc", "op": "linear", "out_features": 3}
     ],
     "loss": "softmax_cross_entropy"}
    """

    /// Valid weights for `base`.
    static func baseWeights() throws -> [String: Tensor] {
        try ModelFile.weights(of: ModelFile.decode(architecture: Data(base.utf8), weights: nil, seed: 4)).tensors
    }

    /// Writes `arch` (and `tensors`, when given) to files and loads them.
    func load(_ arch: String, tensors: [String: Tensor]? = nil, metadata: [String: String] = [:], in dir: ScratchDirectory) throws(ModelFileError) {
        let archURL = dir.file("arch.json"), weightsURL = dir.file("weights.safetensors")
        do { try Data(arch.utf8).write(to: archURL) } catch { Issue.record("\(error)") }
        if let tensors {
            var bytes = try SafetensorsFile(tensors: tensors).encoded()
            if !metadata.isEmpty { bytes = try Self.withMetadata(tensors, metadata) }
            do { try bytes.write(to: weightsURL) } catch { Issue.record("\(error)") }
        }
        _ = try ModelFile.load(architecture: archURL, weights: tensors == nil ? nil : weightsURL)
    }

    /// A file with exactly this metadata (the writer always sets format: sparrow).
    static func withMetadata(_ tensors: [String: Tensor], _ metadata: [String: String]) throws(ModelFileError) -> Data {
        let plain = try SafetensorsFile(tensors: tensors).encoded()
        let n = Int(plain.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = String(decoding: plain[8..<(8 + n)], as: UTF8.self)
            .replacingOccurrences(of: "\"format\":\"sparrow\"", with: metadata.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ","))
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header.utf8)
        out.append(plain[(8 + n)...])
        return out
    }

    func check(_ expected: String, _ arch: String, tensors: [String: Tensor]? = nil, metadata: [String: String] = [:],
               mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let file = tensors == nil || ["badJSON", "unknownOp", "unknownInput", "missingField", "invalidField", "unknownField",
                                      "duplicateLayer", "batchNorm", "graph", "wrongFormat", "unsupportedVersion"].contains(expected)
            ? "arch.json" : "weights.safetensors"
        let error = expectModelFileError(expected, mentions: [file] + mentions, sourceLocation: sourceLocation) { () throws(ModelFileError) in
            try load(arch, tensors: tensors, metadata: metadata, in: dir)
        }
        #expect(error?.file.hasSuffix(file) == true, sourceLocation: sourceLocation)
    }

    func edit(_ from: String, _ to: String) -> String {
        precondition(Self.base.contains(from), "test edit does not apply: \(from)")
        return Self.base.replacingOccurrences(of: from, with: to)
    }

    @Test func baseLoads() throws {
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        try load(Self.base, in: dir)
        try load(Self.base, tensors: try Self.baseWeights(), in: dir)
    }

    @Test func unknownOp() throws {
        try check("unknownOp", edit("\"op\": \"relu\"", "\"op\": \"gelu\""), mentions: ["'relu1'", "\"gelu\"", "relu6", "depthwise_conv2d"])
    }

    @Test func badJSON() throws {
        try check("badJSON", edit("\"op\": \"relu\"}", "\"op\": \"relu\",}"), mentions: ["arch.json:5:"])
        try check("badJSON", String(Self.base.prefix(120)), mentions: ["end of text"])
        try check("badJSON", edit("\"small\"", "\"small\" \"extra\""), mentions: [":1:"])
        try check("badJSON", edit("\"flat\", \"op\"", "\"fc\", \"op\": \"flatten\", \"op\""), mentions: ["duplicate key"])
    }

    @Test func unknownInput() throws {
        try check("unknownInput", edit("\"out_features\": 3}", "\"out_features\": 3, \"inputs\": [\"flatten\"]}"), mentions: ["'fc'", "'flatten'"])
        // A later layer is not an input either: layers are listed in order.
        try check("unknownInput", edit("{\"name\": \"relu1\", \"op\": \"relu\"}", "{\"name\": \"relu1\", \"op\": \"relu\", \"inputs\": [\"pool1\"]}"),
                  mentions: ["'relu1'", "'pool1'"])
    }

    @Test func formatAndVersion() throws {
        try check("wrongFormat", edit("\"sparrow-model\"", "\"onnx\""), mentions: ["onnx", "sparrow-model"])
        try check("wrongFormat", "[1, 2]", mentions: ["array"])
        try check("unsupportedVersion", edit("\"version\": 1", "\"version\": 2"), mentions: ["version 2", "newer"])
        try check("missingField", edit("\"version\": 1,", ""), mentions: ["top level", "\"version\""])
    }

    @Test func fieldErrors() throws {
        try check("missingField", edit(", \"out_features\": 3", ""), mentions: ["layer 'fc'", "\"out_features\""])
        try check("missingField", edit("{\"name\": \"relu1\", ", "{"), mentions: ["layers[1]", "\"name\""])
        try check("missingField", edit("\"loss\": \"softmax_cross_entropy\"", "\"output\": \"fc\""), mentions: ["\"loss\""])
        try check("invalidField", edit("\"out_channels\": 4", "\"out_channels\": \"4\""), mentions: ["layer 'conv1'", "out_channels", "string"])
        try check("invalidField", edit("\"out_channels\": 4", "\"out_channels\": -4"), mentions: ["layer 'conv1'", "-4", "out of range"])
        try check("invalidField", edit("\"out_channels\": 4", "\"out_channels\": 1e30"), mentions: ["layer 'conv1'"])
        try check("invalidField", edit("\"kernel\": 3, \"padding\": 1", "\"kernel\": 3, \"padding\": 3"), mentions: ["conv1", "smaller than the kernel"])
        try check("invalidField", edit("\"kernel\": 3,", "\"kernel\": [3, 3, 3],"), mentions: ["conv1", "[h, w]"])
        try check("invalidField", edit("\"softmax_cross_entropy\"", "\"hinge\""), mentions: ["hinge", "mse"])
        try check("invalidField", edit("\"shape\": [6, 6, 2]", "\"shape\": [6, 0, 2]"), mentions: ["input", "shape"])
        try check("invalidField", edit("\"loss\"", "\"output\": \"nowhere\", \"loss\""), mentions: ["output", "'nowhere'"])
        try check("invalidField", edit("\"out_features\": 3", "\"out_features\": 1000000"), mentions: ["fc", "limit"])
        try check("unknownField", edit("\"kernel\": 2}", "\"kernel\": 2, \"strides\": 2}"), mentions: ["layer 'pool1'", "\"strides\"", "stride"])
        try check("unknownField", edit("\"name\": \"small\"", "\"name\": \"small\", \"comment\": \"x\""), mentions: ["top level", "comment"])
        try check("invalidField", edit("\"name\": \"relu1\"", "\"name\": \"label\""), mentions: ["label", "reserved"])
    }

    @Test func duplicateLayer() throws {
        try check("duplicateLayer", edit("\"name\": \"relu1\"", "\"name\": \"conv1\""), mentions: ["'conv1'"])
        try check("duplicateLayer", edit("\"name\": \"flat\"", "\"name\": \"input\""), mentions: ["'input'"])
    }

    @Test("shape errors are GraphErrors wrapped with the file and layer")
    func shapeErrors() throws {
        try check("graph", edit("{\"name\": \"flat\", \"op\": \"flatten\"},", ""), mentions: ["layer 'fc'", "flatten"])
        try check("graph", edit("\"kernel\": 2}", "\"kernel\": 9}"), mentions: ["layer 'pool1'", "9×9"])
        try check("graph", edit("\"out_channels\": 4,", "\"out_channels\": 4, \"groups\": 3,"), mentions: ["conv1", "groups 3"])
        try check("graph", edit("\"op\": \"flatten\"", "\"op\": \"reshape\", \"shape\": [5]"), mentions: ["layer 'flat'", "reshape"])
    }

    @Test func batchNormPlacement() throws {
        try check("batchNorm", edit("{\"name\": \"flat\"", "{\"name\": \"bn\", \"op\": \"batchnorm\"}, {\"name\": \"flat\""),
                  mentions: ["'bn'", "'pool1'", "maxpool2d"])
        try check("batchNorm", edit("{\"name\": \"relu1\", \"op\": \"relu\"}",
                                    "{\"name\": \"bn\", \"op\": \"batchnorm\"}, {\"name\": \"relu1\", \"op\": \"relu\", \"inputs\": [\"conv1\"]}"),
                  mentions: ["'bn'", "'conv1'", "relu1"])
    }

    @Test func missingTensor() throws {
        var t = try Self.baseWeights()
        t["fc.bias"] = nil
        try check("missingTensor", Self.base, tensors: t, mentions: ["'fc.bias'", "'fc'"])
        var typo = try Self.baseWeights()
        typo["conv1.weigth"] = typo.removeValue(forKey: "conv1.weight")
        try check("missingTensor", Self.base, tensors: typo, mentions: ["'conv1.weight'", "conv1.weigth"])
    }

    @Test func wrongTensorShape() throws {
        var t = try Self.baseWeights()
        t["conv1.weight"] = Tensor(zeros: Shape(4, 2, 3, 3))  // PyTorch's layout
        try check("tensorShape", Self.base, tensors: t, mentions: ["'conv1.weight'", "[4×2×3×3]", "[4×3×3×2]", "torch_layout.py"])
        t = try Self.baseWeights()
        t["fc.bias"] = Tensor(zeros: Shape(4))
        try check("tensorShape", Self.base, tensors: t, mentions: ["'fc.bias'", "[4]", "[3]"])
    }

    @Test func nonFiniteWeight() throws {
        var t = try Self.baseWeights()
        t["fc.weight"]?.scalars[7] = .nan
        try check("nonFinite", Self.base, tensors: t, mentions: ["'fc.weight'", "element 7"])
        t = try Self.baseWeights()
        t["conv1.bias"]?.scalars[2] = -.infinity
        try check("nonFinite", Self.base, tensors: t, mentions: ["'conv1.bias'", "element 2"])
    }

    @Test func extraTensor() throws {
        var t = try Self.baseWeights()
        t["conv2.weight"] = Tensor(zeros: Shape(1))
        t["head.bias"] = Tensor(zeros: Shape(1))
        try check("extraTensors", Self.base, tensors: t, mentions: ["conv2.weight, head.bias"])
    }

    @Test func foreignLayout() throws {
        try check("foreignLayout", Self.base, tensors: try Self.baseWeights(), metadata: ["format": "pt"], mentions: ["\"pt\"", "torch_layout.py"])
    }

    @Test func unreadableArchitecture() {
        expectModelFileError("unreadable", mentions: ["/nonexistent/model.json"]) { () throws(ModelFileError) in
            _ = try ModelFile.load(architecture: URL(fileURLWithPath: "/nonexistent/model.json"), weights: nil)
        }
    }
}
