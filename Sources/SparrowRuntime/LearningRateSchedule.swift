import Foundation

/// Learning rate as a function of the optimizer step.
public enum LearningRateSchedule: Hashable, Sendable {
    /// The base rate at every step.
    case constant
    /// Cosine decay from the base rate to `floor × base` over the run (no restarts).
    case cosine(floor: Float)

    /// Rate at optimizer step `step` (0-based) of `total` steps.
    public func rate(base: Float, step: Int, total: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .cosine(let floor):
            guard total > 1 else { return base }
            let progress = Double(min(step, total - 1)) / Double(total - 1)
            let f = Double(floor) + (1 - Double(floor)) * 0.5 * (1 + cos(Double.pi * progress))
            return Float(Double(base) * f)
        }
    }

    public var name: String {
        switch self {
        case .constant: return "constant"
        case .cosine: return "cosine"
        }
    }
}
