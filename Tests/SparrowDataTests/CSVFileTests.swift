import Foundation
import Testing

@testable import SparrowData

@Suite("CSV files")
struct CSVFileTests {
    func parse(_ text: String, _ options: CSVOptions = CSVOptions()) throws(DataError) -> CSVFile {
        try CSVFile.parse(Array(text.utf8), source: "t.csv", options: options)
    }

    func parsing(_ text: String, _ options: CSVOptions = CSVOptions()) -> () throws(DataError) -> CSVFile {
        { () throws(DataError) in try CSVFile.parse(Array(text.utf8), source: "t.csv", options: options) }
    }

    @Test func headerAndLabelByName() throws {
        let csv = try parse("p1,label,p2\n0,3,255\n51, 1 ,102\n", CSVOptions(labelColumn: .name("label")))
        #expect(csv.header == ["p1", "label", "p2"])
        #expect(csv.labelColumn == 1)
        #expect(csv.labels == [3, 1])
        #expect(csv.featureCount == 2)
        #expect(csv.features == [0, 1, 0.2, 0.4])
    }

    @Test func noHeaderLabelByIndexAndDivisor() throws {
        let csv = try parse("1,2,7\n4,5,0\n", CSVOptions(hasHeader: false, labelColumn: .index(2), divisor: 10))
        #expect(csv.header == nil)
        #expect(csv.labels == [7, 0])
        #expect(csv.features == [0.1, 0.2, 0.4, 0.5])
    }

    @Test func tolerantSyntax() throws {
        // BOM, CRLF, blank lines, quoted header with an escaped quote, decimals, exponent, semicolons.
        let text = "\u{FEFF}\"label\";\"pix \"\"a\"\"\"\r\n\r\n2;0.5\r\n  \r\n1;1e-1\r\n"
        let csv = try parse(text, CSVOptions(labelColumn: .name("label"), divisor: 1, separator: ";"))
        #expect(csv.header == ["label", "pix \"a\""])
        #expect(csv.labels == [2, 1])
        #expect(csv.features == [0.5, 0.1])
        #expect(try parse("label,a\n\"3\",\"4\"\n").labels == [3])
    }

    @Test func errorsSayRowAndColumn() {
        expectDataError(file: "t.csv", parsing("")) { $0 == .empty }
        expectDataError(file: "t.csv", parsing("label,a,b\n")) { $0 == .noRows }
        expectDataError(file: "t.csv", parsing("label,a,b\n\n   \n")) { $0 == .noRows }
        expectDataError(file: "t.csv", parsing("label,a,b\n1,2,3\n1,2\n")) { $0 == .raggedRow(row: 3, expected: 3, found: 2) }
        expectDataError(file: "t.csv", parsing("label,a,b\n1,2,3\n1,2,3,4\n")) {
            $0 == .raggedRow(row: 3, expected: 3, found: 4)
        }
        expectDataError(file: "t.csv", parsing("label,a,b\n1,2,x3\n")) {
            if case .badCell(2, 3, "b", "x3", _) = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,\n")) {
            if case .badCell(2, 2, "a", "", _) = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,nan\n")) {
            if case .badCell(2, 2, _, "nan", _) = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1.5,0\n")) {
            if case .badCell(2, 1, "label", "1.5", _) = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n-1,0\n")) {
            if case .badCell(2, 1, _, "-1", _) = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,1e39\n", CSVOptions(divisor: 1))) {
            if case .badCell(2, 2, _, "1e39", let reason) = $0 { return reason.contains("finite") } else { return false }
        }
        expectDataError(file: "t.csv", parsing("a,b\n1,2\n", CSVOptions(labelColumn: .name("label")))) {
            if case .unknownColumn = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("1,2\n", CSVOptions(hasHeader: false, labelColumn: .name("label")))) {
            if case .unknownColumn = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("1,2\n", CSVOptions(hasHeader: false, labelColumn: .index(5)))) {
            if case .unknownColumn = $0 { return true } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,\"0\n")) {
            if case .badCell(2, 2, _, _, let reason) = $0 { return reason.contains("quote") } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,\"0\"x\n")) {
            if case .badCell(2, 2, _, _, let reason) = $0 { return reason.contains("quote") } else { return false }
        }
        expectDataError(file: "t.csv", parsing("label,a\n1,2\n", CSVOptions(divisor: 0))) {
            if case .invalidArgument = $0 { return true } else { return false }
        }
        let error = DataError(file: "t.csv", .badCell(row: 2, column: 3, columnName: "b", text: "x3", reason: "is not a number"))
        #expect(error.description == "t.csv: row 2, column 3 (\"b\"): \"x3\" is not a number")
    }

    @Test func loadsAsDataset() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(directory) }
        let path = (directory as NSString).appendingPathComponent("four.csv")
        var text = "label," + (1...4).map { "pixel\($0)" }.joined(separator: ",") + "\n"
        text += "0,0,255,0,255\n2,255,255,0,0\n1,0,0,0,51\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let dataset = try Dataset.loadCSV(path, sampleShape: [2, 2, 1], classNames: ["a", "b", "c"])
        #expect(dataset.count == 3)
        #expect(dataset.name == "four.csv")
        #expect(dataset.sampleShape == [2, 2, 1])
        #expect(Array(dataset.sample(at: 2)) == [0, 0, 0, 0.2])
        #expect(dataset.classCounts == [1, 1, 1])
        #expect(try Dataset.loadCSV(path, sampleShape: [2, 2, 1]).classCount == 3)

        expectDataError(file: path, { () throws(DataError) in try Dataset.loadCSV(path, sampleShape: [3, 3, 1]) }) {
            if case .unexpectedShape = $0 { return true } else { return false }
        }
        expectDataError(file: path, { () throws(DataError) in try Dataset.loadCSV(path, sampleShape: [2, 2, 1], classCount: 2) }) {
            $0 == .labelOutOfRange(index: 1, label: 2, classCount: 2)
        }
        // gzip-compressed CSV is detected by content.
        let packed = (directory as NSString).appendingPathComponent("four.csv.anything")
        try FileBytes.writeAtomically(Gzip.stored(Array(text.utf8)), to: packed)
        #expect(try Dataset.loadCSV(packed, sampleShape: [2, 2, 1]).samples == dataset.samples)

        let huge = (directory as NSString).appendingPathComponent("huge-label.csv")
        try "label,a\n99999999,0\n".write(toFile: huge, atomically: true, encoding: .utf8)
        expectDataError(file: huge, { () throws(DataError) in try Dataset.loadCSV(huge, sampleShape: [1, 1, 1]) }) {
            if case .invalidArgument = $0 { return true } else { return false }
        }
    }
}
