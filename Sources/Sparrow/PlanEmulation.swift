import Foundation

/// What running a plan's exported rv32 image in the emulator produced.
public struct EmulationResult: Sendable {
    /// Training steps run (the `steps` argument).
    public var steps: Int
    /// Loss of each step, as the device computed it (read from the image's
    /// `sparrow_rv32_losses` table), `steps` values.
    public var losses: [Float]
    /// Trainable parameters and optimizer state after the run, by tensor name: the raw
    /// little-endian bytes in the emulated arena, in the plan's storage type
    /// (`MemoryPlan.dtypes`).
    public var state: [String: [UInt8]]
    /// Instructions retired by all cores over the whole run.
    public var instructions: UInt64
    /// Instructions retired by each core.
    public var instructionsPerCore: [UInt64]
    /// Cycles of the whole run, start-up included: the cluster's clock (its slowest core).
    public var cycles: UInt64
    /// Every counter of the cycle model over the whole run, each core brought to the
    /// cluster's clock (`ClusterCounters.aligned()`).
    public var counters: ClusterCounters
    /// Cost of one training step op by op, averaged over the steps; nil unless `profile` was asked for.
    public var profile: PlanProfile?
    /// Host wall-clock seconds spent emulating (export, build and loading excluded).
    public var seconds: Double
    /// What the program wrote to the console register, decoded as UTF-8.
    public var console: String
    /// Million simulated instructions per host second (0 if ``seconds`` is 0).
    public var mips: Double { seconds > 0 ? Double(instructions) / seconds / 1e6 : 0 }
}

/// Trains a plan on the emulated target: exports it, builds its rv32 image and runs it to the end.
///
/// Exports `plan` for `target` into a fresh folder of the temporary directory
/// (removed on return), builds its rv32 image with `compiler` (`make rv32`, the
/// samples linked into flash, `steps` training steps cycling through them, `cores`
/// cores), loads it into a `Machine` and runs it until the harness exits. Faults
/// are thrown as `EmulatorFault`s that name the plan step and the tensor an
/// address belongs to.
///
/// - Precondition: `samples` is not empty, `labels` has one label per sample, and
///   `steps >= 1`.
/// - Parameters:
///   - plan: The plan to run; it must fit `target`'s memories.
///   - model: The model the plan was compiled from (architecture and initial weights).
///   - samples: Input samples, each with the model's input element count; step `s`
///     trains on `samples[s % samples.count]`.
///   - labels: One class label per sample.
///   - steps: Training steps to run (batch 1).
///   - target: The MCU to emulate.
///   - cores: Cores the kernels split over; at most `target.cores`.
///   - compiler: The clang that builds the rv32 image (name on `PATH` or a path).
///   - learningRate: The learning rate the exported project starts with.
///   - instructionLimit: Instructions (all cores together) after which the run stops
///     with an `EmulatorFault` of kind `instructionLimit`.
///   - checkMemory: Turns on the shadow map of the arena: slower, every load is
///     checked against the plan (a violation is an `EmulatorFault` of kind
///     `planViolation`), and the kernels run on the arena itself (no L1 staging, so
///     the cycles differ from a normal run).
///   - cache: A folder for built images, keyed by a digest of the exported project's
///     files and the make variables: a hit skips the build, a miss writes
///     `<digest>.elf` there. Nil builds every time.
///   - objects: Compiled kernel objects shared between builds (restored before
///     `make`, stored after); nil compiles them each time.
///   - profile: Collects the cost of each plan step from the step markers into
///     ``EmulationResult/profile``.
///   - kernelVariant: Runs every kernel call in this variant instead of the plan's
///     tuning (the autotuner's candidates); nil follows the plan.
///   - progress: Called with the number of training steps finished: when the next
///     step starts, and with `steps` at the end of a clean run.
/// - Returns: Losses, trained state, counters and (if asked) the profile.
/// - Throws: `ExportError.unsupported` when `cores` exceeds `target.cores`;
///   any `ExportError` of `exportProject(_:model:to:options:)` (e.g.
///   `ExportError.doesNotFit`); `ExportError.build` when `make` fails,
///   the image lacks the harness's symbols, or the harness exits non-zero (samples of
///   the wrong size); `LoadError` for an image the emulator cannot load;
///   `EmulatorFault` for a fault, a deadlock, the instruction limit or a plan
///   violation; file errors from writing the samples or reading the image.
public func emulatePlan(_ plan: TrainingPlan, model: Model, samples: [[Float]], labels: [Int32], steps: Int, target: Target,
                        cores: Int = 1, compiler: String, learningRate: Float = 0.01,
                        instructionLimit: UInt64 = 20_000_000_000, checkMemory: Bool = false, cache: URL? = nil,
                        objects: KernelObjectCache? = nil, profile: Bool = false, kernelVariant: Int? = nil,
                        progress: ((Int) -> Void)? = nil) throws -> EmulationResult {
    precondition(!samples.isEmpty && samples.count == labels.count && steps >= 1, "emulatePlan: samples, labels and steps")
    guard cores <= target.cores else { throw ExportError.unsupported("target '\(target.name)' has \(target.cores) cores, not \(cores)") }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-emulate-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var options = ExportOptions()
    options.target = target
    options.cores = cores
    options.learningRate = learningRate
    options.l1Staging = !checkMemory  // the shadow map checks the arena: kernels must read it, not L1 copies
    options.kernelVariant = kernelVariant
    let exported = try exportProject(plan, model: model, to: dir, options: options)
    try HarnessFiles.samples(samples, labels: labels).write(to: dir.appendingPathComponent("samples.bin"))
    let make = ["-j2", "rv32", "RV32_CC=\(compiler)", "CORES=\(cores)", "CFLAGS=-O2 -DSPARROW_RV32_STEPS=\(steps)"]
    // The image depends only on the project's files and the make variables: cached by their digest.
    let cached = try cache.map { $0.appendingPathComponent(try projectDigest(dir, make: make) + ".elf") }
    let elf: Data
    if let cached, let data = try? Data(contentsOf: cached) {
        elf = data
    } else {
        let key = "rv32 \(compiler)"  // kernel objects take no -D of the make line but the platform header (in the digest)
        objects?.restore(into: dir, subdirectory: "build/rv32/kernels", key: key)
        _ = try runMake(make, in: dir)
        objects?.store(from: dir, subdirectory: "build/rv32/kernels", key: key)
        elf = try Data(contentsOf: dir.appendingPathComponent("sparrow.elf"))
        if let cached {
            try? FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? AtomicFile.write(elf, to: cached)
        }
    }
    let image = try ELFImage([UInt8](elf))
    let machine = Machine(target: target)
    try machine.load(image)
    guard let arena = image.symbols["sparrow_arena"]?.address, let lossTable = image.symbols["sparrow_rv32_losses"]?.address else {
        throw ExportError.build("the rv32 image lacks the sparrow_arena or sparrow_rv32_losses symbol")
    }
    let memory = plan.memory, graph = plan.graph
    let flash = image.symbols["sparrow_flash"]?.address
    machine.describeAddress = { [unowned machine] address in
        describe(address, arena: arena, flash: flash, plan: plan, step: machine.step)
    }
    if checkMemory { machine.watcher = PlanShadow(plan: plan, base: arena) }
    // A training step starts where the step markers go back to an earlier plan step.
    var last = Int.max, started = 0
    var recorder = ProfileRecorder()
    machine.onStep = { [unowned machine] s in
        if s < last {
            if started > 0 { progress?(started) }
            started += 1
        }
        last = s
        if profile { recorder.mark(s, machine.counters) }
    }
    let t0 = Date()
    let stop = machine.run(limit: instructionLimit)
    let seconds = Date().timeIntervalSince(t0)
    switch stop {
    case .fault(let f): throw f
    case .exited(let code) where code != 0:
        throw ExportError.build("the rv32 harness exited with code \(code) (1: malformed samples, 2: samples of the wrong size)")
    case .exited: progress?(steps)
    }
    recorder.mark(nil, machine.counters)
    var state: [String: [UInt8]] = [:]
    for id in plan.training.stateTensors {
        let size = memory.dtypes[id].byteCount(elements: graph[id].type.shape.elementCount)
        state[graph[id].name] = machine.read(arena &+ UInt32(memory.offsets[id]), count: size) ?? []
    }
    let lossBytes = machine.read(lossTable, count: 4 * steps) ?? []
    let losses = stride(from: 0, to: lossBytes.count, by: 4).map { k in
        Float(bitPattern: UInt32(lossBytes[k]) | UInt32(lossBytes[k + 1]) << 8 | UInt32(lossBytes[k + 2]) << 16 | UInt32(lossBytes[k + 3]) << 24)
    }
    return EmulationResult(steps: steps, losses: losses, state: state, instructions: machine.instructions,
                           instructionsPerCore: machine.retired, cycles: machine.cycles, counters: machine.counters.aligned(),
                           profile: profile ? PlanProfile(plan: plan, intervals: recorder.intervals, steps: steps, target: target, cores: cores,
                                                             staged: exported.staging.tensors) : nil,
                           seconds: seconds, console: String(decoding: machine.console, as: UTF8.self))
}

