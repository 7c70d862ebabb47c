import Foundation
import Testing
import Sparrow

/// An exported project, built with a host C compiler, trains bit-identically to
/// the native runtime: same per-step losses, same bytes of every trained tensor.
@Suite struct ExportTests {
    /// The C compiler beside the Swift toolchain's `swift` (always there), else `cc`.
    static let compiler = toolchainClang() ?? "cc"
    /// Kernel objects shared by the builds of every test run (keyed by sources, compiler and flags).
    static let objects = KernelObjectCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-test-kernel-objects"))

    /// Exports `plan`, builds it for the host, trains `steps` steps on `samples` both ways and expects the same bits.
    static func checkBitIdentical(_ plan: TrainingPlan, _ model: Model, samples: Dataset, steps: Int, cores: Int = 1) throws {
        let n = min(samples.count, steps)
        let check = try checkExport(plan, model: model, samples: (0..<n).map { Array(samples.sample(at: $0)) },
                                    labels: Array(samples.labels.prefix(n)), steps: steps, cores: cores, compiler: compiler,
                                    objects: objects)
        let label = "\(plan.modelName) \(plan.memory.precision.rawValue), \(cores) core(s)"
        #expect(check.lossesIdentical, "\(label): per-step losses differ")
        #expect(check.differing.isEmpty, "\(label): \(check.differing) differ after \(steps) steps")
        #expect(check.tensors > 0)
        print("[ExportTests] \(label): \(steps) steps bit-identical, \(check.tensors) tensors, last loss \(check.lastLoss)")
    }

    static func smallCNN() throws -> Model {
        try ModelFile.load(architecture: URL(fileURLWithPath: Repo.path("models/cnn-small.json")),
                           weights: URL(fileURLWithPath: Repo.path("models/cnn-small.safetensors")))
    }

    static func shipped(_ n: Int) throws -> Dataset {
        let dir = Repo.path("datasets/fashion-mnist")
        return try Dataset.loadIDX(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz").subset(0..<n)
    }

    static func plan(_ model: Model, _ precision: Precision, spec: UpdateSpec, calibration data: Dataset, cores: Int = 1,
                     optimizer: Optimizer = .plainSGD) throws -> TrainingPlan {
        var c = CompileOptions()
        c.spec = spec
        c.precision = precision
        c.cores = cores
        c.optimizer = optimizer
        if precision == .int8 { c.calibration = try calibrate(model, on: data, samples: data.count) }
        return try compilePlan(model, options: c)
    }

    @Test(arguments: Precision.allCases)
    func smallCNNTrainsBitIdentically(_ precision: Precision) throws {
        let model = try Self.smallCNN()
        let data = try Self.shipped(24)
        try Self.checkBitIdentical(try Self.plan(model, precision, spec: DefaultSpecs.sparse(for: model), calibration: data), model,
                                   samples: data, steps: 24)
    }

    /// A ResNet-8 slice (its last blocks and classifier train) on random images, with
    /// residual adds in every precision, and momentum in FP32 on 3 cores.
    @Test(arguments: Precision.allCases)
    func resNet8SliceTrainsBitIdentically(_ precision: Precision) throws {
        let model = try #require(try ModelZoo.model(named: "resnet8", seed: 7))
        var rng = SeededGenerator(seed: 11)
        print("[ExportTests] ResNet-8 samples: seed 11")
        let data = try Dataset(name: "noise", sampleShape: [32, 32, 3], samples: (0..<8 * 3072).map { _ in rng.nextUnitFloat() },
                               labels: (0..<8).map { Int32($0 % 10) }, classCount: 10, classNames: nil)
        let cores = precision == .fp32 ? 3 : 1
        let optimizer: Optimizer = precision == .fp32 ? .momentum(momentum: 0.9, weightDecay: 0) : .plainSGD
        let plan = try Self.plan(model, precision, spec: UpdateSpec(shorthand: "last:3")!, calibration: data, cores: cores, optimizer: optimizer)
        try Self.checkBitIdentical(plan, model, samples: data, steps: 8, cores: cores)
    }
}

extension ExportTests {
    /// A small plan's generated sources, committed; `SPARROW_RECORD_EXPORT=1` re-records
    /// them, so every change to code generation shows in review.
    @Test func goldenGeneratedCode() throws {
        var b = ModelBuilder(name: "tiny", seed: 7)
        var x = try b.input(Shape(6, 6, 1))
        x = try b.relu(try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1))
        x = try b.maxPool2d(x, kernel: 2)
        x = try b.linear(try b.flatten(x), outFeatures: 3)
        let model = try b.softmaxCrossEntropy(x)
        var c = CompileOptions()
        c.optimizer = .momentum(momentum: 0.9, weightDecay: 0)
        c.spec = UpdateSpec(shorthand: "last:1")!
        let plan = try compilePlan(model, options: c)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-golden-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.target = try Self.defaultTarget()
        _ = try exportProject(plan, model: model, to: dir, options: options)
        let fixtures = URL(fileURLWithPath: Repo.path("Tests/Fixtures/export"))
        let record = ProcessInfo.processInfo.environment["SPARROW_RECORD_EXPORT"] == "1"
        for file in ["sparrow_model.h", "sparrow_model.c", "Makefile", "rv32/link.ld", "rv32/platform.h"] {
            let generated = try Data(contentsOf: dir.appendingPathComponent(file))
            let golden = fixtures.appendingPathComponent("tiny-" + file.replacingOccurrences(of: "/", with: "-"))
            if record {
                try FileManager.default.createDirectory(at: fixtures, withIntermediateDirectories: true)
                try generated.write(to: golden)
                print("recorded \(golden.path)")
            }
            guard let expected = try? Data(contentsOf: golden) else {
                Issue.record("missing \(golden.path); run the tests with SPARROW_RECORD_EXPORT=1 to record it")
                continue
            }
            #expect(generated == expected, "\(file): code generation changed; review the diff and re-record with SPARROW_RECORD_EXPORT=1")
        }
    }
}

