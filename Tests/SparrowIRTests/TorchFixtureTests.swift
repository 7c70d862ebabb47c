import Foundation
import Testing
@testable import SparrowIR

/// The PyTorch conversion path end to end, on fixtures made by
/// Tests/Fixtures/models/make_fixtures.py: PyTorch-layout weights converted by
/// tools/torch_layout.py must give the logits an independent NCHW numpy forward
/// pass computed.
@Suite("PyTorch-converted fixture")
struct TorchFixtureTests {
    @Test("converted weights load and reproduce numpy's logits")
    func convertedModelMatchesNumpy() throws {
        let model = try ModelFile.load(architecture: Fixtures.model("torch_cnn.json"), weights: Fixtures.model("torch_cnn.safetensors"))
        #expect(model.name == "torch-cnn")
        #expect(model.graph.id(named: "features.1") == nil && model.graph.id(named: "features.5") == nil, "batch-norms folded")
        #expect(model.weights["features.4.weight"]?.shape == Shape(3, 3, 6), "depthwise layout")
        #expect(model.weights["features.7.weight"]?.shape == Shape(4, 1, 1, 3), "grouped conv layout")

        let io = try SafetensorsFile(contentsOf: Fixtures.model("torch_cnn.io.safetensors"))
        let input = try #require(io.tensors["input"]), logits = try #require(io.tensors["logits"])
        #expect(input.shape == Shape(8, 8, 3))
        let values = ReferenceForward.run(model, input: input.scalars.map(Double.init))
        let prediction = try #require(model.graph.prediction)
        let out = try #require(values[prediction])
        #expect(out.count == 5)
        for (a, b) in zip(out, logits.scalars.map(Double.init)) {
            #expect(abs(a - b) <= 1e-4 * (1 + abs(b)), "Sparrow \(a) vs numpy \(b)")
        }
    }

    @Test("the unconverted PyTorch file is refused")
    func unconvertedFileIsRefused() {
        expectModelFileError("unsupportedDType", mentions: ["torch_cnn.pt.safetensors", "num_batches_tracked"]) { () throws(ModelFileError) in
            _ = try ModelFile.load(architecture: Fixtures.model("torch_cnn.json"), weights: Fixtures.model("torch_cnn.pt.safetensors"))
        }
    }
}
