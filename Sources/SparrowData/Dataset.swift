/// A labelled set of equally shaped samples held in memory.
///
/// Samples are HWC (channels last, as on the device), stored back to back in
/// one contiguous `[Float]` of finite values (image loaders scale pixels to
/// [0, 1]; CSV and callers may normalise as they like); `labels[i]` belongs to the
/// `i`-th sample. A value type: copies share storage until one is modified.
///
/// Invariants (checked by `init`): `sampleShape` is non-empty with positive
/// extents; `samples.count == count * sampleElementCount`; every sample value
/// is finite; every label is in `0..<classCount`; `classNames`, when
/// present, has `classCount` entries.
public struct Dataset: Equatable, Sendable {
    /// Human-readable name used in summaries and errors (e.g. "fashion-mnist/train").
    public var name: String
    /// Shape of one sample, HWC, e.g. `[28, 28, 1]`.
    public let sampleShape: [Int]
    /// All samples, `count × sampleElementCount` finite values.
    public let samples: [Float]
    /// One label per sample, in `0..<classCount`.
    public let labels: [Int32]
    /// Number of classes (labels range over `0..<classCount`).
    public let classCount: Int
    /// Optional display names, one per class.
    public let classNames: [String]?

    /// Number of samples.
    public var count: Int { labels.count }
    /// Number of Float values in one sample (product of `sampleShape`).
    public let sampleElementCount: Int

    /// Builds a dataset from parts, checking every invariant.
    /// - Throws: `DataError` with `file` = `name` when an invariant fails.
    public init(
        name: String, sampleShape: [Int], samples: [Float], labels: [Int32],
        classCount: Int, classNames: [String]? = nil
    ) throws(DataError) {
        func fail(_ detail: String) -> DataError { DataError(file: name, .invalidArgument(detail)) }
        guard !sampleShape.isEmpty, sampleShape.allSatisfy({ $0 > 0 }) else {
            throw fail("sample shape \(sampleShape) must be non-empty with positive extents")
        }
        guard let elements = Dataset.elementCount(of: sampleShape) else {
            throw fail("sample shape \(sampleShape) is too large")
        }
        let (total, overflow) = elements.multipliedReportingOverflow(by: labels.count)
        guard !overflow, total == samples.count else {
            throw fail("\(samples.count) sample values for \(labels.count) labels of shape \(sampleShape)")
        }
        guard classCount > 0 else { throw fail("class count must be positive, got \(classCount)") }
        if let names = classNames, names.count != classCount {
            throw fail("\(names.count) class names for \(classCount) classes")
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw fail("sample value \(samples[bad]) at element \(bad) is not a finite number")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw DataError(file: name, .labelOutOfRange(index: bad, label: Int(labels[bad]), classCount: classCount))
        }
        self.init(unchecked: name, sampleShape: sampleShape, samples: samples, labels: labels, classCount: classCount,
                  classNames: classNames, elements: elements)
    }

    /// The values of sample `index` (HWC order). Traps if `index` is out of range, like an array.
    public func sample(at index: Int) -> ArraySlice<Float> {
        precondition(index >= 0 && index < count, "sample index \(index) outside 0..<\(count) of \(name)")
        return samples[(index * sampleElementCount)..<((index + 1) * sampleElementCount)]
    }

    /// Number of samples of each class, indexed by label.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// A short multi-line description: name, sample count, shape, and count per class.
    public var summary: String {
        var lines = ["\(name): \(count) samples of shape \(sampleShape), \(classCount) classes"]
        for (label, n) in classCounts.enumerated() {
            let title = classNames.map { " \($0[label])" } ?? ""
            lines.append("  \(label)\(title): \(n)")
        }
        return lines.joined(separator: "\n")
    }

    /// Product of `shape`, or nil when it overflows `Int` (shapes can come from files).
    static func elementCount(of shape: [Int]) -> Int? {
        var product = 1
        for extent in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            product = next
        }
        return product
    }
}
