/// Loss scaling for FP16 training: the loss gradient is multiplied by `scale`
/// so that small gradients stay representable in binary16, and the update divides
/// it out again (through the kernels' `grad_scale`).
///
/// Static scaling keeps one scale. Dynamic scaling lowers the scale when a step's
/// gradients overflow and raises it again after `growthInterval` clean steps.
/// An overflowing gradient is never applied: its update and every later update of
/// that step are skipped (with updates deferred to the end of the step, the whole
/// step; with updates right after each gradient, the layers updated before the
/// overflow keep their finite updates). Every decision is recorded so a run can
/// report how many steps overflowed — never silent NaN weights.
public struct LossScaler: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        case `static`
        /// Halve on overflow (not below `minimum`), double after `growthInterval` clean steps (not above `maximum`).
        case dynamic(growthInterval: Int, minimum: Float, maximum: Float)
    }

    public let mode: Mode
    /// The current scale, a power of two so scaling is exact.
    public private(set) var scale: Float
    public private(set) var skippedSteps = 0
    public private(set) var appliedSteps = 0
    private var cleanSteps = 0

    /// - Parameter initial: rounded down to a power of two.
    public init(mode: Mode, initial: Float = 32768) {
        self.mode = mode
        let exponent = initial >= 1 ? Int(initial.exponent) : 0
        scale = Float(sign: .plus, exponent: exponent, significand: 1)
    }

    public static let standardDynamic = LossScaler(mode: .dynamic(growthInterval: 2000, minimum: 1, maximum: 65536))

    /// Records a step whose gradients did (or did not) contain a NaN or infinity.
    /// - Returns: whether the step's update may be applied.
    public mutating func record(overflow: Bool) -> Bool {
        guard overflow else {
            appliedSteps += 1
            cleanSteps += 1
            if case .dynamic(let interval, _, let maximum) = mode, cleanSteps >= interval, scale * 2 <= maximum {
                scale *= 2
                cleanSteps = 0
            }
            return true
        }
        skippedSteps += 1
        cleanSteps = 0
        if case .dynamic(_, let minimum, _) = mode, scale / 2 >= minimum { scale /= 2 }
        return false
    }

    /// The state a checkpoint keeps: scale bits and the step counters.
    var checkpointState: [String: String] {
        ["loss_scale": "\(scale.bitPattern)", "loss_scale_skipped": "\(skippedSteps)", "loss_scale_applied": "\(appliedSteps)",
         "loss_scale_clean": "\(cleanSteps)"]
    }

    /// Restores `checkpointState`; false if a field is missing or malformed.
    mutating func restore(_ state: [String: String]) -> Bool {
        guard let bits = state["loss_scale"].flatMap(UInt32.init), let skipped = state["loss_scale_skipped"].flatMap(Int.init),
              let applied = state["loss_scale_applied"].flatMap(Int.init), let clean = state["loss_scale_clean"].flatMap(Int.init),
              Float(bitPattern: bits) >= 1, Float(bitPattern: bits).isFinite else { return false }
        (scale, skippedSteps, appliedSteps, cleanSteps) = (Float(bitPattern: bits), skipped, applied, clean)
        return true
    }

    /// Factor the update multiplies the scaled gradient by (1 / scale, exact).
    public var gradientFactor: Float { 1 / scale }
}
