import Foundation
import Testing
@testable import SparrowRuntime
import SparrowAutodiff
import SparrowData
import SparrowIR
import SparrowPlanner

/// A small CNN and a learnable synthetic task: the class is which quadrant of the
/// image holds a bright blob.
enum Fixture {
    static func model(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "quad", seed: seed)
        var x = try b.input(Shape(8, 8, 1))
        x = try b.relu(try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1))
        x = try b.maxPool2d(x, kernel: 2)
        x = try b.relu(try b.depthwiseConv2d(x, kernel: 3, padding: 1))
        x = try b.linear(try b.flatten(x), outFeatures: 4)
        return try b.softmaxCrossEntropy(x)
    }

    static func data(count: Int, seed: UInt64) throws -> Dataset {
        var rng = SeededGenerator(seed: seed)
        var samples = [Float](), labels = [Int32]()
        for _ in 0..<count {
            let c = rng.nextInt(below: 4)
            var img = (0..<64).map { _ in rng.nextUnitFloat() * 0.2 }
            let (r0, c0) = (c / 2 * 4, c % 2 * 4)
            for r in 0..<4 { for k in 0..<4 { img[(r0 + r) * 8 + c0 + k] += 0.8 } }
            samples += img
            labels.append(Int32(c))
        }
        return try Dataset(name: "quadrants", sampleShape: [8, 8, 1], samples: samples, labels: labels, classCount: 4, classNames: nil)
    }

    static func options(batch: Int = 8, optimizer: Optimizer = .defaultAdam, cores: Int = 1) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 3
        o.batchSize = batch
        o.learningRate = 0.01
        o.optimizer = optimizer
        o.cores = cores
        o.seed = 3
        return o
    }
}

@Suite struct TrainerTests {
    @Test func learnsASyntheticTask() throws {
        let data = try Fixture.data(count: 400, seed: 1)
        let test = try Fixture.data(count: 200, seed: 2)
        for optimizer in [Optimizer.defaultAdam, .momentum(momentum: 0.9, weightDecay: 1e-4), .sgd(weightDecay: 0)] {
            let trainer = try Trainer(model: try Fixture.model(seed: 1), options: Fixture.options(optimizer: optimizer))
            let before = trainer.evaluate(test)
            var last: EpochReport?
            for e in 0..<3 { last = try trainer.trainEpoch(e, on: data, test: test) }
            let after = try #require(last?.test)
            print("\(optimizer.name): accuracy \(before.accuracy) -> \(after.accuracy), loss \(before.loss) -> \(after.loss)")
            #expect(after.loss < before.loss * 0.5)
            #expect(after.accuracy > 0.9)
            #expect(after.confusion.joined().reduce(0, +) == test.count)
        }
    }