/// A digest of every file of an exported project and the make variables.
private func projectDigest(_ dir: URL, make: [String]) throws -> String {
    var digest = ContentDigest()
    let fm = FileManager.default
    let files = (fm.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []).sorted()
    for f in files {
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: dir.appendingPathComponent(f).path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        digest.mix(f.utf8)
        digest.mix(try Data(contentsOf: dir.appendingPathComponent(f)))
    }
    for m in make { digest.mix(m.utf8) }
    return digest.hex
}

/// The plan tensor (live at `step`) an arena or flash address belongs to, or the region.
private func describe(_ address: UInt32, arena: UInt32, flash: UInt32?, plan: TrainingPlan, step: Int?) -> String? {
    let m = plan.memory, g = plan.graph
    if let flash, address >= flash, address < flash &+ UInt32(m.flashBytes) {
        let offset = Int(address - flash)
        let tensor = g.ids.first { m.regions[$0] == .flash && offset >= m.offsets[$0] && offset < m.offsets[$0] + m.sizes[$0] }
        return "flash offset \(offset)" + (tensor.map { ", frozen tensor '\(g[$0].name)'" } ?? "")
    }
    guard address >= arena, address < arena &+ UInt32(m.peakSRAM) else {
        return address >= arena && address < arena &+ 0x1000_0000 ? "beyond the arena's \(m.peakSRAM) bytes" : nil
    }
    let offset = Int(address - arena)
    if offset >= m.scratchOffset && offset < m.scratchOffset + m.scratchSize { return "kernel scratch" }
    let candidates = g.ids.filter { id in
        m.regions[id] == .sram && offset >= m.offsets[id] && offset < m.offsets[id] + m.sizes[id]
    }
    if let s = step, let live = candidates.first(where: { m.lifetimes[$0].contains(s) }) {
        return "arena offset \(offset), tensor '\(g[live].name)' (live \(m.lifetimes[live].lowerBound)–\(m.lifetimes[live].upperBound))"
    }
    if let any = candidates.first {
        return "arena offset \(offset), tensor '\(g[any].name)', not live at this step (plan overlap or stale read)"
    }
    return "arena offset \(offset), outside every tensor of the plan"
}
