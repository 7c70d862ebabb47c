import Foundation
import SparrowIR
import SparrowPlanner
import SparrowRuntime

/// The result of running a plan both ways: natively and as its exported C
/// project built for the host.
public struct ExportCheck: Sendable {
    public var steps: Int
    /// Every per-step loss has the same bits.
    public var lossesIdentical: Bool
    /// Trained tensors (parameters, optimizer state) whose bytes differ; empty when bit-identical.
    public var differing: [String]
    /// Trained tensors compared.
    public var tensors: Int
    public var lastLoss: Float
    public var bitIdentical: Bool { lossesIdentical && differing.isEmpty && tensors > 0 }
}

/// Exports `plan` to a temporary folder, builds it with `make host CC=compiler`,
/// trains `steps` steps (cycling through `samples` in order, one per step, at
/// `learningRate`) with the exported harness and with the native `Trainer`, and
/// compares the losses and the bytes of every trained tensor.
public func checkExport(_ plan: TrainingPlan, model: Model, samples: [[Float]], labels: [Int32], steps: Int, learningRate: Float = 0.01,
                        cores: Int = 1, compiler: String, objects: KernelObjectCache? = nil) throws -> ExportCheck {
    precondition(!samples.isEmpty && samples.count == labels.count && steps >= 1, "checkExport: samples, labels and steps")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-check-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var options = ExportOptions()
    options.cores = cores
    options.learningRate = learningRate
    _ = try exportProject(plan, model: model, to: dir, options: options)
    try HarnessFiles.samples(samples, labels: labels).write(to: dir.appendingPathComponent("samples.bin"))
    let key = "host \(compiler) -O2"
    objects?.restore(into: dir, subdirectory: "build/host/kernels", key: key)
    _ = try runMake(["-j2", "host", "CC=\(compiler)", "CORES=\(cores)"], in: dir)
    objects?.store(from: dir, subdirectory: "build/host/kernels", key: key)
    let p = Process()
    p.executableURL = dir.appendingPathComponent("train")
    p.arguments = ["samples.bin", "\(steps)", "out.bin"]
    p.currentDirectoryURL = dir
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let result = HarnessFiles.result(try Data(contentsOf: dir.appendingPathComponent("out.bin"))) else {
        throw ExportError.build("the exported harness failed (exit \(p.terminationStatus))")
    }
    var o = TrainingOptions()
    o.batchSize = 1
    o.optimizer = plan.training.optimizer
    o.cores = cores
    let trainer = try Trainer(plan: plan, model: model, options: o)
    let losses = trainer.trainSteps(steps, samples: samples, labels: labels, learningRate: learningRate)
    var differing: [String] = []
    for (name, bytes) in result.state {
        guard let id = plan.graph.id(named: name), bytes == trainer.storedBytes(id) else { differing.append(name); continue }
    }
    if result.skippedSteps != trainer.lossScaler?.skippedSteps ?? 0 { differing.append("(skipped FP16 steps)") }
    return ExportCheck(steps: steps, lossesIdentical: result.losses.map(\.bitPattern) == losses.map(\.bitPattern), differing: differing,
                       tensors: result.state.count, lastLoss: result.losses.last ?? .nan)
}
