import SparrowIR

/// Derives independent seeds from one user seed (DESIGN.md invariant 6): the
/// same (seed, a, b) always gives the same value, different inputs give
/// unrelated streams, so epochs and samples never share random draws.
public enum SeedMixer {
    /// A 64-bit seed derived from `seed` and the stream coordinates `a`, `b`.
    public static func derive(_ seed: UInt64, _ a: Int, _ b: Int = 0) -> UInt64 {
        // Each step runs the value through SplitMix64 before folding in the next
        // coordinate, so nearby inputs (epoch 1 vs 2) give unrelated outputs.
        var g = SeededGenerator(seed: seed)
        var h = SeededGenerator(seed: g.next() ^ UInt64(bitPattern: Int64(a)))
        var k = SeededGenerator(seed: h.next() ^ UInt64(bitPattern: Int64(b)))
        return k.next()
    }
}

extension Dataset {
    /// The order in which to visit samples during `epoch`: a permutation of
    /// `0..<count` that depends only on `(seed, epoch, count)`.
    public func epochOrder(seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0..<count)
        var generator = SeededGenerator(seed: SeedMixer.derive(seed, epoch))
        Dataset.shuffle(&order, using: &generator)
        return order
    }

    /// The samples and labels at `indices`, packed back to back (a batch).
    public func gather(_ indices: some Collection<Int>) -> (samples: [Float], labels: [Int32]) {
        var values: [Float] = []
        values.reserveCapacity(indices.count * sampleElementCount)
        var batchLabels: [Int32] = []
        batchLabels.reserveCapacity(indices.count)
        for i in indices {
            values.append(contentsOf: sample(at: i))
            batchLabels.append(labels[i])
        }
        return (values, batchLabels)
    }
}

/// An order cut into consecutive batches of `batchSize` indices; the last
/// batch holds the remainder (fewer than `batchSize`) unless `dropPartial`.
///
/// Example: 10 indices, size 4 → batches of 4, 4, 2 (or 4, 4 with `dropPartial`).
public struct BatchSequence: RandomAccessCollection, Sendable {
    /// The full visiting order being batched.
    public let order: [Int]
    /// Indices per batch (positive).
    public let batchSize: Int
    /// Whether a final batch smaller than `batchSize` is left out.
    public let dropPartial: Bool

    /// - Precondition: `batchSize > 0`.
    public init(order: [Int], batchSize: Int, dropPartial: Bool = false) {
        precondition(batchSize > 0, "batch size must be positive, got \(batchSize)")
        self.order = order
        self.batchSize = batchSize
        self.dropPartial = dropPartial
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        dropPartial ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// Batch `position`: a slice of `order`.
    public subscript(position: Int) -> ArraySlice<Int> {
        precondition(position >= 0 && position < endIndex, "batch \(position) outside 0..<\(endIndex)")
        let start = position * batchSize
        return order[start..<Swift.min(start + batchSize, order.count)]
    }
}

extension Dataset {
    /// Seeded shuffled batches for `epoch`: `epochOrder(seed:epoch:)` cut into batches of `batchSize`.
    public func batches(batchSize: Int, seed: UInt64, epoch: Int, dropPartial: Bool = false) -> BatchSequence {
        BatchSequence(order: epochOrder(seed: seed, epoch: epoch), batchSize: batchSize, dropPartial: dropPartial)
    }
}
