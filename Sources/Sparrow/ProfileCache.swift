import Foundation

/// Per-step profiles of plans measured once in the emulator and kept on disk, keyed
/// by a digest of the plan file, the target, the core count and the kernel sources:
/// the native trainer prices a whole fine-tuning run from it without emulating
/// every step (steps of a plan cost the same cycles whatever the data).
public struct ProfileCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// The file a profile of `plan` on `target` with `cores` is (or would be) cached in.
    public func file(for plan: TrainingPlan, target: Target, cores: Int) -> URL {
        var digest = ContentDigest()
        digest.mix(plan.encodedJSON())
        digest.mix(String(describing: target).utf8)
        digest.mix("cores \(cores)".utf8)
        digest.mix(kernelSourcesDigest().utf8)
        return directory.appendingPathComponent(digest.hex + ".json")
    }

    /// The cached profile, if any.
    public func cached(_ plan: TrainingPlan, target: Target, cores: Int) -> PlanProfile? {
        guard let data = try? Data(contentsOf: file(for: plan, target: target, cores: cores)) else { return nil }
        return try? JSONDecoder().decode(PlanProfile.self, from: data)
    }

    /// The cached profile, or one measured now (one training step on `samples[0]`) and cached.
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
