import Foundation
import Sparrow

/// Where the shipped models and datasets are: the current directory when it is a
/// Sparrow checkout, else the checkout this binary was built from.
enum Resources {
    static var root: URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("datasets").path) { return cwd }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var fashionMNIST: URL { root.appendingPathComponent("datasets/fashion-mnist") }

    static var targets: URL { root.appendingPathComponent("targets") }

    /// A shipped target by name, or a target file path.
    static func target(_ name: String) throws -> Target {
        if name.hasSuffix(".json") { return try Target(contentsOf: URL(fileURLWithPath: name)) }
        guard let t = try Target.named(name, in: targets) else {
            throw UsageError("unknown target '\(name)'; known: \(Target.names(in: targets).joined(separator: ", ")) (or a target JSON file)")
        }
        return t
    }

    /// A zoo name (`cnn-small`) or an architecture JSON path, with optional weights.
    static func loadModel(_ spec: String, weights: String?, seed: UInt64) throws -> Model {
        if !spec.hasSuffix(".json"), let m = try ModelZoo.model(named: spec, seed: seed) {
            guard let weights else { return m }
            // Through the model-file reader, so the weights get the same checks as a JSON model's.
            let url = URL(fileURLWithPath: weights)
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw UsageError("\(weights): cannot read the file") }
            return try ModelFile.decode(architecture: try ModelFile.architectureJSON(m), weights: data, seed: seed,
                                        architectureFile: "zoo model \(spec)", weightsFile: weights)
        }
        guard spec.hasSuffix(".json") || FileManager.default.fileExists(atPath: spec) else {
            throw UsageError("'\(spec)' is neither a zoo model (\(ModelZoo.names.joined(separator: ", "))) nor an architecture JSON file")
        }
        return try ModelFile.load(architecture: URL(fileURLWithPath: spec), weights: weights.map { URL(fileURLWithPath: $0) }, seed: seed)
    }

    /// The train and test parts of an IDX dataset directory (`train-images-idx3-ubyte[.gz]` …).
    static func loadIDXDirectory(_ dir: URL, limitTrain: Int?, limitTest: Int?) throws -> (train: Dataset, test: Dataset) {
        func file(_ stem: String) throws -> String {
            for candidate in [stem + ".gz", stem] {
                let p = dir.appendingPathComponent(candidate).path
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw UsageError("\(dir.path): no \(stem)[.gz]: not an IDX dataset directory (MNIST layout)")
        }
        let names = dir.lastPathComponent.contains("fashion") ? FashionMNIST.classNames : nil
        var train = try Dataset.loadIDX(images: try file("train-images-idx3-ubyte"), labels: try file("train-labels-idx1-ubyte"),
                                        classNames: names, name: dir.lastPathComponent + "/train")
        var test = try Dataset.loadIDX(images: try file("t10k-images-idx3-ubyte"), labels: try file("t10k-labels-idx1-ubyte"),
                                       classNames: names, name: dir.lastPathComponent + "/test")
        if let n = limitTrain, n < train.count { train = train.subset(0..<n) }
        if let n = limitTest, n < test.count { test = test.subset(0..<n) }
        return (train, test)
    }
}
