import Foundation

/// Per-step profiles of plans measured once in the emulator and kept on disk, keyed
/// by a digest of the plan file, the target, the core count and the kernel sources:
/// the native trainer prices a whole fine-tuning run from it without emulating
/// every step (steps of a plan cost the same cycles whatever the data).
///
/// The key does not include the compiler that builds the image: profiles measured
/// with different compilers share an entry. Entries are never evicted; delete the
/// folder to clear it.
public struct ProfileCache: Sendable {
    /// The folder holding one `<digest>.json` file per profile; created on the first store.
    public let directory: URL

    /// A cache in `directory`; nothing is read or created until it is used.
    public init(directory: URL) { self.directory = directory }

    /// The file a profile of `plan` on `target` with `cores` is (or would be) cached in.
    ///
    /// Hashes the plan file (tuning included), the target's full description, the
    /// core count, and the kernel library's sources as found next to this package's
    /// sources (`kernelSourcesDigest(_:)`), so a kernel edit invalidates every entry.
    /// The digest is FNV-1a (`ContentDigest`), not cryptographic.
    ///
    /// - Returns: `directory/<digest>.json`; the file may not exist.
    public func file(for plan: TrainingPlan, target: Target, cores: Int) -> URL {
        var digest = ContentDigest()
        digest.mix(plan.encodedJSON())
        digest.mix(String(describing: target).utf8)
        digest.mix("cores \(cores)".utf8)
        digest.mix(kernelSourcesDigest().utf8)
        return directory.appendingPathComponent(digest.hex + ".json")
    }

    /// The cached profile, if any.
    ///
    /// - Returns: The decoded profile, or nil when the file is missing or does not decode.
    public func cached(_ plan: TrainingPlan, target: Target, cores: Int) -> PlanProfile? {
        guard let data = try? Data(contentsOf: file(for: plan, target: target, cores: cores)) else { return nil }
        return try? JSONDecoder().decode(PlanProfile.self, from: data)
    }

    /// The cached profile, or one measured now and cached.
    ///
    /// On a miss, emulates one training step of `plan` on `sample` with
    /// ``emulatePlan(_:model:samples:labels:steps:target:cores:compiler:learningRate:instructionLimit:checkMemory:cache:objects:profile:kernelVariant:progress:)``
    /// (default learning rate) and writes the profile to ``file(for:target:cores:)``
    /// (JSON, sorted keys, atomically), creating ``directory`` if needed. A failed
    /// write is ignored: the profile is still returned.
    ///
    /// - Parameters:
    ///   - plan: The plan to profile.
    ///   - model: The model the plan was compiled from.
    ///   - sample: One input sample with the model's input element count.
    ///   - label: Its class label.
    ///   - target: The MCU to emulate.
    ///   - cores: Cores the kernels split over; at most `target.cores`.
    ///   - compiler: The clang that builds the rv32 image.
    ///   - elfCache: A folder of built rv32 images (the `cache` of `emulatePlan`); nil builds the image.
    /// - Returns: The profile of one step (``PlanProfile/stepsEmulated`` is 1 for a fresh one).
    /// - Throws: Whatever `emulatePlan` throws (`ExportError`, `LoadError`,
    ///   `EmulatorFault`); never on a cache hit.
    public func profile(_ plan: TrainingPlan, model: Model, sample: [Float], label: Int32, target: Target, cores: Int,
                        compiler: String, elfCache: URL? = nil) throws -> PlanProfile {
        if let p = cached(plan, target: target, cores: cores) { return p }
        let r = try emulatePlan(plan, model: model, samples: [sample], labels: [label], steps: 1, target: target, cores: cores,
                                compiler: compiler, cache: elfCache, profile: true)
        guard let p = r.profile else { throw ExportError.build("the emulator returned no profile") }
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try? AtomicFile.write(try encoder.encode(p), to: file(for: plan, target: target, cores: cores))
        return p
    }
}
