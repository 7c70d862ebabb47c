import Foundation
import Testing
import Sparrow

/// Every zoo architecture: exact size and cost (checked against the published
/// figures), the committed `models/<name>.json`, file round trip, and training-graph
/// derivation. Run with `SPARROW_RECORD_ZOO=1` to rewrite the JSON files after an
/// intended architecture change; the diff then shows the change in review.
@Suite struct ZooArchitectureTests {
    /// Exact parameter and forward-MAC counts per zoo model (default input and classes).
    static let expected: [(name: String, parameters: Int, forwardMACs: Int)] = [
        ("cnn-small", 21_866, 1_096_032),
        ("mobilenetv2-w0.35", 401_898, 18_953_472),
        ("mcunet-like", 607_098, 29_731_904),
        ("resnet8", 77_706, 12_501_632),
        ("ds-cnn", 22_604, 2_656_768),
    ]

    private func zooModel(_ name: String) throws -> Model {
        try #require(try ModelZoo.model(named: name, seed: 0), "\(name) is in ModelZoo.names but model(named:) does not build it")
    }

    private func relativeError(_ actual: Int, _ expected: Double) -> Double {
        abs(Double(actual) - expected) / expected
    }

    @Test func namesAndExpectationsCoverTheSameModels() {
        #expect(ModelZoo.names == Self.expected.map(\.name))
        #expect(Set(ModelZoo.names).count == ModelZoo.names.count)
    }

    @Test(arguments: ModelZoo.names)
    func buildsValidatesAndCosts(_ name: String) throws {
        let model = try zooModel(name)
        try model.validate()
        #expect(model.name == name)
        let s = ModelSummary(model)
        print("\(name): \(s.parameters) parameters, \(s.forwardMACs) forward MACs, \(s.trainingMACs) training MACs")
        let want = try #require(Self.expected.first { $0.name == name })
        #expect(s.parameters == want.parameters)
        #expect(s.forwardMACs == want.forwardMACs)
    }

    /// Output channels of all convs: each had a batch-norm with γ and β in the
    /// torchvision model, where the folded graph has one bias per channel.
    private func convChannels(_ s: ModelSummary) -> Int {
        s.layers.filter { $0.op == "conv2d" }.reduce(0) { $0 + ($1.output.last ?? 0) }
    }

    /// Published: MobileNetV2 1.0 at 224 × 224 with a 1000-class head has 3.4 M
    /// parameters and 300 M MACs (Sandler et al. 2018; torchvision documents exactly
    /// 3,504,872 parameters); width 0.35 has about 1.7 M parameters and 59 M MACs
    /// (the TF-slim MobileNetV2 checkpoint table).
    ///
    /// Expected for our folded graph: torchvision's count minus one value per conv
    /// output channel (batch-norm γ and β become one bias), MACs within 2 % of the
    /// paper. At 128 × 128 with 10 classes:
    /// - parameters do not depend on the resolution, so they are the 224/1000 count
    ///   minus the classifier difference (1280·1000 + 1000) − (1280·10 + 10) =
    ///   1,268,190: 1,670,088 − 1,268,190 = 401,898 (≈ 0.40 M; "1.7 M − 1.27 M"
    ///   would say 0.43 M, but 1.7 M is rounded to two digits);
    /// - every conv's output map shrinks by exactly (128/224)² = 16/49 (both sizes
    ///   divide by 32) and the classifier from 1,280,000 to 12,800 MACs:
    ///   (59 M − 1.28 M) · 16/49 + 12,800 ≈ 18.86 M, within 2 % of our 18.95 M.
    @Test func mobileNetV2MatchesThePublishedFigures() throws {
        let w1 = ModelSummary(try ModelZoo.mobileNetV2(seed: 0, width: 1.0, resolution: 224, classes: 1000))
        print("mobilenetv2-w1.0 at 224/1000 classes: \(w1.parameters) parameters, \(w1.forwardMACs) MACs")
        #expect(w1.parameters + convChannels(w1) == 3_504_872)
        #expect(relativeError(w1.forwardMACs, 300e6) < 0.02)

        let full = ModelSummary(try ModelZoo.mobileNetV2(seed: 0, width: 0.35, resolution: 224, classes: 1000))
        print("mobilenetv2-w0.35 at 224/1000 classes: \(full.parameters) parameters, \(full.forwardMACs) MACs")
        #expect(full.parameters == 1_670_088)
        #expect(full.forwardMACs == 59_285_808)
        #expect(relativeError(full.parameters + convChannels(full), 1.7e6) < 0.02)
        #expect(relativeError(full.parameters, 1.7e6) < 0.02)
        #expect(relativeError(full.forwardMACs, 59e6) < 0.02)

        let small = ModelSummary(try ModelZoo.mobileNetV2(seed: 0, width: 0.35, resolution: 128, classes: 10))
        let classifierDifference = (1280 * 1000 + 1000) - (1280 * 10 + 10)
        #expect(small.parameters == full.parameters - classifierDifference)
        let classifierMACs = 1280 * 1000
        #expect((full.forwardMACs - classifierMACs) * 16 % 49 == 0, "conv MACs scale exactly by (128/224)²")
        #expect(small.forwardMACs == (full.forwardMACs - classifierMACs) * 16 / 49 + 1280 * 10)
        #expect(relativeError(small.forwardMACs, (59e6 - 1.28e6) * 16 / 49 + 12_800) < 0.02)
    }

