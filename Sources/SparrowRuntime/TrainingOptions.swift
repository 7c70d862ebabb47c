import SparrowAutodiff
import SparrowIR

/// How to train: optimizer, schedule, batching and randomness.
public struct TrainingOptions: Hashable, Sendable {
    public var epochs: Int = 5
    /// Samples per optimizer step. The graph runs one sample at a time (batch 1, as
    /// on a device); a batch accumulates the gradients of its samples and applies
    /// one update with the mean gradient.
    public var batchSize: Int = 32
    public var learningRate: Float = 1e-3
    public var schedule: LearningRateSchedule = .cosine(floor: 0.05)
    public var optimizer: Optimizer = .defaultAdam
    /// Fixes the shuffling and augmentation order (and initialisation when the
    /// model is created from an architecture alone).
    public var seed: UInt64 = 0
    /// Random shift of each training image by up to this many pixels (0 = off).
    public var augmentShift: Int = 0
    /// Kernel cores each call is split over on the host (the result does not depend on it).
    public var cores: Int = 1
    /// Which layers learn what (all of every layer by default).
    public var spec: UpdateSpec = .full
    /// Loss scaling of FP16 plans; nil chooses dynamic scaling (`LossScaler.standardDynamic`)
    /// for FP16 plans. FP32 and INT8 plans take no loss scale.
    public var lossScaling: LossScaler?

    public init() {}

    /// Checks the numbers a user can get wrong; the message names the option.
    public func validate() throws(RuntimeError) {
        guard epochs >= 1 else { throw .invalidOption("epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw .invalidOption("batch size must be at least 1, got \(batchSize)") }
        guard learningRate.isFinite, learningRate > 0 else { throw .invalidOption("learning rate must be a positive number, got \(learningRate)") }
        guard augmentShift >= 0, augmentShift < 16 else { throw .invalidOption("augment shift must be in 0..<16 pixels, got \(augmentShift)") }
        guard (1...64).contains(cores) else { throw .invalidOption("cores must be in 1...64, got \(cores)") }
    }
}

/// Errors of training and evaluation; each names what is wrong.
public enum RuntimeError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidOption(String)
    case model(String)
    case datasetMismatch(String)
    case diverged(step: Int, loss: Float)
    case io(String)

    public var description: String {
        switch self {
        case .invalidOption(let m): return m
        case .model(let m): return m
        case .datasetMismatch(let m): return m
        case .diverged(let s, let l): return "training diverged at step \(s) (loss \(l)); lower the learning rate"
        case .io(let m): return m
        }
    }
}
