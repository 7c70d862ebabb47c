import Foundation
import Testing
import Sparrow

/// The shadow map of the arena: a correct plan runs clean, a plan whose tensors
/// overlap is caught at the first read of clobbered bytes, naming the tensor and step.
@Suite struct ShadowMapTests {
    static func plan(_ precision: Precision = .fp32) throws -> (TrainingPlan, Model, [[Float]], [Int32]) {
        let model = try PlanEmulationTests.smallCNN()
        let (samples, labels) = try PlanEmulationTests.shipped(2)
        var c = CompileOptions()
        c.spec = DefaultSpecs.sparse(for: model)
        c.precision = precision
        c.cores = 2
        if precision == .int8 {
            let d = try Dataset(name: "cal", sampleShape: [28, 28, 1], samples: samples.flatMap { $0 }, labels: labels, classCount: 10, classNames: nil)
            c.calibration = try calibrate(model, on: d, samples: 2)
        }
        return (try compilePlan(model, options: c), model, samples, labels)
    }

    @Test(arguments: [Precision.fp32, .int8])
    func correctPlansRunClean(_ precision: Precision) throws {
        let (plan, model, samples, labels) = try Self.plan(precision)
        _ = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 1, target: try PlanEmulationTests.defaultTarget(),
                            cores: 2, compiler: toolchainClang() ?? "clang", checkMemory: true, objects: PlanEmulationTests.objects)
    }

    @Test func overlappingTensorsAreReported() throws {
        var (plan, model, samples, labels) = try Self.plan()
        let g = plan.graph, m = plan.memory
        // Plant the overlap: place the max-pool output where the ReLU it reads lives.
        let pool = try #require(g.ids.first { if case .maxPool2d = g[$0].op { return true } else { return false } })
        let source = m.storage[g[pool].inputs[0]]
        plan.memory.offsets[pool] = m.offsets[source]
        var fault: EmulatorFault?
        do {
            _ = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 1, target: try PlanEmulationTests.defaultTarget(),
                                cores: 2, compiler: toolchainClang() ?? "clang", checkMemory: true, objects: PlanEmulationTests.objects)
        } catch let f as EmulatorFault { fault = f }
        let f = try #require(fault, "the overlap went unnoticed")
        print("[ShadowMapTests] \(f)")
        guard case .planViolation(let why) = f.kind else { Issue.record("expected a plan violation, got \(f)"); return }
        #expect(why.contains("'\(g[source].name)'") && why.contains("'\(g[pool].name)'"))
        #expect(f.step == pool, "the report names the step that read the clobbered bytes")
    }
}

extension ShadowMapTests {
    /// A tensor planted beyond L2 faults at the step that writes it, naming the step.
    @Test func tensorOutsideMemoryIsReported() throws {
        var (plan, model, samples, labels) = try Self.plan()
        let g = plan.graph
        let pool = try #require(g.ids.first { if case .maxPool2d = g[$0].op { return true } else { return false } })
        plan.memory.offsets[pool] = 300 * 1024  // L2 holds 256 KB
        var fault: EmulatorFault?
        do {
            _ = try emulatePlan(plan, model: model, samples: samples, labels: labels, steps: 1, target: try PlanEmulationTests.defaultTarget(),
                                cores: 2, compiler: toolchainClang() ?? "clang", objects: PlanEmulationTests.objects)
        } catch let f as EmulatorFault { fault = f }
        let f = try #require(fault, "the write outside L2 went unnoticed")
        print("[ShadowMapTests] \(f)")
        #expect(f.kind == .outOfBounds && f.step == pool && (f.location ?? "").contains("beyond the arena"))
    }
}
