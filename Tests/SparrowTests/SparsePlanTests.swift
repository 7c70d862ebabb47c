import Foundation
import Testing
import Sparrow

@Suite struct SparsePlanTests {
    private func shippedTrain(_ n: Int) throws -> Dataset {
        let dir = Repo.path("datasets/fashion-mnist")
        return try Dataset.loadIDX(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz").subset(0..<n)
    }

    /// Fine-tuning through a sparse plan changes exactly the selected parameters: every
    /// frozen weight, frozen bias and unselected channel keeps its bits.
    @Test func sparseFineTuningTouchesOnlyTheSelection() throws {
        let model = try ModelFile.load(architecture: URL(fileURLWithPath: Repo.path("models/cnn-small.json")),
                                       weights: URL(fileURLWithPath: Repo.path("models/cnn-small.safetensors")))
        let spec = DefaultSpecs.sparse(for: model)
        var c = CompileOptions()
        c.spec = spec
        c.budget = 256 * 1024
        let plan = try compilePlan(model, options: c)
        var o = TrainingOptions()
        o.spec = spec
        o.batchSize = 1
        o.optimizer = .plainSGD
        o.learningRate = 0.05
        let trainer = try Trainer(plan: plan, model: model, options: o)
        _ = try trainer.trainEpoch(0, on: try shippedTrain(64))
        let after = trainer.model.weights
        var changed = 0
        for layer in plan.layers {
            let w0 = model.weights[layer.weight]!.scalars, w1 = after[layer.weight]!.scalars
            let c = layer.channelCount
            for i in w0.indices {
                let trains: Bool
                switch layer.update {
                case .frozen, .bias: trains = false
                case .weights: trains = layer.channels.map { $0.contains(i % c) } ?? true
                }
                if trains { changed += w0[i] != w1[i] ? 1 : 0 } else {
                    #expect(w0[i].bitPattern == w1[i].bitPattern, "\(layer.weight)[\(i)] changed but is frozen")
                }
            }
            if let b = layer.bias {
                let same = model.weights[b]!.scalars.map(\.bitPattern) == after[b]!.scalars.map(\.bitPattern)
                #expect(same == (layer.update == .frozen), "\(b): trained \(!same), spec \(layer.update.description)")
            }
        }
        #expect(changed > 0, "no selected weight changed")
    }

    /// The demo's sparse spec for the zoo CNN fits 256 KB; every zoo plan's peak is
    /// within 10 % of the live-set lower bound, and every plan passes the overlap verifier.
    @Test func zooPlansFitAndArePacked() throws {
        let cnn = try ModelZoo.smallCNN()
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: cnn)
        c.budget = 256 * 1024
        #expect(try compilePlan(cnn, options: c).memory.peakSRAM <= 256 * 1024)
        for name in ModelZoo.names {
            let model = try #require(try ModelZoo.model(named: name, seed: 1))
            for spec in [UpdateSpec.full, .classifierOnly, .biasOnly, DefaultSpecs.sparse(for: model)] {
                for reorder in [true, false] {
                    var o = CompileOptions()
                    o.spec = spec
                    o.reorderUpdates = reorder
                    let plan = try compilePlan(model, options: o)
                    try verifyMemoryPlan(plan.memory, for: plan.graph)
                    #expect(plan.memory.gap <= 0.10, "\(name) \(spec) reorder \(reorder): peak \(plan.memory.peakSRAM), bound \(plan.memory.lowerBound)")
                }
            }
        }
    }

    /// Updates fused into the gradient kernels give the same bits as stored gradients, with less SRAM.
    @Test func fusedUpdatesChangeMemoryNotBits() throws {
        let model = try ModelZoo.smallCNN(seed: 4)
        let data = try shippedTrain(24)
        for optimizer in [Optimizer.plainSGD, .momentum(momentum: 0.9, weightDecay: 1e-4), .defaultAdam] {
            for spec in [UpdateSpec.full, DefaultSpecs.sparse(for: model)] {
                var weights: [[String: Tensor]] = []
                var peaks: [Int] = []
                for fuse in [false, true] {
                    var c = CompileOptions()
                    c.spec = spec
                    c.optimizer = optimizer
                    c.fuseUpdates = fuse
                    let plan = try compilePlan(model, options: c)
                    try verifyMemoryPlan(plan.memory, for: plan.graph)
                    #expect(plan.memory.regions.contains(.fused) == fuse)
                    #expect(try TrainingPlan(decoding: plan.encodedJSON(), file: "fused.json") == plan)
                    var o = TrainingOptions()
                    o.spec = spec
                    o.batchSize = 1
                    o.optimizer = optimizer
                    o.learningRate = 0.01
                    let trainer = try Trainer(plan: plan, model: model, options: o)
                    _ = try trainer.trainEpoch(0, on: data)
                    weights.append(trainer.model.weights)
                    peaks.append(plan.memory.peakSRAM)
                }
                #expect(weights[0] == weights[1], "\(optimizer.name): fused and stored gradients train differently")
                #expect(peaks[1] <= peaks[0])
            }
        }
    }

