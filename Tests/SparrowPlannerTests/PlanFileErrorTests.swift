import Foundation
import SparrowAutodiff
import SparrowIR
import SparrowPlanner
import Testing

/// Each kind of malformed plan file gives the error that names the file, the entry and the problem.
@Suite struct PlanFileErrorTests {
    let plan: TrainingPlan
    init() throws { plan = try PlanSamples.golden() }

    /// Decodes `json` and checks the error: its case, its entry and words of its message.
    func expectError(_ json: PlanJSON, entry: String?, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation,
                     _ matches: (PlanFileError) -> Bool) {
        guard let error = json.decodeError(file: "bad/plan.json") else {
            Issue.record("the edited plan decoded", sourceLocation: sourceLocation)
            return
        }
        #expect(matches(error), "unexpected case: \(error)", sourceLocation: sourceLocation)
        #expect(error.file == "bad/plan.json", sourceLocation: sourceLocation)
        #expect(error.entry == entry, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("bad/plan.json"), sourceLocation: sourceLocation)
        for w in words { #expect(error.description.contains(w), "'\(w)' not in: \(error)", sourceLocation: sourceLocation) }
    }

    @Test func editedButValidFileDecodes() throws {
        // The test harness re-serialises with sorted keys: layout does not matter, only content.
        let json = try PlanJSON(plan)
        #expect(try TrainingPlan(decoding: json.data, file: "x") == plan)
    }

    @Test func notJSONNamesLineAndColumn() throws {
        var text = String(decoding: plan.encodedJSON(), as: UTF8.self)
        text = text.replacingOccurrences(of: #""version": 1,"#, with: #""version": 1,,"#)
        #expect {
            _ = try TrainingPlan(decoding: Data(text.utf8), file: "p.json")
        } throws: { e in
            guard let e = e as? PlanFileError, case .badJSON(let f, let line, _, _) = e else { return false }
            return f == "p.json" && line == 3 && e.description.hasPrefix("p.json:3:")
        }
    }

    @Test func wrongFormatAndVersion() throws {
        var json = try PlanJSON(plan)
        json.root["format"] = .string("sparrow-model")
        expectError(json, entry: nil, ["sparrow-plan"]) { if case .wrongFormat = $0 { true } else { false } }
        json = try PlanJSON(plan)
        json.root["version"] = .int(2)
        expectError(json, entry: nil, ["version 2", "reads version 1"]) { if case .unsupportedVersion = $0 { true } else { false } }
        #expect(throws: PlanFileError.self) { try TrainingPlan(decoding: Data("[1, 2]".utf8), file: "a") }
    }

    @Test func unknownOp() throws {
        var json = try PlanJSON(plan)
        json.edit("conv1") { $0["op"] = .object(["kind": .string("conv3d")]) }
        expectError(json, entry: "conv1", ["conv3d", "conv2d"]) { if case .unknownOp = $0 { true } else { false } }
    }

    @Test func badFields() throws {
        var json = try PlanJSON(plan)
        json.edit("relu1") { $0["dtype"] = .string("fp64") }
        expectError(json, entry: "relu1", ["dtype", "fp64"]) { if case .invalidField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("conv1") {
            guard case .object(var op)? = $0["op"] else { return }
            op["kernel"] = .array([.int(3), .int(-3)])
            $0["op"] = .object(op)
        }
        expectError(json, entry: "conv1", ["op.kernel[1]"]) { if case .invalidField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["colour"] = .string("red") }
        expectError(json, entry: "relu1", ["colour"]) { if case .unknownField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["live"] = nil }
        expectError(json, entry: "relu1", ["live"]) { if case .missingField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["phase"] = .string("backward") }
        expectError(json, entry: "relu1", ["phase", "forward"]) { if case .invalidField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["offset"] = .int(Int.max) }
        expectError(json, entry: "relu1", ["offset"]) { if case .invalidField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit(section: "optimizer", "momentum", .double(.infinity))
        expectError(json, entry: nil, ["optimizer.momentum"]) { if case .invalidField = $0 { true } else { false } }
    }

    @Test func danglingAndLaterInputs() throws {
        var json = try PlanJSON(plan)
        json.edit("relu1") { $0["inputs"] = .array([.string("conv9")]) }
        expectError(json, entry: "relu1", ["conv9", "no schedule entry"]) { if case .unknownName = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["inputs"] = .array([.string("fc1")]) }
        expectError(json, entry: "relu1", ["fc1", "later"]) { if case .unknownName = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("relu1") { $0["storage"] = .string("nowhere") }
        expectError(json, entry: "relu1", ["nowhere"]) { if case .unknownName = $0 { true } else { false } }
    }

    @Test func typeErrorsNameTheEntry() throws {
        var json = try PlanJSON(plan)
        json.edit("conv1") { $0["shape"] = .array([.int(6), .int(6), .int(5)]) }
        expectError(json, entry: "conv1", ["conv1"]) { if case .graph = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit("flatten1") { $0["inputs"] = .array([.string("conv1")]) }
        expectError(json, entry: "flatten1", ["reshape"]) { if case .graph = $0 { true } else { false } }
    }

    @Test func inconsistentPlacement() throws {
        // Two saved tensors alive together, at the same offset.
        var json = try PlanJSON(plan)
        let mask = plan.graph.id(named: "relu1.mask")!, argmax = plan.graph.id(named: "maxpool1.argmax")!
        let conv = plan.graph.id(named: "conv1")!
        #expect(plan.memory.regions[mask] == .sram && plan.memory.regions[argmax] == .sram)
        #expect(plan.memory.lifetimes[mask].overlaps(plan.memory.lifetimes[argmax]))
        json.edit("relu1.mask") { $0["offset"] = .int(plan.memory.offsets[argmax]) }
        expectError(json, entry: "maxpool1.argmax", ["overlaps", "relu1.mask"]) { if case .placement = $0 { true } else { false } }

        // A lifetime that ends before the last read (through the in-place ReLU's view).
        json = try PlanJSON(plan)
        json.edit("conv1") { $0["live"] = .array([.int(conv), .int(conv + 1)]) }
        expectError(json, entry: "relu1.mask", ["relu1", "conv1", "lives only"]) { if case .placement = $0 { true } else { false } }

        // Figures that are not what the entries imply.
        json = try PlanJSON(plan)
        json.edit(section: "figures", "peak_sram", .int(plan.memory.peakSRAM + 16))
        expectError(json, entry: nil, ["peak_sram"]) { if case .placement = $0 { true } else { false } }
        json = try PlanJSON(plan)
        json.edit(section: "figures", "lower_bound", .int(plan.memory.lowerBound - 16))
        expectError(json, entry: nil, ["lower_bound"]) { if case .placement = $0 { true } else { false } }
        json = try PlanJSON(plan)
        json.edit(section: "figures", "flash_bytes", .int(plan.memory.flashBytes + 16))
        expectError(json, entry: nil, ["flash_bytes"]) { if case .placement = $0 { true } else { false } }

        // A view that points at a tensor it does not alias, and a trained weight in flash.
        json = try PlanJSON(plan)
        json.edit("flatten1") { $0["storage"] = .string("input") }
        expectError(json, entry: "flatten1", ["storage"]) { if case .placement = $0 { true } else { false } }
        json = try PlanJSON(plan)
        json.edit("conv1.bias") { $0["region"] = .string("flash") }
        expectError(json, entry: "conv1.bias", ["flash"]) { if case .placement = $0 { true } else { false } }

        // Misaligned, and over the budget.
        json = try PlanJSON(plan)
        json.edit("relu1.mask") { $0["offset"] = .int(plan.memory.offsets[mask] + 4) }
        expectError(json, entry: "relu1.mask", ["16"]) { if case .placement = $0 { true } else { false } }
        json = try PlanJSON(plan)
        json.root["budget"] = .int(plan.memory.peakSRAM - 1)
        expectError(json, entry: nil, ["budget"]) { if case .placement = $0 { true } else { false } }
    }

    @Test func trainingMapsMustMatchTheSchedule() throws {
        var json = try PlanJSON(plan)
        json.root["trainable"] = .array([.string("conv1.bias")])
        expectError(json, entry: nil, ["fc1.bias"]) { if case .training = $0 { true } else { false } }

        json = try PlanJSON(plan)
        guard case .object(var updates)? = json.root["updates"] else { Issue.record("no updates"); return }
        updates["conv1.bias"] = .string("relu1")
        json.root["updates"] = .object(updates)
        expectError(json, entry: nil, ["relu1", "not an update"]) { if case .training = $0 { true } else { false } }

        json = try PlanJSON(plan)
        json.edit(section: "optimizer", "name", .string("adam"))
        expectError(json, entry: nil, ["optimizer.momentum", "beta1"]) { if case .unknownField = $0 { true } else { false } }

        json = try PlanJSON(plan)
        guard case .array(var layers)? = json.root["layers"], case .object(var first) = layers[0] else { Issue.record("no layers"); return }
        first["update"] = .string("weights 5/4")
        layers[0] = .object(first)
        json.root["layers"] = .array(layers)
        expectError(json, entry: nil, ["layer 'conv1'", "weights 5/4"]) { if case .invalidField = $0 { true } else { false } }
    }

    @Test func splitViewsMustMatchTheirSlices() throws {
        var json = try PlanJSON(plan)
        json.edit("fc1.weight.split") {
            guard case .object(var op)? = $0["op"], case .array(var channels)? = op["channels"] else { return }
            channels[0] = .int(0)
            op["channels"] = .array(channels)
            $0["op"] = .object(op)
        }
        expectError(json, entry: "fc1.weight.split", ["slices"]) { if case .training = $0 { true } else { false } }
    }

    /// Well-formed entries with sizes chosen to overflow naive arithmetic.
    @Test func hostileSizesAreRefusedWithoutTrapping() throws {
        func entry(_ step: Int, _ name: String, _ op: [String: JSONValue], _ inputs: [String], _ shape: [Int],
                   last: Int = 2) -> [String: JSONValue] {
            ["step": .int(step), "name": .string(name), "op": .object(op), "inputs": .array(inputs.map { .string($0) }),
             "dtype": .string("fp32"), "shape": .array(shape.map { .int($0) }), "phase": .string("leaf"),
             "region": .string("sram"), "offset": .int(1 << 40), "bytes": .int(1 << 40), "live": .array([.int(0), .int(last)])]
        }
        let window: [String: JSONValue] = ["kernel": .array([.int(1), .int(1)]), "stride": .array([.int(1), .int(1)]),
                                           "padding": .array([.int(0), .int(0), .int(0), .int(0)])]
        var conv = window
        conv["kind"] = .string("conv2d")
        conv["groups"] = .int(1)
        conv["out_channels"] = .int(1 << 30)
        var json = try PlanJSON(plan)
        json.schedule = [entry(0, "x", ["kind": .string("input")], [], [32768, 32768, 1]),
                         entry(1, "w", ["kind": .string("parameter")], [], [1 << 30, 1, 1, 1]),
                         entry(2, "y", conv, ["x", "w"], [1])]   // inference computes 2^60 elements
        expectError(json, entry: "y", ["y"]) { if case .graph = $0 { true } else { false } }

        var pool = window
        pool["kind"] = .string("maxpool2d")
        pool["kernel"] = .array([.int(1024), .int(1024)])
        json.schedule = [entry(0, "x", ["kind": .string("input")], [], [2048, 2048, 1], last: 1),
                         entry(1, "p", pool, ["x"], [1025, 1025, 1], last: 1)]
        expectError(json, entry: "p", ["254"]) { if case .graph = $0 { true } else { false } }

        pool["kernel"] = .array([.int(Int.max), .int(Int.max)])
        json.schedule[1]["op"] = .object(pool)
        expectError(json, entry: "p", ["op.kernel[0]"]) { if case .invalidField = $0 { true } else { false } }

        json.schedule = [entry(0, "x", ["kind": .string("input")], [], [Int(Int32.max), 2], last: 0)]
        expectError(json, entry: "x", ["shape"]) { if case .invalidField = $0 { true } else { false } }
    }

    @Test func oversizedScheduleIsRefusedBeforeReadingIt() throws {
        var json = try PlanJSON(plan)
        json.schedule = Array(repeating: [:], count: TrainingPlan.maxScheduleEntries + 1)
        expectError(json, entry: nil, ["\(TrainingPlan.maxScheduleEntries)"]) { if case .tooLarge = $0 { true } else { false } }
    }

    @Test func swappedEntriesAreRejected() throws {
        var json = try PlanJSON(plan)
        var s = json.schedule
        let a = json.index(of: "conv1")!, b = json.index(of: "relu1")!
        s.swapAt(a, b)
        json.schedule = s
        expectError(json, entry: "relu1", ["step"]) { if case .invalidField = $0 { true } else { false } }
        // With the step numbers fixed too, the input order gives it away.
        s[a]["step"] = .int(a)
        s[b]["step"] = .int(b)
        json.schedule = s
        expectError(json, entry: "relu1", ["conv1", "later"]) { if case .unknownName = $0 { true } else { false } }
    }
}
