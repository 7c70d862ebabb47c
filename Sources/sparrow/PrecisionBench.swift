import Foundation
import Sparrow

/// The precision comparison of `sparrow bench --precision`: the pretrained zoo CNN
/// with a fresh classifier (pretrained features, new head, as in transfer
/// learning) fine-tuned through the same sparse spec in FP32, FP16 and INT8,
/// one sample per step with plain SGD, on the shipped Fashion-MNIST subset.
struct PrecisionBench {
    struct Row: Codable {
        var name: String
        var precision: String
        /// Test accuracy of the starting point (after quantization for INT8), and after fine-tuning.
        var accuracyBefore: Double
        var accuracyAfter: Double
        var peakSRAM: Int
        var samplesPerSecond: Double
        var seconds: Double
        /// FP16: optimizer steps skipped because a gradient overflowed, and the final loss scale.
        var skippedSteps: Int?
        var lossScale: Float?
    }

    var epochs = 1
    var learningRate: Float = 0.01
    var seed: UInt64 = 0

    /// Every configuration, FP32 first; `progress` sees each finished row.
    func run(progress: (Row) -> Void) throws -> [Row] {
        let pretrained = try Resources.loadModel("cnn-small", weights: Resources.root.appendingPathComponent("models/cnn-small.safetensors").path, seed: 0)
        guard let last = parameterizedLayers(pretrained.graph).last else { throw UsageError("cnn-small has no layer to re-initialise") }
        let head = pretrained.graph[last].name
        let model = try pretrained.reinitializing(layer: head, seed: seed)
        let data = try Resources.loadIDXDirectory(Resources.fashionMNIST, limitTrain: nil, limitTest: nil)
        let calibration = try calibrate(model, on: data.train, samples: PlanFlags.calibrationSamples)
        let configs: [(String, Precision, Accumulation, Bool)] = [
            ("fp32", .fp32, .fp32, true), ("fp16, fp32 accumulation", .fp16, .fp32, true),
            ("fp16, fp16 accumulation", .fp16, .fp16, true), ("int8 + QAS", .int8, .fp32, true), ("int8, no QAS", .int8, .fp32, false),
        ]
        var rows: [Row] = []
        for (name, precision, accumulation, qas) in configs {
            var c = CompileOptions()
            c.spec = DefaultSpecs.sparse(for: model)
            c.budget = 256 * 1024
            c.precision = precision
            c.accumulation = accumulation
            c.qas = qas
            c.calibration = calibration
            let plan = try compilePlan(model, options: c)
            var o = TrainingOptions()
            o.batchSize = 1
            o.optimizer = .plainSGD
            o.learningRate = learningRate
            o.epochs = epochs
            o.seed = seed
            let trainer = try Trainer(plan: plan, model: model, options: o)
            let before = trainer.evaluate(data.test).accuracy
            var bar = ProgressBar(title: name, total: epochs * data.train.count)
            let t0 = Date()
            for epoch in 0..<epochs {
                _ = try trainer.trainEpoch(epoch, on: data.train) { p in bar.update(epoch * data.train.count + p.samplesDone) }
            }
            let seconds = Date().timeIntervalSince(t0)
            bar.finish()
            let row = Row(name: name, precision: precision.rawValue, accuracyBefore: before, accuracyAfter: trainer.evaluate(data.test).accuracy,
                          peakSRAM: plan.memory.peakSRAM, samplesPerSecond: Double(epochs * data.train.count) / seconds, seconds: seconds,
                          skippedSteps: trainer.lossScaler?.skippedSteps, lossScale: trainer.lossScaler?.scale)
            progress(row)
            rows.append(row)
        }
        return rows
    }

    static func table(_ rows: [Row]) -> String {
        let reference = rows.first?.accuracyAfter ?? 0
        var t = Table(["plan", "test acc before", "test acc after", "vs fp32", "peak SRAM", "samples/s", "skipped steps"])
        for r in rows {
            t.add([r.name, percent(r.accuracyBefore), percent(r.accuracyAfter), String(format: "%+.2f pt", (r.accuracyAfter - reference) * 100),
                   kilobytes(r.peakSRAM), String(format: "%.0f", r.samplesPerSecond), r.skippedSteps.map { "\($0)" } ?? "–"])
        }
        return t.render()
    }
}
