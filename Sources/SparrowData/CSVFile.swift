/// How to read a numeric CSV file of labelled samples.
public struct CSVOptions: Sendable {
    /// Which column holds the class label.
    public enum LabelColumn: Sendable, Equatable {
        /// 0-based column index.
        case index(Int)
        /// Column name as written in the header (requires `hasHeader`).
        case name(String)
    }

    /// Whether the first non-blank line holds column names.
    public var hasHeader: Bool
    /// The label column; every other column is a feature (pixel).
    public var labelColumn: LabelColumn
    /// Feature values are divided by this (e.g. 255 for 8-bit pixels); results must be finite floats.
    public var divisor: Float
    /// Field separator byte (ASCII), usually `,`.
    public var separator: UInt8

    public init(hasHeader: Bool = true, labelColumn: LabelColumn = .index(0), divisor: Float = 255, separator: Character = ",") {
        self.hasHeader = hasHeader
        self.labelColumn = labelColumn
        self.divisor = divisor
        self.separator = separator.asciiValue ?? UInt8(ascii: ",")
    }
}

/// A parsed numeric CSV: one label and `featureCount` scaled features per row.
///
/// Accepted syntax: UTF-8 (optional BOM), `\n` or `\r\n` line ends, blank lines
/// ignored, RFC 4180 double-quoted fields (so quoted headers work), spaces
/// around numbers ignored. Labels must be whole numbers ≥ 0; features finite
/// numbers whose value / `divisor` is a finite float.
public struct CSVFile: Equatable, Sendable {
    /// Column names, when the file has a header.
    public let header: [String]?
    /// 0-based index of the label column.
    public let labelColumn: Int
    /// One label per data row.
    public let labels: [Int32]
    /// Scaled features, row-major: `labels.count × featureCount` finite values.
    public let features: [Float]
    /// Features per row (columns minus the label column).
    public let featureCount: Int

    /// Reads a CSV file (gzip-compressed files are detected and decompressed).
    public static func read(from path: String, options: CSVOptions = CSVOptions()) throws(DataError) -> CSVFile {
        try parse(try FileBytes.readDecompressed(path), source: path, options: options)
    }

    /// Parses CSV bytes; errors name `source` and give 1-based row (line) and column numbers.
    public static func parse(_ bytes: [UInt8], source: String, options: CSVOptions) throws(DataError) -> CSVFile {
        func fail(_ problem: DataError.Problem) -> DataError { DataError(file: source, problem) }
        guard options.divisor.isFinite, options.divisor > 0 else {
            throw fail(.invalidArgument("divisor \(options.divisor) must be a positive finite number"))
        }
        guard !bytes.isEmpty else { throw fail(.empty) }

        var lines = CSVLines(bytes: bytes, separator: options.separator)
        var header: [String]?
        var expected = -1
        if options.hasHeader, let (_, fields) = try lines.next(source: source) {
            header = fields.map { String(decoding: $0, as: UTF8.self).trimmingSpaces }
            expected = fields.count
        }
        let labelColumn: Int
        switch options.labelColumn {
        case .index(let i): labelColumn = i
        case .name(let wanted):
            guard let names = header else { throw fail(.unknownColumn("\"\(wanted)\" (the file has no header)")) }
            guard let i = names.firstIndex(of: wanted) else {
                throw fail(.unknownColumn("\"\(wanted)\" (header has \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : ""))"))
            }
            labelColumn = i
        }
        func name(_ column: Int) -> String? { header.flatMap { column < $0.count ? $0[column] : nil } }

        var labels: [Int32] = []
        var features: [Float] = []
        while let (row, fields) = try lines.next(source: source) {
            if expected < 0 { expected = fields.count }
            guard fields.count == expected else { throw fail(.raggedRow(row: row, expected: expected, found: fields.count)) }
            guard labelColumn >= 0, labelColumn < fields.count else {
                throw fail(.unknownColumn("index \(labelColumn) (rows have \(fields.count) columns)"))
            }
            for (column, field) in fields.enumerated() {
                func bad(_ reason: String) -> DataError {
                    fail(.badCell(row: row, column: column + 1, columnName: name(column),
                                  text: String(decoding: field, as: UTF8.self), reason: reason))
                }
                guard let value = CSVFile.number(field) else { throw bad("is not a number") }
                if column == labelColumn {
                    guard value >= 0, value <= Double(Int32.max), value.rounded() == value else {
                        throw bad("is not a valid label (a whole number ≥ 0)")
                    }
                    labels.append(Int32(value))
                } else {
                    let scaled = Float(value) / options.divisor
                    guard scaled.isFinite else { throw bad("divided by \(options.divisor) is not a finite float") }
                    features.append(scaled)
                }
            }
        }
        guard !labels.isEmpty else { throw fail(.noRows) }
        return CSVFile(header: header, labelColumn: labelColumn, labels: labels, features: features,
                       featureCount: expected - 1)
    }

