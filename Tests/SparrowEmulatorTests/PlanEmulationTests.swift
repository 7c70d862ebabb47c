import Foundation
import Testing
import Sparrow

/// The exported plan, compiled for rv32 and run in the emulator, trains bit for
/// bit as the native runtime does, on 1 core and on the target's 8.
@Suite struct PlanEmulationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func smallCNN() throws -> Model {
        try ModelFile.load(architecture: root.appendingPathComponent("models/cnn-small.json"),
                           weights: root.appendingPathComponent("models/cnn-small.safetensors"))
    }

    static func shipped(_ n: Int) throws -> ([[Float]], [Int32]) {
        let dir = root.appendingPathComponent("datasets/fashion-mnist").path
        let d = try Dataset.loadIDX(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz").subset(0..<n)
        return ((0..<n).map { Array(d.sample(at: $0)) }, Array(d.labels.prefix(n)))
    }

    static let objects = KernelObjectCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-test-kernel-objects"))

    static func defaultTarget() throws -> Target {
        try #require(try Target.named(Target.defaultName, in: root.appendingPathComponent("targets")))
    }

    /// Native bytes of every trained tensor after `steps` steps, and the losses.
    static func native(_ plan: TrainingPlan, _ model: Model, _ samples: [[Float]], _ labels: [Int32], steps: Int, cores: Int)
        throws -> (state: [String: [UInt8]], losses: [Float]) {
        var o = TrainingOptions()
        o.batchSize = 1
        o.optimizer = plan.training.optimizer
        o.cores = cores
        let t = try Trainer(plan: plan, model: model, options: o)
        let losses = t.trainSteps(steps, samples: samples, labels: labels, learningRate: 0.01)
        var state: [String: [UInt8]] = [:]
        for id in plan.training.stateTensors { state[plan.graph[id].name] = t.storedBytes(id) }
        return (state, losses)
    }

    @Test(arguments: [(Precision.fp32, 1), (.fp32, 8), (.fp16, 1), (.fp16, 8), (.int8, 1), (.int8, 8)])
    func smallCNNTrainsBitIdenticallyInTheEmulator(_ precision: Precision, _ cores: Int) throws {
        let model = try Self.smallCNN()
        let (samples, labels) = try Self.shipped(4)
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        c.precision = precision
        c.cores = cores
        if precision == .int8 {
            let d = try Dataset(name: "cal", sampleShape: [28, 28, 1], samples: samples.flatMap { $0 }, labels: labels, classCount: 10, classNames: nil)
            c.calibration = try calibrate(model, on: d, samples: 4)
        }
        let plan = try compilePlan(model, options: c)
        let steps = 3
        let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: steps, target: try Self.defaultTarget(),
                                cores: cores, compiler: toolchainClang() ?? "clang", objects: Self.objects)
        let n = try Self.native(plan, model, samples, labels, steps: steps, cores: cores)
        print("[PlanEmulationTests] cnn-small \(precision.rawValue) on \(cores) core(s): \(r.instructions) instructions in \(String(format: "%.2f", r.seconds)) s = \(String(format: "%.1f", r.mips)) MIPS; per core \(r.instructionsPerCore)")
        #expect(r.losses.map(\.bitPattern) == n.losses.map(\.bitPattern), "losses differ: \(r.losses) vs \(n.losses)")
        for (name, bytes) in n.state {
            #expect(r.state[name] == bytes, "\(name) differs after \(steps) steps")
        }
    }
}

extension PlanEmulationTests {
    /// A ResNet-8 slice (last layers trained, residual adds) on seeded noise, on 8
    /// emulated cores. The target's L2 is raised to 1 MB: FP32's im2col scratch for
    /// 8 cores does not fit 256 KB (bits, not fit, are the subject here).
    @Test(arguments: [(Precision.fp32, 1), (.fp32, 8), (.fp16, 1), (.fp16, 8), (.int8, 1), (.int8, 8)])
    func resNet8SliceTrainsBitIdenticallyInTheEmulator(_ precision: Precision, _ cores: Int) throws {
        let model = try #require(try ModelZoo.model(named: "resnet8", seed: 7))
        var rng = SeededGenerator(seed: 13)
        print("[PlanEmulationTests] ResNet-8 samples: seed 13")
        let samples = (0..<2).map { _ in (0..<3072).map { _ in rng.nextUnitFloat() } }
        let labels: [Int32] = [3, 8]
        var c = CompileOptions()
        c.spec = UpdateSpec(shorthand: "last:2")!
        c.precision = precision
        c.cores = cores
        if precision == .int8 {
            let d = try Dataset(name: "cal", sampleShape: [32, 32, 3], samples: samples.flatMap { $0 }, labels: labels, classCount: 10, classNames: nil)
            c.calibration = try calibrate(model, on: d, samples: 2)
        }
        let plan = try compilePlan(model, options: c)
        var large = try Self.defaultTarget()
        large.l2.bytes = 1 << 20
        let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 2, target: large, cores: cores,
                                compiler: toolchainClang() ?? "clang", objects: Self.objects)
        let n = try Self.native(plan, model, samples, labels, steps: 2, cores: cores)
        print("[PlanEmulationTests] resnet8 \(precision.rawValue) on \(cores) cores: \(r.instructions) instructions, \(String(format: "%.1f", r.mips)) MIPS")
        #expect(r.losses.map(\.bitPattern) == n.losses.map(\.bitPattern))
        for (name, bytes) in n.state { #expect(r.state[name] == bytes, "\(name) differs") }
    }
}

extension PlanEmulationTests {
    /// With little L1, the rv32 build runs the convs that do not fit in double-buffered
    /// bands of rows (`L1Staging.Bands`): the export must band some call, and the
    /// emulated training must keep the native bits.
    @Test(arguments: [Precision.fp32, .fp16])
    func bandedCallsTrainBitIdentically(_ precision: Precision) throws {
        let model = try Self.smallCNN()
        let (samples, labels) = try Self.shipped(2)
        var c = CompileOptions()
        c.spec = .full
        c.precision = precision
        c.cores = 2
        let plan = try compilePlan(model, options: c)
        var target = try Self.defaultTarget()
        target.l1.bytes = 48 * 1024  // 12 KB for staging after eight 4 KB stacks and the reserve
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-bands-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.target = target
        options.cores = 2
        let summary = try exportProject(plan, model: model, to: dir, options: options)
        let banded = summary.staging.calls.values.compactMap(\.bands)
        #expect(!banded.isEmpty, "no call was banded")
        print("[PlanEmulationTests] \(precision.rawValue): \(banded.count) banded calls, bands per call \(banded.map(\.shapes.count))")
        let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 2, target: target, cores: 2,
                                compiler: toolchainClang() ?? "clang", objects: Self.objects)
        let n = try Self.native(plan, model, samples, labels, steps: 2, cores: 2)
        #expect(r.losses.map(\.bitPattern) == n.losses.map(\.bitPattern))
        for (name, bytes) in n.state { #expect(r.state[name] == bytes, "\(name) differs") }
    }
}
