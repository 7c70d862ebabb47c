/// Loss, accuracy and confusion matrix of a model on a labelled set.
public struct Evaluation: Hashable, Sendable, Codable {
    public var samples: Int
    /// Mean loss per sample.
    public var loss: Double
    /// Fraction of samples whose arg-max prediction equals the label, in [0, 1].
    public var accuracy: Double
    /// `confusion[label][predicted]` counts.
    public var confusion: [[Int]]

    public init(classes: Int) {
        samples = 0
        loss = 0
        accuracy = 0
        confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    /// Per-class recall (fraction of that class predicted correctly); nil for an absent class.
    public var recall: [Double?] {
        confusion.enumerated().map { c, row in
            let total = row.reduce(0, +)
            return total == 0 ? nil : Double(row[c]) / Double(total)
        }
    }
}

/// Index of the largest value (the first on ties).
func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in v.indices where v[i] > v[best] { best = i }
    return best
}
