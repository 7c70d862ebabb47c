import Sparrow

/// Options shared by `train`, `demo` and `bench`: how to train.
enum TrainingFlags {
    static let specs: [OptionSpec] = [
        OptionSpec(name: "epochs", valueName: "N", help: "Passes over the training set.", defaultValue: "5"),
        OptionSpec(name: "batch", valueName: "N", help: "Samples per optimizer step (gradient accumulation over batch-1 steps).", defaultValue: "32"),
        OptionSpec(name: "lr", valueName: "RATE", help: "Base learning rate.", defaultValue: "0.002"),
        OptionSpec(name: "optimizer", valueName: "NAME", help: "sgd, momentum or adam.", defaultValue: "adam"),
        OptionSpec(name: "momentum", valueName: "MU", help: "Momentum for --optimizer momentum.", defaultValue: "0.9"),
        OptionSpec(name: "weight-decay", valueName: "WD", help: "L2 weight decay.", defaultValue: "0"),
        OptionSpec(name: "schedule", valueName: "NAME", help: "Learning-rate schedule: constant or cosine.", defaultValue: "cosine"),
        OptionSpec(name: "augment-shift", valueName: "PX", help: "Random shift of training images by up to PX pixels.", defaultValue: "0"),
        OptionSpec(name: "seed", valueName: "N", help: "Seed for initialisation, shuffling and augmentation.", defaultValue: "0"),
        OptionSpec(name: "cores", valueName: "N", help: "Kernel cores each call is split over (same result for any N).", defaultValue: "1"),
        OptionSpec(name: "loss-scale", valueName: "S", help: "FP16 plans: 'dynamic' (start at 32768, halve on overflow, double after 2000 clean steps) or a fixed power of two.", defaultValue: "dynamic"),
    ]

    static func options(_ a: Arguments) throws(UsageError) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = try a.int("epochs") ?? o.epochs
        o.batchSize = try a.int("batch") ?? o.batchSize
        o.learningRate = try a.float("lr") ?? o.learningRate
        o.augmentShift = try a.int("augment-shift") ?? 0
        o.cores = try a.int("cores") ?? 1
        guard let seed = UInt64(a.string("seed") ?? "0") else { throw UsageError("--seed must be a non-negative integer") }
        o.seed = seed
        let wd = try a.float("weight-decay") ?? 0
        let momentum = try a.float("momentum") ?? 0.9
        switch a.string("optimizer") ?? "adam" {
        case "sgd": o.optimizer = .sgd(weightDecay: wd)
        case "momentum": o.optimizer = .momentum(momentum: momentum, weightDecay: wd)
        case "adam": o.optimizer = .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: wd)
        case let other: throw UsageError("--optimizer must be sgd, momentum or adam, got '\(other)'")
        }
        switch a.string("schedule") ?? "cosine" {
        case "constant": o.schedule = .constant
        case "cosine": o.schedule = .cosine(floor: 0.05)
        case let other: throw UsageError("--schedule must be constant or cosine, got '\(other)'")
        }
        switch a.string("loss-scale") ?? "dynamic" {
        case "dynamic": o.lossScaling = a.isGiven("loss-scale") ? .standardDynamic : nil
        case let text:
            guard let s = Float(text), s >= 1, s.isFinite, s.significandBitPattern == 0 else {
                throw UsageError("--loss-scale must be 'dynamic' or a power of two ≥ 1, got '\(text)'")
            }
            o.lossScaling = LossScaler(mode: .static, initial: s)
        }
        do { try o.validate() } catch { throw UsageError(error.description) }
        return o
    }
}
