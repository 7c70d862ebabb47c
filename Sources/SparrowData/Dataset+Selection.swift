import SparrowIR

extension Dataset {
    /// The samples at `indices`, in that order (repeats allowed).
    /// Traps on an index outside `0..<count`, like an array subscript: indices
    /// come from the program, not from a file.
    public func subset(_ indices: some Sequence<Int>, name: String? = nil) -> Dataset {
        var newSamples: [Float] = []
        var newLabels: [Int32] = []
        newSamples.reserveCapacity(indices.underestimatedCount * sampleElementCount)
        for i in indices {
            newSamples.append(contentsOf: sample(at: i))
            newLabels.append(labels[i])
        }
        // Parts of a valid dataset form a valid dataset, so the checks cannot fail.
        return Dataset(
            unchecked: name ?? self.name, sampleShape: sampleShape, samples: newSamples,
            labels: newLabels, classCount: classCount, classNames: classNames, elements: sampleElementCount)
    }

    /// The first `perClass` samples of every class, kept in their original order.
    /// - Throws: `.invalidArgument` when `perClass` is negative or some class has fewer samples.
    public func balancedSubset(perClass: Int, name: String? = nil) throws(DataError) -> Dataset {
        guard perClass >= 0 else { throw DataError(file: self.name, .invalidArgument("perClass \(perClass) is negative")) }
        let counts = classCounts
        if let short = counts.firstIndex(where: { $0 < perClass }) {
            throw DataError(file: self.name, .invalidArgument(
                "class \(short) has \(counts[short]) samples, fewer than the \(perClass) requested"))
        }
        var taken = [Int](repeating: 0, count: classCount)
        var chosen: [Int] = []
        chosen.reserveCapacity(perClass * classCount)
        for (i, label) in labels.enumerated() where taken[Int(label)] < perClass {
            taken[Int(label)] += 1
            chosen.append(i)
        }
        return subset(chosen, name: name)
    }

    /// Splits into training and validation parts, chosen by a seeded shuffle.
    ///
    /// The validation part has `round(validationFraction × count)` samples. With
    /// `stratified` (the default) they are apportioned over classes in proportion
    /// to class sizes (largest remainder, ties to the lower label), so small
    /// datasets keep their class balance; otherwise they are drawn from the
    /// whole set. Both parts keep the original order, every sample lands in
    /// exactly one part, and the same seed gives the same split.
    /// - Throws: `.invalidArgument` when `validationFraction` is not in [0, 1].
    public func split(
        validationFraction: Double, seed: UInt64, stratified: Bool = true
    ) throws(DataError) -> (train: Dataset, validation: Dataset) {
        guard validationFraction >= 0, validationFraction <= 1 else {
            throw DataError(file: name, .invalidArgument("validation fraction \(validationFraction) is not in [0, 1]"))
        }
        var groups: [[Int]] = [Array(labels.indices)]
        if stratified {
            groups = Array(repeating: [], count: classCount)
            for (i, label) in labels.enumerated() { groups[Int(label)].append(i) }
        }
        let quotas = Dataset.apportion(
            Int((validationFraction * Double(count)).rounded()), over: groups.map(\.count))
        var generator = SeededGenerator(seed: seed)
        var isValidation = [Bool](repeating: false, count: count)
        for (k, var group) in groups.enumerated() {
            Dataset.shuffle(&group, using: &generator)
            for i in group.prefix(quotas[k]) { isValidation[i] = true }
        }
        let train = subset(isValidation.indices.filter { !isValidation[$0] }, name: name + "/train")
        let validation = subset(isValidation.indices.filter { isValidation[$0] }, name: name + "/validation")
        return (train, validation)
    }

    /// Splits `total` (≤ sum of `sizes`) into parts proportional to `sizes`:
    /// floors first, then one more for the largest fractional remainders.
    static func apportion(_ total: Int, over sizes: [Int]) -> [Int] {
        let all = sizes.reduce(0, +)
        guard all > 0 else { return sizes.map { _ in 0 } }
        let exact = sizes.map { Double(total) * Double($0) / Double(all) }
        var parts = zip(exact, sizes).map { min(Int($0.0.rounded(.down)), $0.1) }
        let byRemainder = sizes.indices.sorted {
            let (a, b) = (exact[$0] - Double(parts[$0]), exact[$1] - Double(parts[$1]))
            return a != b ? a > b : $0 < $1
        }
        var missing = total - parts.reduce(0, +)
        for k in byRemainder where missing > 0 && parts[k] < sizes[k] {
            parts[k] += 1
            missing -= 1
        }
        return parts
    }

    /// Fisher–Yates with `SeededGenerator`, so an order depends only on the seed
    /// (the standard library's `shuffle` does not promise a fixed algorithm).
    static func shuffle(_ values: inout [Int], using generator: inout SeededGenerator) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, generator.nextInt(below: i + 1))
        }
    }

    /// Internal fast path for parts of an already valid dataset.
    init(
        unchecked name: String, sampleShape: [Int], samples: [Float], labels: [Int32],
        classCount: Int, classNames: [String]?, elements: Int
    ) {
        self.name = name
        self.sampleShape = sampleShape
        self.samples = samples
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
        self.sampleElementCount = elements
    }
}
