import SparrowIR

/// Data augmentation as pure functions on one HWC sample: same input and seed,
/// same output, and the shape never changes.
public enum Augmentation {
    /// `sample` (shape `shape`, HWC) moved down by `dy` and right by `dx`
    /// pixels; pixels moved in from outside are 0 and pixels moved out are lost.
    /// Negative offsets move up / left. All channels move together.
    /// - Precondition: `shape` has 3 positive extents and `sample.count` equals their product.
    public static func shift(_ sample: ArraySlice<Float>, shape: [Int], dy: Int, dx: Int) -> [Float] {
        precondition(shape.count == 3 && shape.allSatisfy { $0 > 0 }, "shift needs an HWC shape, got \(shape)")
        let (height, width, channels) = (shape[0], shape[1], shape[2])
        precondition(sample.count == height * width * channels, "sample has \(sample.count) values, shape \(shape)")
        var out = [Float](repeating: 0, count: sample.count)
        // Rows/columns of the output that receive a pixel from inside the input.
        // Shifts of a full extent or more leave nothing, so clamp before forming ranges.
        let (top, bottom) = (max(0, dy), min(height, height + dy))
        let (left, right) = (max(0, dx), min(width, width + dx))
        guard top < bottom, left < right else { return out }
        let rows = top..<bottom
        let columns = left..<right
        let base = sample.startIndex
        let span = columns.count * channels
        for y in rows {
            let to = (y * width + columns.lowerBound) * channels
            let from = base + ((y - dy) * width + columns.lowerBound - dx) * channels
            out.replaceSubrange(to..<(to + span), with: sample[from..<(from + span)])
        }
        return out
    }

    /// `shift` for a whole-array sample.
    public static func shift(_ sample: [Float], shape: [Int], dy: Int, dx: Int) -> [Float] {
        shift(sample[...], shape: shape, dy: dy, dx: dx)
    }

    /// `sample` shifted by offsets drawn uniformly from `-maxShift...maxShift`
    /// (vertical first, then horizontal) from a generator seeded with `seed`.
    /// Use `SeedMixer.derive(seed, epoch, index)` to give every sample of every
    /// epoch its own seed.
    /// - Precondition: `maxShift >= 0`, plus those of `shift`.
    public static func randomShift(_ sample: ArraySlice<Float>, shape: [Int], maxShift: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return randomShift(sample, shape: shape, maxShift: maxShift, using: &generator)
    }

    /// `randomShift` drawing its two offsets from `generator`.
    public static func randomShift(
        _ sample: ArraySlice<Float>, shape: [Int], maxShift: Int, using generator: inout SeededGenerator
    ) -> [Float] {
        precondition(maxShift >= 0, "maxShift must be non-negative, got \(maxShift)")
        let dy = generator.nextInt(below: 2 * maxShift + 1) - maxShift
        let dx = generator.nextInt(below: 2 * maxShift + 1) - maxShift
        return shift(sample, shape: shape, dy: dy, dx: dx)
    }
}
