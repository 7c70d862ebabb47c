import Foundation
import SparrowData
import SparrowIR

/// Figures of one epoch.
public struct EpochReport: Codable, Hashable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var test: Evaluation?
    /// Learning rate at the epoch's last step.
    public var learningRate: Float
    public var seconds: Double
    public var samplesPerSecond: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, test: Evaluation?, learningRate: Float,
                seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.test = test
        self.learningRate = learningRate
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }
}

/// Progress within an epoch, for progress bars.
public struct StepProgress: Sendable {
    public var epoch: Int
    public var samplesDone: Int
    public var samplesTotal: Int
    /// Running mean loss and accuracy over the epoch so far.
    public var loss: Double
    public var accuracy: Double

    public init(epoch: Int, samplesDone: Int, samplesTotal: Int, loss: Double, accuracy: Double) {
        self.epoch = epoch
        self.samplesDone = samplesDone
        self.samplesTotal = samplesTotal
        self.loss = loss
        self.accuracy = accuracy
    }
}

extension Trainer {
    /// Checks that a dataset fits the model: sample shape and label range.
    public func check(_ data: Dataset) throws(RuntimeError) {
        guard data.sampleShape == inputShape.dims else {
            throw .datasetMismatch("dataset '\(data.name)' has samples of \(Shape(data.sampleShape)), the model's input is \(inputShape)")
        }
        guard data.classCount <= classes else {
            throw .datasetMismatch("dataset '\(data.name)' has \(data.classCount) classes, the model predicts \(classes)")
        }
        guard data.count > 0 else { throw .datasetMismatch("dataset '\(data.name)' is empty") }
    }

    /// Optimizer steps in `epochs` epochs over `samples` samples.
    public func totalSteps(samples: Int) -> Int {
        options.epochs * ((samples + options.batchSize - 1) / options.batchSize)
    }

    /// Trains one epoch (0-based) over `data` in a seeded shuffled order, with the
    /// options' batch size, schedule and augmentation; evaluates on `test` if given.
    public func trainEpoch(_ epoch: Int, on data: Dataset, test: Dataset? = nil,
                           progress: (StepProgress) -> Void = { _ in }) throws(RuntimeError) -> EpochReport {
        try check(data)
        if let test { try check(test) }
        let start = Date()
        let order = data.epochOrder(seed: options.seed, epoch: epoch)
        let total = totalSteps(samples: data.count)
        var loss = 0.0, correct = 0, done = 0
        var rate = options.learningRate
        var shifted = [Float](repeating: 0, count: data.sampleElementCount)
        for batchStart in stride(from: 0, to: order.count, by: options.batchSize) {
            let batch = order[batchStart..<min(batchStart + options.batchSize, order.count)]
            rate = options.schedule.rate(base: options.learningRate, step: step, total: total)
            let r = trainBatch(count: batch.count, learningRate: rate) { k, feed in
                let i = batch[batch.startIndex + k]
                if options.augmentShift > 0 {
                    shifted = Augmentation.randomShift(data.sample(at: i), shape: data.sampleShape, maxShift: options.augmentShift,
                                                        seed: SeedMixer.derive(options.seed, epoch, i))
                    shifted.withUnsafeBufferPointer { feed($0, data.labels[i]) }
                } else {
                    data.sample(at: i).withUnsafeBufferPointer { feed($0, data.labels[i]) }
                }
            }
            guard r.loss.isFinite else { throw .diverged(step: step, loss: Float(r.loss)) }
            loss += r.loss
            correct += r.correct
            done += batch.count
            progress(StepProgress(epoch: epoch, samplesDone: done, samplesTotal: order.count,
                                  loss: loss / Double(done), accuracy: Double(correct) / Double(done)))
        }
        let seconds = Date().timeIntervalSince(start)
        return EpochReport(epoch: epoch, trainLoss: loss / Double(done), trainAccuracy: Double(correct) / Double(done),
                           test: test.map { evaluate($0) }, learningRate: rate, seconds: seconds,
                           samplesPerSecond: Double(done) / max(seconds, 1e-9))
    }

    /// Loss, accuracy and confusion matrix of the current weights on `data`.
    public func evaluate(_ data: Dataset) -> Evaluation {
        evaluate(count: data.count) { i, feed in
            data.sample(at: i).withUnsafeBufferPointer { feed($0, data.labels[i]) }
        }
    }

    /// Trains `steps` batch-1 steps at a constant `learningRate`, sample k = step
    /// mod count, as an exported harness or the emulated device does; returns
    /// each step's loss.
    public func trainSteps(_ steps: Int, samples: [[Float]], labels: [Int32], learningRate: Float) -> [Float] {
        precondition(!samples.isEmpty && samples.count == labels.count, "trainSteps: one label per sample")
        return (0..<steps).map { s in
            let k = s % samples.count
            return Float(trainBatch(count: 1, learningRate: learningRate) { _, feed in
                samples[k].withUnsafeBufferPointer { feed($0, labels[k]) }
            }.loss)
        }
    }
}
