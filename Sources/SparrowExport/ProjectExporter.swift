import Foundation
import SparrowAutodiff
import SparrowIR
import SparrowPlanner
import SparrowRuntime

/// Writes `plan` (with the parameter values of `model`) as a standalone C project
/// in `directory`: the kernel library's sources, the generated `sparrow_model.{h,c}`,
/// the port header, a host harness, a Makefile and a README.
///
/// The project is written to a temporary folder next to `directory` and moved
/// into place at the end, so a failure leaves nothing half-written. An existing
/// `directory` is replaced only if it is an empty folder or an earlier export
/// (it holds the `.sparrow-export` marker this function writes); anything else
/// (a file, another folder) is an error and is left alone.
public func exportProject(_ plan: TrainingPlan, model: Model, to directory: URL, options: ExportOptions = ExportOptions()) throws(ExportError) -> ExportSummary {
    let source = try ModelSource(plan: plan, model: model, options: options)
    if let t = options.target { try checkFits(plan, source: source, target: t) }
    let kernels = options.kernelSources ?? defaultKernelSources
    let fm = FileManager.default
    var kernelFiles: [(String, URL)] = []
    for sub in ["", "include"] {
        let dir = sub.isEmpty ? kernels : kernels.appendingPathComponent(sub)
        guard let items = try? fm.contentsOfDirectory(atPath: dir.path) else {
            throw .kernelSourcesMissing("\(dir.path) cannot be listed")
        }
        for item in items.sorted() where item.hasSuffix(".c") || item.hasSuffix(".h") {
            kernelFiles.append(((sub.isEmpty ? "kernels/" : "kernels/include/") + item, dir.appendingPathComponent(item)))
        }
    }
    guard kernelFiles.contains(where: { $0.0 == "kernels/include/sparrow_kernels.h" }) else {
        throw .kernelSourcesMissing("\(kernels.path) holds no include/sparrow_kernels.h")
    }
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue, let items = try? fm.contentsOfDirectory(atPath: directory.path),
              items.isEmpty || items.contains(exportMarker) else {
            throw .io("\(directory.path) exists and is not an earlier export; choose a new folder")
        }
    }
    let staging = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).partial-\(UUID().uuidString)")
    do {
        try fm.createDirectory(at: staging.appendingPathComponent("kernels/include"), withIntermediateDirectories: true)
        var files: [String] = []
        for (relative, url) in kernelFiles {
            try fm.copyItem(at: url, to: staging.appendingPathComponent(relative))
            files.append(relative)
        }
        var generated: [(String, String)] = [
            ("sparrow_model.h", source.header()),
            ("sparrow_model.c", try source.source()),
            ("sparrow_port.h", ProjectFiles.port),
            ("main.c", ProjectFiles.harness),
            ("Makefile", ProjectFiles.makefile(modelName: plan.modelName, cores: options.cores, target: options.target)),
            ("README.md", ProjectFiles.readme(modelName: plan.modelName, precision: plan.memory.precision.rawValue,
                                              arena: plan.memory.peakSRAM, flash: plan.memory.flashBytes)),
        ]
        if let t = options.target {
            try fm.createDirectory(at: staging.appendingPathComponent("rv32"), withIntermediateDirectories: true)
            generated += [("rv32/platform.h", RV32Files.platform(t)), ("rv32/link.ld", RV32Files.linkerScript(t)),
                          ("rv32/start.S", RV32Files.start), ("rv32/main.c", RV32Files.main), ("rv32/samples.S", RV32Files.samples),
                          ("rv32/libc.c", RV32Files.libc), ("rv32/cluster.c", RV32Files.cluster)]
        }
        generated.append((exportMarker, "Written by sparrow export; a later export may replace this folder.\n"))
        for (name, text) in generated {
            try Data(text.utf8).write(to: staging.appendingPathComponent(name))
            files.append(name)
        }
        // Swap: the old export moves aside first and is deleted only once the new one is in place.
        let old = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
        let replacing = fm.fileExists(atPath: directory.path)
        if replacing { try fm.moveItem(at: directory, to: old) }
        do { try fm.moveItem(at: staging, to: directory) } catch {
            if replacing { try? fm.moveItem(at: old, to: directory) }
            throw error
        }
        if replacing { try? fm.removeItem(at: old) }
        return ExportSummary(directory: directory, files: files.sorted(), arenaBytes: plan.memory.peakSRAM, flashBytes: plan.memory.flashBytes,
                             calls: source.executor.invocations.count, staging: source.staging)
    } catch let e as ExportError {
        try? fm.removeItem(at: staging)
        throw e
    } catch {
        try? fm.removeItem(at: staging)
        throw .io("cannot write \(directory.path): \(error.localizedDescription)")
    }
}

/// The file that marks a folder as written by `exportProject`.
private let exportMarker = ".sparrow-export"

/// The kernel library next to this module's sources (a Sparrow checkout).
let defaultKernelSources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("CSparrowKernels")

/// The plan against the target's memories, before any C is compiled: the arena
/// must fit L2, and the flash image with the exported initial values must fit flash.
private func checkFits(_ plan: TrainingPlan, source: ModelSource, target t: Target) throws(ExportError) {
    guard t.hasFPU else {
        throw .doesNotFit("target '\(t.name)' (\(t.march)) has no FPU; every Sparrow plan computes in floating point somewhere (INT8 plans in their FP32 backward pass)")
    }
    let arena = plan.memory.peakSRAM
    guard arena <= t.l2.bytes else {
        throw .doesNotFit("the plan needs \(kilobytes(arena)) of SRAM for its arena; target '\(t.name)' has \(kilobytes(t.l2.bytes)) of L2. "
                          + "Compile the plan with --budget \(t.l2.bytes / 1024)KB (or a sparser spec, int8) to fit it.")
    }
    let flash = plan.memory.flashBytes + source.initialBytes
    guard flash <= t.flash.bytes else {
        throw .doesNotFit("the plan's frozen weights and initial values take \(kilobytes(flash)) of flash before any code; "
                          + "target '\(t.name)' has \(kilobytes(t.flash.bytes)).")
    }
}
