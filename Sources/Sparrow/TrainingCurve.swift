import Foundation

/// Loss and accuracy over a training run: an exponential moving average of the
/// per-batch training figures, and the test figures at the end of each epoch.
/// Rendered as an SVG by ``svg()``.
///
/// Feed it the trainer's callbacks: ``record(_:)-(StepProgress)`` from
/// `trainEpoch`'s `progress`, ``record(_:)-(EpochReport)`` with the epoch's report.
public struct TrainingCurve: Sendable {
    /// One point per recorded batch: (epochs done as a fraction, smoothed batch loss,
    /// smoothed batch accuracy as a fraction in [0, 1]).
    public private(set) var running: [(epoch: Double, loss: Double, accuracy: Double)] = []
    /// The epoch reports recorded, in order; those with a `test` evaluation give the test points.
    public private(set) var epochs: [EpochReport] = []
    /// The prefix of both chart titles (`<title>: loss`, `<title>: accuracy`).
    public var title: String
    /// Weight of the newest batch in the moving average (use a value in (0, 1]; not
    /// checked); the first batch starts the average.
    public var smoothing = 0.05
    private var last = (epoch: -1, done: 0, loss: 0.0, correct: 0.0)
    private var average: (loss: Double, accuracy: Double)?

    /// An empty curve with this chart title.
    public init(title: String) { self.title = title }

    /// Records one batch from the trainer's progress (running means since the epoch began).
    ///
    /// Recovers the batch's own mean loss and accuracy from the difference with the
    /// previous report of the same epoch and adds one smoothed point to ``running``;
    /// a report with no new samples is ignored.
    public mutating func record(_ p: StepProgress) {
        if p.epoch != last.epoch { last = (p.epoch, 0, 0, 0) }
        let n = p.samplesDone - last.done
        guard n > 0 else { return }
        let lossSum = p.loss * Double(p.samplesDone), correct = p.accuracy * Double(p.samplesDone)
        let batch = (loss: (lossSum - last.loss) / Double(n), accuracy: (correct - last.correct) / Double(n))
        last = (p.epoch, p.samplesDone, lossSum, correct)
        var a = batch
        if let old = average {
            a = (smoothing * batch.loss + (1 - smoothing) * old.loss, smoothing * batch.accuracy + (1 - smoothing) * old.accuracy)
        }
        average = a
        running.append((Double(p.epoch) + Double(p.samplesDone) / Double(max(p.samplesTotal, 1)), a.loss, a.accuracy))
    }

    /// Records the end of an epoch: its test loss and accuracy, if it has them, become points at epoch `r.epoch + 1`.
    public mutating func record(_ r: EpochReport) { epochs.append(r) }

    /// Two charts side by side: loss and accuracy (%) against epochs.
    ///
    /// The x axis runs from 0 to the number of recorded epochs (at least 1).
    ///
    /// - Returns: A standalone `<svg>` document (960 × 300 pixels) ending in a newline.
    public func svg() -> String {
        let testLoss = epochs.compactMap { r in r.test.map { (x: Double(r.epoch + 1), y: $0.loss) } }
        let testAcc = epochs.compactMap { r in r.test.map { (x: Double(r.epoch + 1), y: $0.accuracy * 100) } }
        let loss = LineChart(title: "\(title): loss", xLabel: "epoch", yLabel: "loss", series: [
            .init(name: "train (moving average)", color: "#1f77b4", points: running.map { ($0.epoch, $0.loss) }),
            .init(name: "test", color: "#d62728", points: testLoss, dots: true),
        ], xRange: 0...Double(max(epochs.count, 1)))
        let acc = LineChart(title: "\(title): accuracy", xLabel: "epoch", yLabel: "accuracy (%)", series: [
            .init(name: "train (moving average)", color: "#1f77b4", points: running.map { ($0.epoch, $0.accuracy * 100) }),
            .init(name: "test", color: "#d62728", points: testAcc, dots: true),
        ], xRange: 0...Double(max(epochs.count, 1)), yRange: 0...100)
        return LineChart.document([loss, acc])
    }
}