    /// A finite number from a field; integers take an exact fast path because
    /// pixel CSVs hold millions of them.
    static func number(_ field: ArraySlice<UInt8>) -> Double? {
        var text = field
        while let first = text.first, first == 0x20 || first == 0x09 { text.removeFirst() }
        while let last = text.last, last == 0x20 || last == 0x09 { text.removeLast() }
        guard !text.isEmpty else { return nil }
        if text.count <= 9 {
            var value = 0
            var digits = 0
            var negative = false
            for (k, byte) in text.enumerated() {
                if k == 0 && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) {
                    negative = byte == UInt8(ascii: "-")
                } else if byte >= 0x30 && byte <= 0x39 {
                    value = value * 10 + Int(byte - 0x30)
                    digits += 1
                } else {
                    digits = -1
                    break
                }
            }
            if digits > 0 { return Double(negative ? -value : value) }
        }
        // Double(String) also accepts "nan", "inf" and hex floats; only finite values are data.
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}

/// Splits CSV bytes into rows of fields, tracking 1-based line numbers.
private struct CSVLines {
    let bytes: [UInt8]
    let separator: UInt8
    var pos = 0
    var line = 0

    init(bytes: [UInt8], separator: UInt8) {
        self.bytes = bytes
        self.separator = separator
        // A UTF-8 byte order mark is not part of the first field.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
    }

    /// The next non-blank row and its (1-based) line number, or nil at the end.
    mutating func next(source: String) throws(DataError) -> (Int, [ArraySlice<UInt8>])? {
        let quote = UInt8(ascii: "\"")
        while pos < bytes.count {
            line += 1
            let row = line
            var fields: [ArraySlice<UInt8>] = []
            var start = pos
            var blank = true
            var fieldOpen = true  // an unquoted field runs from `start` to `pos`
            scan: while pos < bytes.count {
                let byte = bytes[pos]
                if byte == quote && bytes[start..<pos].allSatisfy({ $0 == 0x20 }) {
                    fields.append(try quoted(source: source, column: fields.count + 1))
                    blank = false
                    while pos < bytes.count, bytes[pos] == 0x20 { pos += 1 }
                    if pos < bytes.count, bytes[pos] == separator {
                        pos += 1
                        start = pos
                        continue
                    }
                    if pos < bytes.count, bytes[pos] != 0x0A && bytes[pos] != 0x0D {
                        throw DataError(file: source, .badCell(
                            row: row, column: fields.count, columnName: nil,
                            text: String(decoding: fields[fields.count - 1], as: UTF8.self),
                            reason: "has text after its closing quote"))
                    }
                    fieldOpen = false
                    break scan
                }
                if byte == separator {
                    fields.append(bytes[start..<pos])
                    blank = false
                    pos += 1
                    start = pos
                } else if byte == 0x0A || byte == 0x0D {
                    break scan
                } else {
                    if byte != 0x20 && byte != 0x09 { blank = false }
                    pos += 1
                }
            }
            if fieldOpen { fields.append(bytes[start..<pos]) }
            // Consume the line end: "\n", "\r\n", or a lone "\r".
            if pos < bytes.count, bytes[pos] == 0x0D { pos += 1 }
            if pos < bytes.count, bytes[pos] == 0x0A { pos += 1 }
            if !blank { return (row, fields) }
        }
        return nil
    }

    /// A double-quoted field starting at `pos`; `""` inside stands for one quote.
    mutating func quoted(source: String, column: Int) throws(DataError) -> ArraySlice<UInt8> {
        let quote = UInt8(ascii: "\"")
        let firstLine = line
        pos += 1
        var text: [UInt8] = []
        while pos < bytes.count {
            if bytes[pos] == quote {
                if pos + 1 < bytes.count, bytes[pos + 1] == quote {
                    text.append(quote)
                    pos += 2
                    continue
                }
                pos += 1
                return text[...]
            }
            if bytes[pos] == 0x0A { line += 1 }
            text.append(bytes[pos])
            pos += 1
        }
        throw DataError(file: source, .badCell(
            row: firstLine, column: column, columnName: nil, text: String(decoding: text.prefix(40), as: UTF8.self),
            reason: "has an opening quote that is never closed"))
    }
}

extension String {
    /// Without leading/trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
