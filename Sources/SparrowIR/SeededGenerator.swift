import Foundation

/// A deterministic pseudo-random generator (SplitMix64) so that a seed fixes every
/// random choice Sparrow makes: weight initialisation, shuffling, augmentation
/// (DESIGN.md invariant 6). Same seed, same sequence, on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits of resolution, exactly representable in Float.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, n), without modulo bias. `n` must be positive.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs a positive bound")
        return Int(next(upperBound: UInt64(n)))
    }

    /// Standard normal sample (Box–Muller, one of the pair), computed in Double.
    public mutating func nextGaussian() -> Double {
        let u1 = Double(next() >> 11) * 0x1.0p-53
        let u2 = Double(next() >> 11) * 0x1.0p-53
        let r = (-2.0 * Foundation.log(max(u1, 0x1.0p-60))).squareRoot()
        return r * Foundation.cos(2.0 * Double.pi * u2)
    }
}
