import Foundation
import SparrowIR

/// What one parameterized layer (conv or linear) learns.
public enum LayerUpdate: Hashable, Sendable, Comparable {
    /// Nothing: weights and bias stay in flash.
    case frozen
    /// The bias only: the layer stores no input activation for the backward pass.
    case bias
    /// The bias and the weights of a fraction of the *input* channels (for a
    /// depthwise layer, of its channels), chosen by weight magnitude.
    case weights(Ratio)

    /// Full weight update.
    public static let allWeights = LayerUpdate.weights(.one)

    public static func < (a: LayerUpdate, b: LayerUpdate) -> Bool { a.rank < b.rank }

    private var rank: Double {
        switch self {
        case .frozen: return 0
        case .bias: return 0.5
        case .weights(let r): return 1 + r.value
        }
    }

    public var description: String {
        switch self {
        case .frozen: return "frozen"
        case .bias: return "bias"
        case .weights(let r): return r == .one ? "weights" : "weights \(r)"
        }
    }
}

/// A fraction p/q in (0, 1], such as 1, 1/2, 1/4, 1/8.
public struct Ratio: Hashable, Sendable, CustomStringConvertible {
    public let numerator: Int, denominator: Int

    public static let one = Ratio(1, 1)!

    /// Nil unless 0 < p/q ≤ 1.
    public init?(_ p: Int, _ q: Int) {
        guard p > 0, q > 0, p <= q else { return nil }
        var (a, b) = (p, q)
        while b != 0 { (a, b) = (b, a % b) }
        numerator = p / a
        denominator = q / a
    }

    /// Parses "1", "1/4", "0.25".
    public init?(parsing s: String) {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let p = Int(parts[0].trimmingCharacters(in: .whitespaces)), let q = Int(parts[1].trimmingCharacters(in: .whitespaces)) {
            self.init(p, q)
        } else if parts.count == 1, let v = Double(s), v > 0, v <= 1 {
            let q = 1 << 20
            self.init(Int((v * Double(q)).rounded()), q)
        } else {
            return nil
        }
    }

    public var value: Double { Double(numerator) / Double(denominator) }

    /// How many of `n` channels the ratio selects: ⌊n·p/q⌋, at least 1.
    public func count(of n: Int) -> Int { max(1, n * numerator / denominator) }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }
}