extension ExportTests {
    static func defaultTarget() throws -> Target {
        try #require(try Target.named(Target.defaultName, in: URL(fileURLWithPath: Repo.path("targets"))))
    }

    /// The rv32 image of a sparse int8 plan links for the default target; its arena is the plan's peak.
    @Test func rv32ImageLinksForTheDefaultTarget() throws {
        let model = try Self.smallCNN()
        let data = try Self.shipped(16)
        let plan = try Self.plan(model, .int8, spec: DefaultSpecs.sparse(for: model), calibration: data)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-rv32-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.target = try Self.defaultTarget()
        _ = try exportProject(plan, model: model, to: dir, options: options)
        let sizes = try buildRV32(dir, compiler: Self.compiler)
        print("[ExportTests] rv32 cnn-small int8: text \(sizes.text), rodata \(sizes.rodata), bss \(sizes.bss), arena \(sizes.arena)")
        #expect(sizes.arena == plan.memory.peakSRAM)
        #expect(sizes.text > 0 && sizes.rodata >= plan.memory.flashBytes)
    }

    /// The L1 staging buffer leaves room for the program's other L1 data (its
    /// constant tables grow with the model): the zoo networks' sparse plans link for
    /// the default target on all its cores.
    @Test(arguments: ["resnet8", "ds-cnn"], [Precision.fp32, .fp16]) func stagedImagesFitL1(_ name: String, _ precision: Precision) throws {
        let model = try #require(try ModelZoo.model(named: name, seed: 1))
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        c.precision = precision
        c.cores = precision == .fp32 ? 1 : 8  // FP32's conv scratch for 8 cores does not fit 256 KB of L2
        let plan = try compilePlan(model, options: c)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-l1-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = ExportOptions()
        options.target = try Self.defaultTarget()
        options.cores = c.cores
        let summary = try exportProject(plan, model: model, to: dir, options: options)
        let sizes = try buildRV32(dir, compiler: Self.compiler)
        print("[ExportTests] rv32 \(name) \(precision.rawValue) sparse: L1 stage buffer \(summary.staging.bytes) B, data \(sizes.data) B, bss \(sizes.bss) B, stacks \(sizes.stacks) B")
        #expect(summary.staging.bytes > 0 && sizes.data + sizes.bss + sizes.stacks <= options.target!.l1.bytes)
    }