    /// A plan with scratch for one core refuses to run split over eight, with an error, not a trap.
    @Test func planScratchIsCheckedAgainstTheKernels() throws {
        let model = try ModelZoo.smallCNN()
        let plan = try compilePlan(model, options: CompileOptions())
        var o = TrainingOptions()
        o.batchSize = 1
        o.optimizer = .plainSGD
        o.cores = 8
        #expect {
            try Trainer(plan: plan, model: model, options: o)
        } throws: { error in
            String(describing: error).contains("kernel scratch")
        }
    }

    /// INT8 and FP16 plans store tensors in their format: bytes follow the storage types,
    /// the plan file carries them, and the FP32 runtime refuses to run them.
    @Test func reducedPrecisionPlans() throws {
        let model = try ModelZoo.smallCNN()
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        let fp32 = try compilePlan(model, options: c)
        c.precision = .int8
        let int8 = try compilePlan(model, options: c)
        c.precision = .fp16
        let fp16 = try compilePlan(model, options: c)
        for plan in [int8, fp16] {
            try verifyMemoryPlan(plan.memory, for: plan.graph)
            #expect(try TrainingPlan(decoding: plan.encodedJSON(), file: "p.json") == plan)
            #expect(plan.memory.peakSRAM < fp32.memory.peakSRAM)
        }
        let g = int8.graph, t = int8.memory.dtypes
        #expect(t[g.id(named: "conv1.weight")!] == .int8 && int8.memory.regions[g.id(named: "conv1.weight")!] == .flash)
        #expect(t[g.id(named: "conv1.bias")!] == .int32)
        #expect(t[g.id(named: "pool1")!] == .int8)
        #expect(t[g.id(named: "relu1.mask")!] == .bit)
        #expect(t[g.id(named: "grad/pool2")!] == .fp32)
        #expect(t[g.id(named: "fc")!] == .fp32)
        #expect(int8.memory.flashBytes * 4 <= fp32.memory.flashBytes + 4 * 16 * 8)
        #expect(fp16.memory.dtypes[fp16.graph.id(named: "pool1")!] == .fp16)
        var adam = c
        adam.optimizer = .defaultAdam
        let fp16Adam = try compilePlan(model, options: adam)
        let state = try #require(fp16Adam.graph.ids.first { if case .optimizerState = fp16Adam.graph[$0].op { return true } else { return false } })
        #expect(fp16Adam.memory.dtypes[state] == .fp32, "FP16 plans keep optimizer state in FP32")
        var o = TrainingOptions()
        o.spec = c.spec
        o.batchSize = 1
        o.optimizer = .plainSGD
        #expect(throws: RuntimeError.self) { try Trainer(plan: int8, model: model, options: o) }
    }

    @Test func overBudgetIsAClearError() throws {
        var c = CompileOptions()
        c.budget = 64 * 1024
        #expect {
            try compilePlan(try ModelZoo.smallCNN(), options: c)
        } throws: { error in
            guard let e = error as? BudgetError else { return false }
            let text = e.description
            return e.peak > e.budget && text.contains("64 KB") && text.contains("Largest tensors alive at the peak") && !e.largest.isEmpty
        }
    }

    /// A plan written by `compile` and read back trains exactly like the in-memory plan.
    @Test func planFileRoundTripTrainsIdentically() throws {
        let model = try ModelZoo.smallCNN(seed: 3)
        var c = CompileOptions()
        c.spec = UpdateSpec([.all(.bias), .layer("pw3", .weights(Ratio(1, 4)!)), .lastLayers(1, .allWeights)])
        let plan = try compilePlan(model, options: c)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try plan.write(to: url)
        let loaded = try TrainingPlan(contentsOf: url)
        #expect(loaded == plan)
        var o = TrainingOptions()
        o.batchSize = 1
        o.optimizer = .plainSGD
        let data = try shippedTrain(32)
        let a = try Trainer(plan: plan, model: model, options: o), b = try Trainer(plan: loaded, model: model, options: o)
        _ = try a.trainEpoch(0, on: data)
        _ = try b.trainEpoch(0, on: data)
        #expect(a.model.weights == b.model.weights)
        #expect(a.arenaBytes == plan.memory.peakSRAM)
    }
}
