import Foundation
import Testing
@testable import SparrowIR

/// The committed fixture files (Tests/Fixtures/models), found from this source file.
enum Fixtures {
    static let models = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    static func model(_ name: String) -> URL { models.appendingPathComponent(name) }
}

/// A fresh directory for one test, removed when the test is done with it.
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sparrow-ir-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ text: String, to name: String) throws -> URL {
        let u = file(name)
        try Data(text.utf8).write(to: u)
        return u
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The case name of an enum value (`unknownOp` for `.unknownOp(…)`), for asserting
/// which error was thrown without spelling out every associated value.
func caseName(_ value: some Any) -> String {
    Mirror(reflecting: value).children.first?.label ?? String(describing: value)
}

/// Runs `body`, which must throw a `ModelFileError` of case `expected` whose
/// description mentions every string in `mentions`. Returns the error for further checks.
@discardableResult
func expectModelFileError(
    _ expected: String, mentions: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(ModelFileError) -> Void
) -> ModelFileError? {
    do {
        try body()
        Issue.record("expected ModelFileError.\(expected), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(caseName(error) == expected, "got \(caseName(error)): \(error)", sourceLocation: sourceLocation)
        for m in mentions {
            #expect(error.description.contains(m), "description does not mention '\(m)': \(error)", sourceLocation: sourceLocation)
        }
        return error
    }
}

/// Announces the seed of a randomized test so that a failure can be replayed.
func announce(seed: UInt64, _ test: String) {
    print("[\(test)] seed \(seed)")
}

extension SeededGenerator {
    /// Uniform in [-1, 1).
    mutating func symmetric() -> Float { nextUnitFloat() * 2 - 1 }

    mutating func tensor(_ shape: Shape, scale: Float = 1) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.elementCount).map { _ in symmetric() * scale })
    }
}

/// A small CNN that uses every layer kind the architecture format has, built with
/// `ModelBuilder` (so parameter names and node order are the builder's).
func everyOpModel(seed: UInt64, loss: LossKind = .softmaxCrossEntropy) throws -> Model {
    var b = ModelBuilder(name: "every-op", seed: seed)
    let x = try b.input(Shape(12, 10, 3))
    var h = try b.conv2d(x, Conv2D(window: Window2D(kernel: (3, 3), stride: (1, 1), padding: (1, 1, 1, 1)), outChannels: 8))
    h = try b.relu(h)
    let dw = try b.depthwiseConv2d(h, kernel: 3, padding: 1, bias: false)
    let grouped = try b.conv2d(dw, outChannels: 8, kernel: 1, groups: 4)
    h = try b.add(grouped, h, name: "residual")
    h = try b.conv2d(h, Conv2D(window: Window2D(kernel: (3, 2), stride: (2, 1), padding: (0, 1, 1, 0)), outChannels: 6), bias: false)
    h = try b.relu6(h)
    h = try b.maxPool2d(h, Window2D(kernel: (2, 2), stride: (2, 2), padding: (1, 0, 0, 1)))
    h = try b.avgPool2d(h, kernel: 2, stride: 1)
    let wide = try b.reshape(h, to: Shape(b.graph[h].type.shape.elementCount / 6, 6))
    let back = try b.reshape(wide, to: b.graph[h].type.shape)
    let gap = try b.globalAvgPool(back)
    var y = try b.linear(gap, outFeatures: 7)
    y = try b.relu(y)
    let flat = try b.flatten(back)
    let side = try b.linear(flat, outFeatures: 7, bias: false)
    y = try b.add(y, side)
    y = try b.linear(y, outFeatures: 4)
    switch loss {
    case .softmaxCrossEntropy: return try b.softmaxCrossEntropy(y)
    case .mse: return try b.meanSquaredError(y)
    case .none: return try b.build(output: y)
    }
}