    /// A plan over the target's L2 is refused before any C is compiled; an image over
    /// its flash fails to link with the linker's own message.
    @Test func imagesThatDoNotFitAreRefused() throws {
        let model = try Self.smallCNN()
        let plan = try Self.plan(model, .fp32, spec: DefaultSpecs.sparse(for: model), calibration: try Self.shipped(4))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-fit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var small = try Self.defaultTarget()
        small.l2.bytes = 64 * 1024
        var options = ExportOptions()
        options.target = small
        #expect { _ = try exportProject(plan, model: model, to: dir, options: options) } throws: { e in
            guard case .doesNotFit(let m) = e as? ExportError else { return false }
            return m.contains("L2") && m.contains("--budget")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path), "nothing may be written")
        var tinyFlash = try Self.defaultTarget()
        tinyFlash.flash.bytes = 96 * 1024  // the weights (87 KB) fit, the code does not
        options.target = tinyFlash
        _ = try exportProject(plan, model: model, to: dir, options: options)
        #expect { _ = try buildRV32(dir, compiler: Self.compiler) } throws: { e in
            guard case .build(let m) = e as? ExportError else { return false }
            return m.contains("FLASH")
        }
    }
}

extension ExportTests {
    /// Node names that are hostile to C (comment ends, quotes, trigraphs, non-ASCII)
    /// still give a project that builds warning-free and trains as the native runtime.
    @Test func hostileNamesStillBuild() throws {
        var b = ModelBuilder(name: "we*/ird \"model\"", seed: 3)
        var x = try b.input(Shape(4, 4, 1))
        x = try b.relu(try b.conv2d(x, outChannels: 2, kernel: 3, padding: 1, name: "c*/onv??/\"é"), name: "re\nlu")
        x = try b.linear(try b.flatten(x), outFeatures: 3, name: "t_c_onv")
        let model = try b.softmaxCrossEntropy(x)
        let plan = try compilePlan(model, options: CompileOptions())
        var rng = SeededGenerator(seed: 2)
        let samples = try Dataset(name: "noise", sampleShape: [4, 4, 1], samples: (0..<3 * 16).map { _ in rng.nextUnitFloat() },
                                  labels: [0, 1, 2], classCount: 3, classNames: nil)
        try Self.checkBitIdentical(plan, model, samples: samples, steps: 3)
    }

    /// An export onto an existing file or a foreign folder is refused and leaves it alone.
    @Test func exportNeverReplacesForeignFiles() throws {
        let model = try Self.smallCNN()
        let plan = try compilePlan(model, options: CompileOptions())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-foreign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("plan.json"), folder = dir.appendingPathComponent("firmware")
        try Data("keep me".utf8).write(to: file)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("int main(void) { return 0; }".utf8).write(to: folder.appendingPathComponent("sparrow_model.c"))
        for destination in [file, folder] {
            #expect(throws: ExportError.self) { _ = try exportProject(plan, model: model, to: destination) }
        }
        #expect(try Data(contentsOf: file) == Data("keep me".utf8))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("sparrow_model.c").path))
        // An earlier export is replaced.
        let out = dir.appendingPathComponent("export")
        _ = try exportProject(plan, model: model, to: out)
        _ = try exportProject(plan, model: model, to: out)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("sparrow_model.c").path))
    }
}

extension ExportTests {
    /// Every shipped target reads; the FPU-less one refuses floating-point plans plainly.
    @Test func shippedTargets() throws {
        let dir = URL(fileURLWithPath: Repo.path("targets"))
        let names = Target.names(in: dir)
        #expect(names.contains("pulp-cluster") && names.contains("gap8-like") && names.contains("rv32imf-mcu"))
        for n in names { _ = try #require(try Target.named(n, in: dir)) }
        let gap8 = try #require(try Target.named("gap8-like", in: dir))
        #expect(!gap8.hasFPU)
        let model = try Self.smallCNN()
        var options = ExportOptions()
        options.target = gap8
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-gap8-\(UUID().uuidString)")
        #expect { _ = try exportProject(try compilePlan(model, options: CompileOptions()), model: model, to: out, options: options) } throws: { e in
            "\(e)".contains("no FPU")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
