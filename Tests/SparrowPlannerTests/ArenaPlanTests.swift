import Testing
import SparrowAutodiff
import SparrowIR
import SparrowPlanner

@Suite struct ArenaPlanTests {
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
                let plan = planArena(graph, scratchBytes: 64)
                try verifyArena(plan, for: graph)
                #expect(plan.size >= plan.persistentSize + 64)
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
        let plan = planArena(g)
        try verifyArena(plan, for: g)
        #expect(plan.offsets == [0, 128, 128, 0])
        #expect(plan.storage[r] == a)
        #expect(plan.size == 256)
        #expect(plan.lifetimes[a] == 1...3)
        _ = c
    }

    @Test func verifierCatchesOverlap() throws {
        var g = Graph()
        let x = try g.append("x", .input, type: TensorType(Shape(8)))
        _ = try g.append("y", .activation(.relu), [x])
        var plan = planArena(g)
        plan.offsets[1] = plan.offsets[0]
        #expect(throws: ArenaViolation.self) { try verifyArena(plan, for: g) }
    }

    @Test func parametersArePersistent() throws {
        var b = ModelBuilder(name: "p", seed: 1)
        let x = try b.linear(try b.flatten(try b.input(Shape(2, 2, 1))), outFeatures: 2)
        let m = try b.softmaxCrossEntropy(x)
        let plan = planArena(m.graph)
        for id in m.parameterIDs {
            #expect(plan.lifetimes[id] == 0...(m.graph.count - 1))
            #expect(plan.offsets[id] < plan.persistentSize)
        }
    }
}
