import Foundation
import SparrowAutodiff
import SparrowIR
import Testing

@testable import SparrowPlanner

@Suite struct PlanFileTests {
    /// decode(encode(plan)) == plan for every sample plan, and encoding is byte-stable.
    @Test func roundTripsEverySamplePlan() throws {
        let plans = try PlanSamples.all()
        #expect(plans.count == 72)
        for (label, plan) in plans {
            try verifyMemoryPlan(plan.memory, for: plan.graph)
            let bytes = plan.encodedJSON()
            let decoded = try TrainingPlan(decoding: bytes, file: label)
            #expect(decoded == plan, "\(label)")
            #expect(decoded.encodedJSON() == bytes, "\(label)")
            #expect(plan.encodedJSON() == bytes, "\(label)")
            #expect(bytes.last == UInt8(ascii: "\n"))
        }
    }

    /// Partial channels chosen directly (graph-level derivation), on a depthwise and a linear weight.
    @Test func roundTripsGraphLevelPartialSelections() throws {
        let model = try PlanSamples.mobile()
        for optimizer in PlanSamples.optimizers {
            for reorder in [true, false] {
                let training = try deriveTrainingGraph(
                    model.graph, trainable: ["pwconv1.bias", "fc1.bias"],
                    partial: ["dwconv1.weight": ChannelSelection([0, 5])!, "fc1.weight": ChannelSelection([1, 2, 30])!],
                    optimizer: optimizer, reorderUpdates: reorder)
                #expect(training.slices.count == 2)
                let plan = PlanSamples.finish("mobile-partial", training, layers: [], reorder: reorder, accumulate: !reorder,
                                              scratch: 0, budget: nil)
                let decoded = try TrainingPlan(decoding: plan.encodedJSON(), file: "partial.json")
                #expect(decoded == plan)
                #expect(decoded.encodedJSON() == plan.encodedJSON())
            }
        }
    }

    @Test func writesAndReadsAFile() throws {
        let plan = try PlanSamples.golden()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("plan.json")
        try plan.write(to: url)
        #expect(try TrainingPlan(contentsOf: url) == plan)
        #expect(try Data(contentsOf: url) == plan.encodedJSON())
        // Nothing but the plan is left in the directory (the temporary was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["plan.json"])

        let missing = dir.appendingPathComponent("none.json")
        #expect {
            _ = try TrainingPlan(contentsOf: missing)
        } throws: { ($0 as? PlanFileError).map { if case .unreadable = $0 { $0.file == missing.path } else { false } } ?? false }
        let unwritable = dir.appendingPathComponent("no-such-dir/plan.json")
        #expect { try plan.write(to: unwritable) } throws: {
            ($0 as? PlanFileError).map { if case .unwritable = $0 { true } else { false } } ?? false
        }
    }

    /// The committed golden file; `SPARROW_RECORD_PLANS=1` re-records it.
    @Test func goldenTinyPlan() throws {
        let plan = try PlanSamples.golden()
        let url = PlanFixtures.directory.appendingPathComponent("tiny-plan.json")
        let bytes = plan.encodedJSON()
        if PlanFixtures.recording {
            try FileManager.default.createDirectory(at: PlanFixtures.directory, withIntermediateDirectories: true)
            try plan.write(to: url)
            print("recorded \(url.path)")
        }
        guard let golden = try? Data(contentsOf: url) else {
            Issue.record("missing \(url.path); run the tests with SPARROW_RECORD_PLANS=1 to record it")
            return
        }
        #expect(bytes == golden, "the plan format or the planner changed; review the diff and re-record with SPARROW_RECORD_PLANS=1")
        #expect(try TrainingPlan(decoding: golden, file: url.path) == plan)
    }

    /// Every op kind is written and read back, attributes included.
    @Test func everyOpRoundTrips() throws {
        let conv = Conv2D(window: Window2D(kernel: (3, 1), stride: (2, 1), padding: (top: 1, left: 0, bottom: 0, right: 0)),
                          outChannels: 6, groups: 2)
        let w = Window2D(kernel: (2, 3), stride: (1, 2), padding: (top: 0, left: 1, bottom: 1, right: 2))
        let sel = ChannelSelection([0, 3, 9])!
        let plan = Optimizer.momentum(momentum: 0.8, weightDecay: 0)
        let ops: [Op] = [
            .input, .label, .parameter, .constant, .optimizerState(.velocity), .optimizerState(.firstMoment),
            .optimizerState(.secondMoment), .conv2d(conv), .linear, .add, .activation(.relu), .activation(.relu6),
            .maxPool2d(w), .avgPool2d(w), .globalAvgPool, .reshape, .softmaxCrossEntropy, .meanSquaredError,
            .splitWeight(sel), .gatherChannels(sel), .activationMask(.relu), .activationMask(.relu6), .maxPoolArgmax(w),
            .maskedGradient, .maxPool2dBackward(w), .avgPool2dBackward(w), .globalAvgPoolBackward, .conv2dInputGrad(conv),
            .conv2dWeightGrad(conv), .linearInputGrad, .linearWeightGrad, .biasGrad, .softmaxCrossEntropyGrad,
            .meanSquaredErrorGrad, .update(plan), .update(.defaultAdam), .update(.sgd(weightDecay: 0.25)),
        ]
        #expect(Set(ops.map(OpCoding.kind(of:))) == Set(OpCoding.kinds))
        let entry = PlanFields(file: "ops", at: .entry("x"), path: "", fields: [:])
        for op in ops {
            let text = OpCoding.encode(op, planOptimizer: plan).text(expandDepth: 0)
            let decoded = try OpCoding.decode(try JSONParser.parse(Array(text.utf8)), entry: entry, name: "x", planOptimizer: plan)
            #expect(decoded == op, "\(text)")
        }
        #expect(OpCoding.encode(.update(plan), planOptimizer: plan).text(expandDepth: 0) == #"{"kind": "update", "optimizer": "momentum"}"#)
    }

    /// Optimizer hyper-parameters come back with the same bits and print as short decimals.
    @Test func hyperParametersKeepTheirBits() throws {
        let seed: UInt64 = 0x5eed_f10a7
        print("hyper-parameter seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        var values: [Float] = [0, -0.0, 0.9, 0.999, 1e-8, 5e-4, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -3.25]
        for _ in 0..<2000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        for v in values where v.isFinite {
            let o = Optimizer.adam(beta1: v, beta2: v, epsilon: v, weightDecay: v)
            let text = OpCoding.encode(o).text(expandDepth: 0)
            let back = try OpCoding.optimizer(try JSONParser.parse(Array(text.utf8)), file: "f", at: .topLevel, field: "optimizer")
            guard case .adam(let b1, _, _, _) = back else { Issue.record("\(text)"); continue }
            #expect(b1.bitPattern == v.bitPattern, "\(v) → \(text)")
        }
        #expect(OpCoding.encode(Optimizer.defaultAdam).text(expandDepth: 0)
            == #"{"name": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08, "weight_decay": 0.0}"#)
    }

    /// The layout: settings first, one schedule entry per line, keys in reading order.
    @Test func layoutIsReadable() throws {
        let text = String(decoding: try PlanSamples.golden().encodedJSON(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "{")
        #expect(lines[1] == #"  "format": "sparrow-plan","#)
        #expect(lines[2] == #"  "version": 1,"#)
        #expect(lines.contains { $0.hasPrefix(#"    {"step": 0, "name": "input", "op": {"kind": "input"}, "inputs": [], "dtype": "fp32", "shape": [6, 6, 1]"#) })
    }
}
