import Foundation
import Testing
import Sparrow

@Suite struct ZooTrainingTests {
    private func shipped() throws -> (train: Dataset, test: Dataset) {
        let dir = Repo.path("datasets/fashion-mnist")
        let names = FashionMNIST.classNames
        let train = try Dataset.loadIDX(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz", classNames: names)
        let test = try Dataset.loadIDX(images: dir + "/t10k-images-idx3-ubyte.gz", labels: dir + "/t10k-labels-idx1-ubyte.gz", classNames: names)
        return (train, test)
    }

    @Test func smallCNNHasAbout22KParameters() throws {
        let m = try ModelZoo.smallCNN()
        #expect(m.parameterCount == 21_866)
        let s = ModelSummary(m)
        #expect(s.forwardMACs == 1_096_032)
        #expect(s.layers.map(\.name).prefix(3) == ["conv1", "relu1", "pool1"])
    }

    /// The short version of the demo: one epoch over the shipped subset. The full
    /// five epochs (≥ 85 %) run with SPARROW_LONG_TESTS=1 and in `sparrow demo`.
    @Test func trainingTheZooCNNOnTheShippedSubset() throws {
        let data = try shipped()
        #expect(data.train.count == 10_000 && data.test.count == 2_000)
        let long = ProcessInfo.processInfo.environment["SPARROW_LONG_TESTS"] == "1"
        var o = TrainingOptions()
        o.epochs = long ? 5 : 1
        o.learningRate = 0.002
        o.seed = 0
        let trainer = try Trainer(model: try ModelZoo.smallCNN(seed: 0), options: o)
        var report: EpochReport?
        for e in 0..<o.epochs { report = try trainer.trainEpoch(e, on: data.train, test: data.test) }
        let accuracy = try #require(report?.test?.accuracy)
        print("zoo CNN after \(o.epochs) epoch(s): test accuracy \(accuracy)")
        #expect(accuracy >= (long ? 0.85 : 0.80))
    }

    /// The pretrained weights shipped in models/ load and reach their recorded accuracy.
    @Test func shippedPretrainedModel() throws {
        let model = try ModelFile.load(architecture: URL(fileURLWithPath: Repo.path("models/cnn-small.json")),
                                       weights: URL(fileURLWithPath: Repo.path("models/cnn-small.safetensors")))
        #expect(model.graph == (try ModelZoo.smallCNN()).graph)
        var o = TrainingOptions()
        o.batchSize = 1
        let e = try Trainer(model: model, options: o).evaluate(try shipped().test)
        print("shipped cnn-small: test accuracy \(e.accuracy)")
        #expect(e.accuracy >= 0.85)
    }
}