    /// MLPerf Tiny reference models (Keras): ResNet-8 78,666 and DS-CNN 24,908
    /// parameters, batch-norms included. Folding removes 4 values per batch-normed
    /// channel (γ, β, mean, variance; the convs already have biases): 240 channels
    /// in ResNet-8, 9 × 64 in DS-CNN. MACs: ResNet-8 ≈ 12.5 M.
    @Test func mlperfTinyModelsMatchTheReference() throws {
        let resnet = ModelSummary(try ModelZoo.resNet8())
        #expect(resnet.parameters == 78_666 - 4 * 240)
        #expect(relativeError(resnet.parameters, 78e3) < 0.02)
        #expect(relativeError(resnet.forwardMACs, 12.5e6) < 0.02)
        #expect(resnet.layers.first { $0.name == "stage3.add" }?.output == [8, 8, 64])

        let dscnn = ModelSummary(try ModelZoo.dsCNN())
        #expect(dscnn.parameters == 24_908 - 4 * 9 * 64)
        #expect(dscnn.parameters >= 22_000 && dscnn.parameters <= 25_000)
        #expect(dscnn.layers.first { $0.name == "conv1" }?.output == [25, 5, 64])
        #expect(dscnn.layers.first { $0.name == "fc" }?.output == [12])
    }

    /// Layer names tell the structure: a reader of a memory table sees blocks and parts.
    @Test func layerNamesShowTheStructure() throws {
        let mbv2 = ModelSummary(try ModelZoo.mobileNetV2())
        let names = mbv2.layers.map(\.name)
        #expect(names.prefix(5) == ["stem", "stem.relu", "b1.dw", "b1.dw.relu", "b1.project"])
        #expect(names.contains("b3.expand") && names.contains("b3.expand.relu") && names.contains("b3.add"))
        #expect(!names.contains("b2.add"), "b2 downsamples, so it has no residual")
        #expect(names.contains("b17.project") && !names.contains("b18.dw"))
        #expect(names.suffix(5) == ["head", "head.relu", "pool", "fc", "loss"])
        #expect(mbv2.layers.first { $0.name == "b1.project" }?.output == [64, 64, 8])
        #expect(mbv2.layers.first { $0.name == "b17.project" }?.output == [4, 4, 112])
        #expect(mbv2.layers.first { $0.name == "head" }?.output == [4, 4, 1280])

        let mcunet = ModelSummary(try ModelZoo.mcunetLike())
        let kernels = Set(mcunet.layers.filter { $0.name.hasSuffix(".dw") }.map { $0.detail.prefix(3) })
        #expect(kernels == ["3×3", "5×5", "7×7"])
        #expect(mcunet.layers.first { $0.name == "b16.project" }?.output == [4, 4, 160])
    }

    /// `models/<name>.json` is exactly what the code writes, and loads back to the same graph.
    @Test(arguments: ModelZoo.names)
    func committedArchitectureJSON(_ name: String) throws {
        let model = try zooModel(name)
        let json = try ModelFile.architectureJSON(model)
        let url = URL(fileURLWithPath: Repo.path("models/\(name).json"))
        if ProcessInfo.processInfo.environment["SPARROW_RECORD_ZOO"] == "1" {
            try json.write(to: url, options: .atomic)
            print("recorded \(url.path)")
        }
        let committed = try Data(contentsOf: url)
        #expect(committed == json, "models/\(name).json differs from ModelFile.architectureJSON(ModelZoo.model(named: \"\(name)\")); rerun with SPARROW_RECORD_ZOO=1 if the change is intended")

        let loaded = try ModelFile.decode(architecture: committed, weights: nil, seed: 0, architectureFile: url.path)
        #expect(loaded.name == name)
        #expect(loaded.graph == model.graph)
    }

    @Test(arguments: ModelZoo.names)
    func derivesATrainingGraph(_ name: String) throws {
        let model = try zooModel(name)
        let training = try deriveTrainingGraph(model.graph, optimizer: .plainSGD)
        #expect(training.graph.ids.count > model.graph.ids.count)
    }
}
