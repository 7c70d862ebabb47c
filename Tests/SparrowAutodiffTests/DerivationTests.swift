import Testing
import SparrowAutodiff
import SparrowIR

@Suite struct DerivationTests {
    private func cnn() throws -> Model {
        var b = ModelBuilder(name: "cnn", seed: 1)
        var x = try b.input(Shape(8, 8, 1))
        x = try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1, name: "conv1")
        x = try b.relu(x, name: "relu1")
        x = try b.maxPool2d(x, kernel: 2, name: "pool1")
        x = try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1, name: "conv2")
        x = try b.relu(x, name: "relu2")
        x = try b.flatten(x)
        x = try b.linear(x, outFeatures: 3, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }

    @Test func trainingGraphIsValidAndComplete() throws {
        let m = try cnn()
        let t = try deriveTrainingGraph(m.graph, optimizer: .defaultAdam)
        try t.graph.verify()
        #expect(t.trainable.count == 6)
        for p in t.trainable {
            let u = try #require(t.updates[p])
            // Adam: parameter, gradient, first and second moment.
            #expect(t.graph[u].inputs.count == 4)
            #expect(t.graph[u].inputs[0] == p)
            // Every reader of the parameter runs before its update.
            let readers = t.graph.ids.filter { t.graph[$0].inputs.contains(p) && $0 != u && t.graph[$0].op != .optimizerState(.firstMoment) && t.graph[$0].op != .optimizerState(.secondMoment) }
            #expect(readers.allSatisfy { $0 < u }, "\(t.graph[p].name) is read after its update")
        }
    }

    @Test func phasesFollowThePositionInTheStep() throws {
        let t = try deriveTrainingGraph(try cnn().graph, optimizer: .plainSGD)
        let g = t.graph
        #expect(t.phase(of: g.id(named: "conv1.weight")!) == .leaf)
        #expect(t.phase(of: g.id(named: "conv1")!) == .forward)
        #expect(t.phase(of: g.id(named: "relu1.mask")!) == .forward)
        #expect(t.phase(of: g.id(named: "grad/conv1.weight")!) == .backward)
        #expect(t.phase(of: g.id(named: "update/conv1.weight")!) == .update)
        // Forward nodes all come first: inference runs nodes 0..<forwardEnd.
        #expect(g.ids.filter { t.phase(of: $0) == .forward }.allSatisfy { $0 < t.forwardEnd })
        #expect(g.loss! < t.forwardEnd)
    }

    @Test func backPropagationStopsAtTheFirstTrainableLayer() throws {
        let t = try deriveTrainingGraph(try cnn().graph, optimizer: .plainSGD)
        let names = Set(t.graph.nodes.map(\.name))
        #expect(!names.contains("grad/input"), "the image input must not get a gradient")
        #expect(names.contains("grad/pool1"))
        // Only conv2 onwards when conv1 is frozen: no gradient reaches relu1's input.
        let frozen = try deriveTrainingGraph(try cnn().graph, trainable: ["conv2.weight", "conv2.bias", "fc.weight", "fc.bias"], optimizer: .plainSGD)
        let frozenNames = Set(frozen.graph.nodes.map(\.name))
        #expect(!frozenNames.contains("grad/pool1"))
        #expect(!frozenNames.contains("relu1.mask"))
        #expect(frozenNames.contains("relu2.mask"))
    }

    @Test func reluKeepsAOneBitMask() throws {
        let t = try deriveTrainingGraph(try cnn().graph, optimizer: .plainSGD)
        let mask = try #require(t.graph.id(named: "relu1.mask"))
        #expect(t.graph[mask].type.dtype == .bit)
        #expect(t.graph[mask].type.byteCount == (8 * 8 * 4 + 7) / 8)
        let argmax = try #require(t.graph.id(named: "pool1.argmax"))
        #expect(t.graph[argmax].type.dtype == .uint8)
        // The masked gradient reads the mask, not the activation.
        let g = try #require(t.graph.id(named: "grad/conv1"))
        #expect(t.graph[g].op == .maskedGradient && t.graph[g].inputs[1] == mask)
    }

    /// A layer nothing depends on is dropped, with its parameters.
    @Test func deadNodesAreRemoved() throws {
        var b = ModelBuilder(name: "dead", seed: 1)
        let x = try b.input(Shape(4, 4, 1))
        let used = try b.conv2d(x, outChannels: 2, kernel: 3, padding: 1, name: "used")
        _ = try b.conv2d(x, outChannels: 3, kernel: 1, name: "unused")
        let m = try b.softmaxCrossEntropy(try b.linear(try b.flatten(try b.relu(used)), outFeatures: 2))
        let t = try deriveTrainingGraph(m.graph, optimizer: .plainSGD)
        let names = Set(t.graph.nodes.map(\.name))
        #expect(!names.contains("unused") && !names.contains("unused.weight") && !names.contains("unused.bias"))
        #expect(names.contains("used") && names.contains("update/used.weight"))
        try t.graph.verify()
    }

    @Test func errorsNameTheProblem() throws {
        var b = ModelBuilder(name: "no-loss", seed: 1)
        let x = try b.linear(try b.flatten(try b.input(Shape(2, 2, 1))), outFeatures: 2)
        let inference = try b.build(output: x)
        #expect(throws: AutodiffError.noLoss) { try deriveTrainingGraph(inference.graph, optimizer: .plainSGD) }
        #expect(throws: AutodiffError.unknownParameter("fc9.weight")) {
            try deriveTrainingGraph(try cnn().graph, trainable: ["fc9.weight"], optimizer: .plainSGD)
        }
        let training = try deriveTrainingGraph(try cnn().graph, optimizer: .plainSGD)
        #expect(throws: AutodiffError.self) { try deriveTrainingGraph(training.graph, optimizer: .plainSGD) }
    }
}