    @Test func sameSeedSameBitsAnyCoreCount() throws {
        let data = try Fixture.data(count: 64, seed: 4)
        var results: [[String: Tensor]] = []
        for cores in [1, 1, 2, 3, 8] {
            let trainer = try Trainer(model: try Fixture.model(seed: 5), options: Fixture.options(cores: cores))
            _ = try trainer.trainEpoch(0, on: data)
            results.append(trainer.model.weights)
        }
        for r in results.dropFirst() { #expect(r == results[0]) }
    }

    /// A batch of two with plain SGD moves the weights by the mean of the two samples' gradients.
    @Test func gradientAccumulationAveragesTheBatch() throws {
        let model = try Fixture.model(seed: 6)
        let data = try Fixture.data(count: 2, seed: 7)
        let lr: Float = 0.1
        let t = try deriveTrainingGraph(model.graph, optimizer: .plainSGD)
        var grads: [[NodeID: [Float]]] = []
        for i in 0..<2 {
            let e = try Executor(graph: t.graph, weights: model.weights, pinned: Set(t.gradients.values))
            e.write(Array(data.sample(at: i)), to: t.graph.ids(where: { $0 == .input })[0])
            e.write(int32: [data.labels[i]], to: t.graph.ids(where: { $0 == .label })[0])
            e.run(t.graph.ids, context: StepContext(), updates: false)
            grads.append(t.gradients.mapValues { e.read($0) })
        }
        var o = Fixture.options(batch: 2, optimizer: .plainSGD)
        o.learningRate = lr
        o.schedule = .constant
        let trainer = try Trainer(model: model, options: o)
        _ = trainer.trainBatch(count: 2, learningRate: lr) { k, feed in
            data.sample(at: k).withUnsafeBufferPointer { feed($0, data.labels[k]) }
        }
        let trained = trainer.model.weights
        for (p, _) in t.gradients {
            let name = t.graph[p].name
            let w0 = model.weights[name]!.scalars
            for i in w0.indices {
                let expected = w0[i] - lr * ((grads[0][p]![i] + grads[1][p]![i]) * 0.5)
                #expect(abs(trained[name]!.scalars[i] - expected) <= 1e-6 * max(1, abs(expected)), "\(name)[\(i)]")
            }
        }
    }

    /// In-place reuse and flash placement change where tensors live, never the bits.
    @Test func placementDoesNotChangeResults() throws {
        let model = try Fixture.model(seed: 11)
        let data = try Fixture.data(count: 8, seed: 12)
        let t = try deriveTrainingGraph(model.graph, optimizer: .defaultAdam)
        var results: [[String: Tensor]] = []
        for (inPlace, flash) in [(false, false), (true, false), (true, true)] {
            let e = try Executor(graph: t.graph, weights: model.weights, frozenInFlash: flash, inPlace: inPlace)
            try verifyMemoryPlan(e.plan, for: t.graph)
            var power: Float = 1
            for i in 0..<data.count {
                power *= 0.9
                e.write(Array(data.sample(at: i)), to: t.graph.ids(where: { $0 == .input })[0])
                e.write(int32: [data.labels[i]], to: t.graph.ids(where: { $0 == .label })[0])
                e.run(t.graph.ids, context: StepContext(learningRate: 0.01, biasCorrection1: 1 - power, biasCorrection2: 0.01), updates: true)
            }
            results.append(e.weights())
        }
        #expect(results[1] == results[0])
        #expect(results[2] == results[0])
    }

    @Test func checkpointResumesBitIdentically() throws {
        let data = try Fixture.data(count: 48, seed: 8)
        let straight = try Trainer(model: try Fixture.model(seed: 9), options: Fixture.options())
        _ = try straight.trainEpoch(0, on: data)
        _ = try straight.trainEpoch(1, on: data)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-ckpt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let first = try Trainer(model: try Fixture.model(seed: 9), options: Fixture.options())
        _ = try first.trainEpoch(0, on: data)
        try first.saveCheckpoint(to: url, epoch: 1)
        let resumed = try Trainer(model: try Fixture.model(seed: 9), options: Fixture.options())
        #expect(try resumed.loadCheckpoint(from: url) == 1)
        _ = try resumed.trainEpoch(1, on: data)
        #expect(resumed.model.weights == straight.model.weights)
    }

    @Test func arenaIsExactlyThePlannedSizeAndSound() throws {
        let trainer = try Trainer(model: try Fixture.model(seed: 1), options: Fixture.options())
        #expect(trainer.arenaBytes == trainer.executor.plan.peakSRAM)
        try verifyMemoryPlan(trainer.executor.plan, for: trainer.training.graph)
    }

    @Test func mismatchedDataIsAClearError() throws {
        let trainer = try Trainer(model: try Fixture.model(seed: 1), options: Fixture.options())
        let wrong = try Dataset(name: "wrong", sampleShape: [4, 4, 1], samples: [Float](repeating: 0, count: 16), labels: [0],
                                classCount: 1, classNames: nil)
        #expect(throws: RuntimeError.self) { try trainer.trainEpoch(0, on: wrong) }
        var o = Fixture.options()
        o.batchSize = 0
        #expect(throws: RuntimeError.self) { try Trainer(model: try Fixture.model(seed: 1), options: o) }
    }

    @Test func cosineScheduleDecaysToItsFloor() {
        let s = LearningRateSchedule.cosine(floor: 0.1)
        #expect(s.rate(base: 1, step: 0, total: 11) == 1)
        #expect(abs(s.rate(base: 1, step: 5, total: 11) - 0.55) < 1e-6)
        #expect(abs(s.rate(base: 1, step: 10, total: 11) - 0.1) < 1e-6)
        #expect(LearningRateSchedule.constant.rate(base: 0.3, step: 7, total: 10) == 0.3)
    }
}
