import Foundation
import SparrowAutodiff
import SparrowIR
import SparrowPlanner
import Testing

/// Plans made the way `compilePlan` (SparrowRuntime) makes them: resolve the spec,
/// derive the training graph, pin the outputs (and gradients when accumulating),
/// plan memory with kernel scratch. The planner tests cannot import the runtime.
enum PlanSamples {
    /// Conv 3×3 → ReLU → max-pool → flatten → linear → cross-entropy.
    static func tiny() throws -> Model {
        var b = ModelBuilder(name: "tiny", seed: 7)
        var x = try b.input(Shape(6, 6, 1))
        x = try b.relu(try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1))
        x = try b.maxPool2d(x, kernel: 2)
        x = try b.linear(try b.flatten(x), outFeatures: 3)
        return try b.softmaxCrossEntropy(x)
    }

    /// Stride-2 conv, ReLU6, depthwise, pointwise, residual add, avg-pool, linear, cross-entropy.
    static func mobile() throws -> Model {
        var b = ModelBuilder(name: "mobile", seed: 11)
        var x = try b.input(Shape(8, 8, 3))
        x = try b.relu6(try b.conv2d(x, outChannels: 8, kernel: 3, stride: 2, padding: 1))
        let skip = x
        x = try b.relu6(try b.depthwiseConv2d(x, kernel: 3, padding: 1))
        x = try b.conv2d(x, outChannels: 8, kernel: 1)
        x = try b.add(skip, x)
        x = try b.avgPool2d(x, kernel: 2)
        x = try b.linear(try b.flatten(x), outFeatures: 4)
        return try b.softmaxCrossEntropy(x)
    }

    /// Conv → ReLU → max-pool (3×3, stride 2, padding 1) → global average pool → linear → MSE.
    static func regression() throws -> Model {
        var b = ModelBuilder(name: "regression", seed: 5)
        var x = try b.input(Shape(7, 7, 2))
        x = try b.relu(try b.conv2d(x, outChannels: 6, kernel: 3, padding: 1))
        x = try b.maxPool2d(x, kernel: 3, stride: 2, padding: 1)
        x = try b.globalAvgPool(x)
        x = try b.linear(x, outFeatures: 2)
        return try b.meanSquaredError(x)
    }

    static let specs: [(String, UpdateSpec)] = [
        ("full", .full), ("bias", .biasOnly), ("classifier", .classifierOnly),
        ("partial", UpdateSpec([.all(.bias), .lastLayers(2, .weights(Ratio(1, 4)!))])),
    ]

    static let optimizers: [Optimizer] = [
        .plainSGD, .momentum(momentum: 0.9, weightDecay: 1e-4), .defaultAdam,
    ]

    static func plan(_ model: Model, spec: UpdateSpec, optimizer: Optimizer, reorder: Bool = true,
                     accumulate: Bool = false, scratch: Int = 100, budget: Int? = nil) throws -> TrainingPlan {
        let layers = try spec.resolve(model)
        let training = try deriveTrainingGraph(model, spec: spec, optimizer: optimizer, reorderUpdates: reorder)
        return finish(model.name, training, layers: layers, reorder: reorder, accumulate: accumulate, scratch: scratch, budget: budget)
    }

    static func finish(_ name: String, _ training: TrainingGraph, layers: [LayerPlan], reorder: Bool, accumulate: Bool,
                       scratch: Int, budget: Int?) -> TrainingPlan {
        let g = training.graph
        var pinned = Set([g.prediction, g.loss].compactMap { $0 })
        if accumulate { pinned.formUnion(training.gradients.values) }
        let memory = planMemory(g, options: PlannerOptions(pinned: pinned, scratchBytes: scratch))
        return TrainingPlan(modelName: name, training: training, memory: memory, layers: layers, budget: budget,
                            reorderUpdates: reorder, gradientAccumulation: accumulate)
    }

    /// Every model × spec × optimizer × reorder on/off (accumulation and budget vary with them).
    static func all() throws -> [(String, TrainingPlan)] {
        var result: [(String, TrainingPlan)] = []
        for model in [try tiny(), try mobile(), try regression()] {
            for (specName, spec) in specs {
                for (k, optimizer) in optimizers.enumerated() {
                    for reorder in [true, false] {
                        let label = "\(model.name)/\(specName)/\(optimizer.name)/reorder=\(reorder)"
                        var p = try plan(model, spec: spec, optimizer: optimizer, reorder: reorder, accumulate: k == 1,
                                         scratch: 16 * k + (reorder ? 4 : 0))
                        if k == 2 { p.budget = p.memory.peakSRAM + 1024 }
                        result.append((label, p))
                    }
                }
            }
        }
        return result
    }

    /// The golden plan: bias everywhere, a quarter of the classifier's input channels, momentum.
    static func golden() throws -> TrainingPlan {
        try plan(try tiny(), spec: UpdateSpec([.all(.bias), .lastLayers(1, .weights(Ratio(1, 4)!))]),
                 optimizer: .momentum(momentum: 0.9, weightDecay: 0.0005), scratch: 64, budget: 16 * 1024)
    }
}

/// Editing a plan file as JSON, for malformed-file tests.
struct PlanJSON {
    var root: [String: JSONValue]

    init(_ plan: TrainingPlan) throws {
        guard case .object(let o) = try JSONParser.parse(plan.encodedJSON()) else { throw PlanJSONError.notAnObject }
        root = o
    }

    var data: Data { Data(JSONValue.object(root).serialized(pretty: true).utf8) }

    var schedule: [[String: JSONValue]] {
        get {
            guard case .array(let items)? = root["schedule"] else { return [] }
            return items.compactMap { if case .object(let o) = $0 { return o } else { return nil } }
        }
        set { root["schedule"] = .array(newValue.map { .object($0) }) }
    }

    func index(of name: String) -> Int? { schedule.firstIndex { $0["name"] == .string(name) } }

    /// Changes the schedule entry named `name`.
    mutating func edit(_ name: String, _ change: (inout [String: JSONValue]) -> Void) {
        guard let k = index(of: name) else { Issue.record("no entry '\(name)'"); return }
        var s = schedule
        change(&s[k])
        schedule = s
    }

    /// Changes one field of a top-level object (`figures`, `flags`, …).
    mutating func edit(section: String, _ key: String, _ value: JSONValue) {
        guard case .object(var o)? = root[section] else { Issue.record("no section '\(section)'"); return }
        o[key] = value
        root[section] = .object(o)
    }

    /// The error decoding the edited file gives, or nil when it decodes.
    func decodeError(file: String = "edited.json") -> PlanFileError? {
        do {
            _ = try TrainingPlan(decoding: data, file: file)
            return nil
        } catch {
            return error
        }
    }
}

enum PlanJSONError: Error { case notAnObject }

/// Where committed plan fixtures live.
enum PlanFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/plans")
    static var recording: Bool { ProcessInfo.processInfo.environment["SPARROW_RECORD_PLANS"] == "1" }
}
