import Foundation
import Testing
@testable import SparrowIR

@Suite("architecture JSON round trip")
struct ArchitectureRoundTripTests {
    @Test("save then load gives the same graph and bit-identical weights",
          arguments: [(UInt64(11), LossKind.softmaxCrossEntropy), (12, .mse), (13, .none)])
    func saveAndLoad(seed: UInt64, loss: LossKind) throws {
        announce(seed: seed, "architecture.saveAndLoad(\(loss))")
        let model = try everyOpModel(seed: seed, loss: loss)
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        let arch = dir.file("model.json"), weights = dir.file("model.safetensors")
        try ModelFile.save(model, architecture: arch, weights: weights)

        let loaded = try ModelFile.load(architecture: arch, weights: weights)
        #expect(loaded.name == model.name)
        #expect(loaded.graph == model.graph)
        #expect(loaded.weights.keys.sorted() == model.weights.keys.sorted())
        for (name, t) in model.weights {
            #expect(loaded.weights[name]?.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern), "\(name)")
        }
        #expect(loaded == model)

        // Saving the loaded model again writes the same bytes.
        let arch2 = dir.file("again.json"), weights2 = dir.file("again.safetensors")
        try ModelFile.save(loaded, architecture: arch2, weights: weights2)
        #expect(try Data(contentsOf: arch2) == Data(contentsOf: arch))
        #expect(try Data(contentsOf: weights2) == Data(contentsOf: weights))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).count == 4, "no temporary files remain")
    }

    @Test("architectureJSON is deterministic, pretty, sorted and uses the documented spellings")
    func jsonText() throws {
        let model = try everyOpModel(seed: 5)
        let data = try ModelFile.architectureJSON(model)
        #expect(try ModelFile.architectureJSON(model) == data)
        let text = try #require(String(data: data, encoding: .utf8))
        #expect(text.hasPrefix("{\n  \"format\": \"sparrow-model\",\n  \"input\": {\n    \"name\": \"input\",\n    \"shape\": [12, 10, 3]\n  },"))
        for fragment in [
            "\"op\": \"depthwise_conv2d\"", "\"groups\": 4", "\"padding\": [0, 1, 1, 0]", "\"kernel\": [3, 2]",
            "\"stride\": [2, 1]", "\"op\": \"global_avgpool\"", "\"op\": \"flatten\"", "\"shape\": [8, 6]",
            "\"inputs\": [\"pwconv1\", \"relu1\"]",
            "\"loss\": \"softmax_cross_entropy\"", "\"version\": 1", "\"op\": \"relu6\"", "\"op\": \"avgpool2d\"",
        ] {
            #expect(text.contains(fragment), "missing \(fragment)")
        }
        #expect(!text.contains("\"label\""), "the label is implied by the loss")
    }

    @Test("loading the documented example and saving it gives the same graph back")
    func documentedExample() throws {
        let example = """
        { "format": "sparrow-model", "version": 1, "name": "cnn-small",
          "input": {"name": "input", "shape": [28, 28, 1]},
          "layers": [
            {"name": "conv1", "op": "conv2d", "out_channels": 16, "kernel": 3, "stride": 1, "padding": 1, "groups": 1, "bias": true},
            {"name": "bn1", "op": "batchnorm", "eps": 1e-5},
            {"name": "relu1", "op": "relu"},
            {"name": "pool1", "op": "maxpool2d", "kernel": 2, "stride": 2},
            {"name": "flat", "op": "flatten"},
            {"name": "fc", "op": "linear", "out_features": 10, "inputs": ["flat"]}
          ],
          "output": "fc",
          "loss": "softmax_cross_entropy" }
        """
        let model = try ModelFile.decode(architecture: Data(example.utf8), weights: nil, seed: 3)
        #expect(model.name == "cnn-small")
        #expect(model.graph.id(named: "bn1") == nil, "batch-norm is folded away")
        let relu = try #require(model.graph.id(named: "relu1")), conv = try #require(model.graph.id(named: "conv1"))
        let prediction = try #require(model.graph.prediction)
        #expect(model.graph[relu].inputs == [conv])
        #expect(model.graph[prediction].name == "fc")
        #expect(model.parameterCount == 16 * 9 + 16 + 10 * 14 * 14 * 16 + 10)

        let json = try ModelFile.architectureJSON(model)
        let reloaded = try ModelFile.decode(architecture: json, weights: try ModelFile.weights(of: model).encoded())
        #expect(reloaded == model)
    }

    @Test("without weights, the seed fixes the initial parameters")
    func seededInitialisation() throws {
        let json = try ModelFile.architectureJSON(try everyOpModel(seed: 0))
        let a = try ModelFile.decode(architecture: json, weights: nil, seed: 7)
        let b = try ModelFile.decode(architecture: json, weights: nil, seed: 7)
        let c = try ModelFile.decode(architecture: json, weights: nil, seed: 8)
        #expect(a == b)
        #expect(a.weights != c.weights)
        #expect(a == (try everyOpModel(seed: 7)), "same as building in code with the same seed")
    }

    @Test("defaults: inputs chain, output is the last layer, name is the file stem")
    func defaults() throws {
        let text = """
        {"format": "sparrow-model", "version": 1, "input": {"shape": [4]},
         "layers": [{"name": "fc", "op": "linear", "out_features": 2}], "loss": "mse"}
        """
        let model = try ModelFile.decode(architecture: Data(text.utf8), weights: nil, architectureFile: "dir/tiny-mlp.json")
        #expect(model.name == "tiny-mlp")
        #expect(model.graph[0].name == "input")
        let prediction = try #require(model.graph.prediction), loss = try #require(model.graph.loss)
        #expect(model.graph[prediction].name == "fc")
        #expect(model.graph[loss].op == .meanSquaredError)
    }

    @Test("graphs the format cannot express are refused, naming the node")
    func unrepresentable() throws {
        var b = ModelBuilder(name: "shared", seed: 1)
        let x = try b.input(Shape(4))
        _ = try b.linear(x, outFeatures: 3, name: "fc")
        var g = b.graph
        let c = try g.append("offset", .constant, type: TensorType(Shape(3)))
        let y = try g.append("shifted", .add, [try #require(g.id(named: "fc")), c])
        g.prediction = y
        var weights = b.weights
        weights["offset"] = Tensor(zeros: Shape(3))
        let model = Model(name: "shared", graph: g, weights: weights)
        try model.validate()
        expectModelFileError("unrepresentable", mentions: ["'offset'", "constant", "<architecture>"]) { () throws(ModelFileError) in
            _ = try ModelFile.architectureJSON(model)
        }

        let dir = try ScratchDirectory()
        defer { dir.remove() }
        expectModelFileError("unrepresentable", mentions: ["m.json"]) { () throws(ModelFileError) in
            try ModelFile.save(model, architecture: dir.file("m.json"), weights: dir.file("m.safetensors"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).isEmpty, "nothing is written")
    }

    @Test("a model with a NaN weight is not saved")
    func nanIsNotSaved() throws {
        var model = try everyOpModel(seed: 2)
        model.weights["conv1.weight"]?.scalars[5] = .nan
        let dir = try ScratchDirectory()
        defer { dir.remove() }
        expectModelFileError("model", mentions: ["conv1.weight", "m.json"]) { () throws(ModelFileError) in
            try ModelFile.save(model, architecture: dir.file("m.json"), weights: dir.file("m.safetensors"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).isEmpty)
    }
}
