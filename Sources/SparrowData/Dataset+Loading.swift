extension Dataset {
    /// Loads an image file and a label file in IDX format (plain or gzip).
    ///
    /// Images must be ubyte `[N, H, W]` (one channel) or `[N, H, W, C]`; labels
    /// ubyte `[N]`. Pixels are scaled by 1/255 into [0, 1].
    /// - Parameters:
    ///   - classCount: number of classes; defaults to `classNames.count`, else
    ///     to the largest label + 1.
    ///   - name: defaults to the image file's name.
    /// - Throws: any reader error, or count mismatch / label out of range /
    ///   unexpected shape naming the offending file.
    public static func loadIDX(
        images imagePath: String, labels labelPath: String,
        classCount: Int? = nil, classNames: [String]? = nil, name: String? = nil
    ) throws(DataError) -> Dataset {
        let images = try IDXFile.read(from: imagePath)
        let labels = try IDXFile.read(from: labelPath)
        guard images.dataType == .ubyte, images.dimensions.count == 3 || images.dimensions.count == 4 else {
            throw DataError(file: imagePath, .unexpectedShape(
                "images are \(images.dataType) \(images.dimensions); expected ubyte [N, H, W] or [N, H, W, C]"))
        }
        guard labels.dataType == .ubyte, labels.dimensions.count == 1 else {
            throw DataError(file: labelPath, .unexpectedShape(
                "labels are \(labels.dataType) \(labels.dimensions); expected ubyte [N]"))
        }
        let n = images.dimensions[0]
        var shape = Array(images.dimensions.dropFirst())
        if shape.count == 2 { shape.append(1) }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw DataError(file: imagePath, .unexpectedShape("image extents \(shape) must be positive"))
        }
        guard labels.dimensions[0] == n else {
            throw DataError(file: imagePath, .countMismatch(images: n, labels: labels.dimensions[0], labelFile: labelPath))
        }
        let classes = try resolveClassCount(
            classCount, classNames, largestLabel: labels.payload.max().map(Int.init), source: labelPath)
        if let bad = labels.payload.firstIndex(where: { Int($0) >= classes }) {
            throw DataError(file: labelPath, .labelOutOfRange(index: bad, label: Int(labels.payload[bad]), classCount: classes))
        }
        let name = name ?? String(imagePath.split(separator: "/").last ?? Substring(imagePath))
        return try Dataset(
            name: name, sampleShape: shape, samples: unitFloats(images.payload),
            labels: labels.payload.map { Int32($0) }, classCount: classes, classNames: classNames)
    }

    /// Reads a numeric CSV (see `CSVFile`) whose feature columns, in order, form
    /// one sample of shape `sampleShape` (HWC).
    /// - Parameters:
    ///   - classCount: defaults to `classNames.count`, else to the largest label + 1.
    ///   - name: defaults to the file's name.
    /// - Throws: CSV errors, a shape that does not match the feature count, or labels out of range.
    public static func loadCSV(
        _ path: String, options: CSVOptions = CSVOptions(), sampleShape: [Int],
        classCount: Int? = nil, classNames: [String]? = nil, name: String? = nil
    ) throws(DataError) -> Dataset {
        let csv = try CSVFile.read(from: path, options: options)
        guard sampleShape.allSatisfy({ $0 > 0 }), Dataset.elementCount(of: sampleShape) == csv.featureCount else {
            throw DataError(file: path, .unexpectedShape(
                "\(csv.featureCount) feature columns do not fill a sample of shape \(sampleShape)"))
        }
        let classes = try resolveClassCount(
            classCount, classNames, largestLabel: csv.labels.max().map(Int.init), source: path)
        if let bad = csv.labels.firstIndex(where: { Int($0) >= classes }) {
            throw DataError(file: path, .labelOutOfRange(index: bad, label: Int(csv.labels[bad]), classCount: classes))
        }
        let name = name ?? String(path.split(separator: "/").last ?? Substring(path))
        return try Dataset(name: name, sampleShape: sampleShape, samples: csv.features, labels: csv.labels,
                           classCount: classes, classNames: classNames)
    }

    /// Largest class count inferred from labels; a stray huge label in a file
    /// should fail here rather than allocate per-class tables of that size.
    static let maxInferredClassCount = 1 << 16

    static func resolveClassCount(
        _ given: Int?, _ names: [String]?, largestLabel: Int?, source: String
    ) throws(DataError) -> Int {
        if let given { return given }
        if let names { return names.count }
        guard let largest = largestLabel else {
            throw DataError(file: source, .invalidArgument("cannot infer a class count from zero labels; pass classCount"))
        }
        guard largest < maxInferredClassCount else {
            throw DataError(file: source, .invalidArgument(
                "largest label \(largest) would mean \(largest + 1) classes; pass classCount if that is intended"))
        }
        return largest + 1
    }

    /// Bytes 0...255 as Floats 0...1 (exactly `Float(b) / 255`), via a table.
    static func unitFloats(_ bytes: [UInt8]) -> [Float] {
        let table = (0..<256).map { Float($0) / 255 }
        return [Float](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
            table.withUnsafeBufferPointer { t in
                bytes.withUnsafeBufferPointer { b in
                    for i in 0..<b.count { buffer[i] = t[Int(b[i])] }
                }
            }
            initialized = bytes.count
        }
    }
}
