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

    /// The first `count` images of `data` (default: the shipped Fashion-MNIST) for
    /// 28×28×1 models, seeded noise (seed 5) for other input shapes: what the
    /// export and emulator benches and `sparrow emulate` train on.
    static func samples(for model: Model, count: Int, data: URL?) throws -> ([[Float]], [Int32]) {
        let shape = model.graph.ids(where: { $0 == .input }).first.map { model.graph[$0].type.shape.dims } ?? []
        if shape == [28, 28, 1] {
            let d = try loadIDXDirectory(data ?? fashionMNIST, limitTrain: count, limitTest: 1).train
            return ((0..<d.count).map { Array(d.sample(at: $0)) }, Array(d.labels.prefix(d.count)))
        }
        var rng = SeededGenerator(seed: 5)
        let n = shape.reduce(1, *)
        return ((0..<count).map { _ in (0..<n).map { _ in rng.nextUnitFloat() } }, (0..<count).map { Int32($0 % 10) })
    }

    /// Activation ranges of `model` over the given samples (for an int8 plan).
    static func calibration(for model: Model, samples: [[Float]], labels: [Int32]) throws -> CalibrationRanges {
        let shape = model.graph.ids(where: { $0 == .input }).first.map { model.graph[$0].type.shape.dims } ?? []
        let data = try Dataset(name: "samples", sampleShape: shape, samples: samples.flatMap { $0 }, labels: labels,
                               classCount: Int(labels.max() ?? 0) + 1, classNames: nil)
        return try calibrate(model, on: data, samples: data.count)
    }

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
            do { data = try Data(contentsOf: url) } catch { throw ModelFileError.unreadable(file: weights, detail: ModelFile.reason(error)) }
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
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) else {
            throw UsageError("\(dir.path): no such dataset directory")
        }
        guard isDirectory.boolValue else { throw UsageError("\(dir.path): not a directory; a dataset is a folder of IDX files (MNIST layout)") }
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

    /// Checks that a plan (read from `file`) was compiled for `model`: the same name,
    /// and every weight the plan reads exists in the model with the plan's shape.
    static func checkPlan(_ plan: TrainingPlan, file: String, matches model: Model) throws(UsageError) {
        guard plan.modelName == model.name else {
            throw UsageError("\(file) was compiled for model '\(plan.modelName)', not '\(model.name)'; pass the same --model")
        }
        if plan.memory.precision == .int8, plan.quantization == nil {
            throw UsageError("\(file) is an int8 plan compiled without calibration data (memory figures only); recompile it with --calibrate DIR to run it")
        }
        let g = plan.graph
        // A slice (the trained channels of a partial update) is cut from its source weight, checked itself.
        for id in g.ids(where: { $0 == .parameter || $0 == .constant }) where plan.training.slices[g[id].name] == nil {
            let planned = g[id].type.shape
            guard let found = model.weights[g[id].name]?.shape else {
                throw UsageError("\(file) does not match this model '\(model.name)': the plan reads tensor '\(g[id].name)', which the model lacks; recompile the plan from it")
            }
            guard found == planned else {
                throw UsageError("\(file) does not match this model '\(model.name)': tensor '\(g[id].name)' is \(planned) in the plan, \(found) in the model; recompile the plan from it")
            }
        }
    }

    /// Checks before any work that `path` (the value of `--option`) can be written:
    /// its folder exists and it is not itself a folder.
    static func checkDestination(_ path: String?, option: String) throws(UsageError) {
        guard let path else { return }
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw UsageError("--\(option) \(path): is a directory; give a file name")
        }
        let folder = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("--\(option) \(path): the folder \(folder) does not exist")
        }
    }
}
