import Foundation
import Testing
import Sparrow

/// The cycle and energy model seen from plans: target files, the energy
/// calibration, per-step profiles, the profile cache and the autotuner.
@Suite struct CycleProfileTests {
    static let targets = URL(fileURLWithPath: Repo.path("targets"))

    static func target(_ name: String) throws -> Target { try #require(try Target.named(name, in: targets)) }

    static func writeTarget(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let data = try Data(contentsOf: targets.appendingPathComponent("pulp-cluster.json"))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&json)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-target-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return url
    }

    /// A target file must state its whole model: a missing or unknown timing field,
    /// or a negative energy, is an error naming the field.
    @Test func timingAndEnergyAreStrict() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("'timing.fp_fma' is missing", { j in var t = j["timing"] as! [String: Any]; t["fp_fma"] = nil; j["timing"] = t }),
            ("unknown field 'timing.warp_drive'", { j in var t = j["timing"] as! [String: Any]; t["warp_drive"] = 1; j["timing"] = t }),
            ("'energy_pj.l2_access'", { j in var e = j["energy_pj"] as! [String: Any]; e["l2_access"] = -1; j["energy_pj"] = e }),
            ("'energy_pj' must be an object", { j in j["energy_pj"] = nil }),
            ("unknown field 'efficiency.fp64_gflops_per_watt'", { j in j["efficiency"] = ["fp64_gflops_per_watt": 10] }),
        ]
        for (message, edit) in cases {
            let url = try Self.writeTarget(edit)
            defer { try? FileManager.default.removeItem(at: url) }
            #expect { _ = try Target(contentsOf: url) } throws: { "\($0)".contains(message) }
        }
        let t = try Self.target("pulp-cluster")
        #expect(t.timing.fpFused == 3 && t.timing.l2Latency == 14 && t.efficiency[.fp16] == 129)
    }

    /// The shipped energy models land on their chips' published efficiency (the calibration is current).
    @Test(arguments: ["pulp-cluster", "gap8-like"]) func energyCalibrationHolds(_ name: String) throws {
        guard let clang = toolchainClang() else { Issue.record("no clang beside swift"); return }
        let t = try Self.target(name)
        let measurements = try EnergyCalibration.measureAll(on: t, compiler: clang)
        #expect(!measurements.isEmpty)
        for m in measurements {
            let published = try #require(m.published, "\(name) \(m.arithmetic) has no published figure")
            print("[CycleProfileTests] \(name) \(m.arithmetic): \(m.opsPerWatt / 1e9) G/W, published \(published)")
            #expect(abs(m.opsPerWatt / 1e9 / published - 1) < 0.01)
        }
    }

    static func plan(cores: Int = 2) throws -> (TrainingPlan, Model, [[Float]], [Int32]) {
        let model = try ModelZoo.smallCNN(seed: 3)
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        c.cores = cores
        let plan = try compilePlan(model, options: c)
        var generator = SeededGenerator(seed: 5)
        let samples = (0..<1).map { _ in (0..<784).map { _ in Float.random(in: 0...1, using: &generator) } }
        return (plan, model, samples, [3])
    }

    /// A profile covers every plan step that runs kernels once, its cycles add up to
    /// (nearly all of) the emulated step, and its energy to the counters' energy.
    @Test func profileAccountsForTheStep() throws {
        guard let clang = toolchainClang() else { Issue.record("no clang beside swift"); return }
        let (plan, model, samples, labels) = try Self.plan()
        let target = try Self.target("pulp-cluster")
        let r = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 1, target: target, cores: 2, compiler: clang,
                                profile: true)
        let p = try #require(r.profile)
        print("[CycleProfileTests] cnn-small sparse, 2 cores: \(Int(p.cycles)) cycles per step (run \(r.cycles)), \(p.microjoules) µJ, \(p.macsPerCycle) MAC/cycle")
        #expect(Set(p.entries.map(\.node)).count == p.entries.count)
        #expect(p.entries.allSatisfy { $0.cycles > 0 && $0.picojoules > 0 })
        #expect(p.macs == p.entries.reduce(0) { $0 + $1.macs } && p.macs > 0)
        #expect(p.cycles + p.harnessCycles <= Double(r.cycles) && p.cycles > 0.5 * Double(r.cycles))
        #expect(Set(p.entries.map(\.phase)).isSubset(of: ["forward", "backward", "update"]))
        let total = r.counters.picojoules(target.energy) / 1e6
        #expect(p.microjoules < total && p.microjoules > 0.5 * total)
        #expect(p.entries.contains { $0.output.hasPrefix("L1<") }, "staged steps are reported in L1")
        #expect(p.svg().contains("<svg") && p.svg().contains("forward"))
    }

    /// The cache measures once; the second look-up reads the file.
    @Test func profileCacheMeasuresOnce() throws {
        guard let clang = toolchainClang() else { Issue.record("no clang beside swift"); return }
        let (plan, model, samples, labels) = try Self.plan()
        let target = try Self.target("pulp-cluster")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-profiles-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = ProfileCache(directory: dir)
        #expect(cache.cached(plan, target: target, cores: 2) == nil)
        let p = try cache.profile(plan, model: model, sample: samples[0], label: labels[0], target: target, cores: 2, compiler: clang)
        #expect(cache.cached(plan, target: target, cores: 2) == p)
        #expect(cache.cached(plan, target: target, cores: 1) == nil, "the core count is part of the key")
    }

    /// The autotuner measures every variant, keeps results bit-identical, and the
    /// tuning section survives the plan file.
    @Test func autotunerRecordsVariantsInThePlan() throws {
        guard let clang = toolchainClang() else { Issue.record("no clang beside swift"); return }
        let (plan, model, samples, labels) = try Self.plan()
        let r = try tuneKernels(plan, model: model, samples: samples, labels: labels, target: try Self.target("pulp-cluster"), cores: 2,
                                compiler: clang)
        #expect(r.cycles.count == kernelVariantCount)
        let tuning = try #require(r.plan.tuning)
        #expect(tuning.target == "pulp-cluster" && tuning.cores == 2)
        #expect(r.tunedCycles > 0 && r.tunedCycles <= r.baselineCycles * 1.01)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-tuned-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        var withChoice = r.plan
        let conv = try #require(plan.graph.ids.first { plan.graph[$0].op.name == "conv2d" })
        withChoice.tuning?.variants[conv] = 1
        try withChoice.write(to: url)
        #expect(try TrainingPlan(contentsOf: url).tuning == withChoice.tuning)
    }
}
