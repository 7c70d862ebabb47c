import Testing
import SparrowAutodiff
import SparrowIR
import SparrowPlanner

@Suite struct MemoryPlanTests {
    /// Random chain-with-residual CNNs: every plan passes the overlap verifier.
    @Test func randomGraphsHaveNoOverlaps() throws {
        for seed: UInt64 in 1...20 {
            print("arena plan seed \(seed)")
            var rng = SeededGenerator(seed: seed)
            var b = ModelBuilder(name: "random", seed: seed)
            var x = try b.input(Shape(4 + rng.nextInt(below: 8), 4 + rng.nextInt(below: 8), 1 + rng.nextInt(below: 3)))
            for _ in 0..<(1 + rng.nextInt(below: 4)) {
                let y = try b.relu(try b.conv2d(x, outChannels: 2 + rng.nextInt(below: 4), kernel: 3, padding: 1))
                if b.graph[y].type == b.graph[x].type, rng.nextInt(below: 2) == 0 { x = try b.add(x, y) } else { x = y }
            }
            x = try b.linear(try b.flatten(x), outFeatures: 3)
            let model = try b.softmaxCrossEntropy(x)
            for graph in [model.graph, try deriveTrainingGraph(model.graph, optimizer: .defaultAdam).graph] {
                let plan = planMemory(graph, options: PlannerOptions(scratchBytes: 64))
                try verifyMemoryPlan(plan, for: graph)
                #expect(plan.peakSRAM >= plan.persistentBytes + 64)
                #expect(plan.peakSRAM >= plan.lowerBound)
            }
        }
    }

    /// A golden plan: exact offsets for a tiny chain, so changes to the planner are visible.
    @Test func goldenOffsets() throws {
        var g = Graph()
        let x = try g.append("x", .input, type: TensorType(Shape(4, 4, 2)))   // 128 B
        let a = try g.append("a", .activation(.relu), [x])                     // 128 B
        let r = try g.append("r", .reshape, [a], type: TensorType(Shape(32)))  // alias of a
        let c = try g.append("c", .activation(.relu), [r])                     // 128 B
        let plan = planMemory(g, options: PlannerOptions(inPlace: false))
        try verifyMemoryPlan(plan, for: g)
        #expect(plan.offsets == [0, 128, 128, 0])
        #expect(plan.storage[r] == a)
        #expect(plan.peakSRAM == 256)
        #expect(plan.lifetimes[a] == 1...3)
        _ = c
    }

    @Test func verifierCatchesOverlap() throws {
        var g = Graph()
        let x = try g.append("x", .input, type: TensorType(Shape(8)))
        _ = try g.append("y", .activation(.relu), [x])
        var plan = planMemory(g, options: PlannerOptions(inPlace: false))
        plan.offsets[1] = plan.offsets[0]
        #expect(throws: PlanViolation.self) { try verifyMemoryPlan(plan, for: g) }
    }

    @Test func parametersArePersistent() throws {
        var b = ModelBuilder(name: "p", seed: 1)
        let x = try b.linear(try b.flatten(try b.input(Shape(2, 2, 1))), outFeatures: 2)
        let m = try b.softmaxCrossEntropy(x)
        let t = try deriveTrainingGraph(m.graph, optimizer: .plainSGD)
        let plan = planMemory(t.graph)
        for id in t.trainable {
            #expect(plan.lifetimes[id] == 0...(t.graph.count - 1))
            #expect(plan.regions[id] == .sram && plan.offsets[id] < plan.persistentBytes)
        }
        // Frozen (inference) weights go to flash.
        let inference = planMemory(m.graph)
        for id in m.parameterIDs { #expect(inference.regions[id] == .flash) }
    }
}
