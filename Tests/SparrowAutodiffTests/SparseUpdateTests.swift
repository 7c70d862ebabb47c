import Foundation
import Testing
@testable import SparrowRuntime
import SparrowAutodiff
import SparrowIR

@Suite struct SparseUpdateTests {
    /// conv(3×3) – relu – depthwise – relu – pointwise – relu – gap – linear: every kind of layer a partial update touches.
    private func model(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "sparse", seed: seed)
        var x = try b.input(Shape(9, 8, 3))
        x = try b.relu(try b.conv2d(x, outChannels: 8, kernel: 3, padding: 1, name: "c1"))
        x = try b.relu(try b.depthwiseConv2d(x, kernel: 3, stride: 2, padding: 1, name: "dw"))
        x = try b.relu(try b.conv2d(x, outChannels: 12, kernel: 1, name: "pw"))
        x = try b.maxPool2d(x, kernel: 2)
        x = try b.linear(try b.flatten(x), outFeatures: 5, name: "fc")
        return try b.softmaxCrossEntropy(x)
    }

    /// Gradients of every training-graph parameter for one sample.
    private func gradients(_ t: TrainingGraph, _ weights: [String: Tensor], _ sample: [Float], label: Int32) throws -> [String: [Float]] {
        let e = try Executor(graph: t.graph, weights: t.parameterValues(from: weights), pinned: Set(t.gradients.values))
        e.write(sample, to: t.graph.ids(where: { $0 == .input })[0])
        e.write(int32: [label], to: t.graph.ids(where: { $0 == .label })[0])
        e.run(t.graph.ids, context: StepContext(), updates: false)
        var g = [String: [Float]]()
        for (p, grad) in t.gradients { g[t.graph[p].name] = e.read(grad) }
        return g
    }

    /// The pruned, partial-channel graph's gradients equal the full graph's on what trains, bit for bit.
    @Test func sparseGradientsEqualFullGradients() throws {
        for seed: UInt64 in [1, 2, 3] {
            print("sparse vs full gradients, seed \(seed)")
            let m = try model(seed: seed)
            var rng = SeededGenerator(seed: seed &+ 50)
            let sample = (0..<(9 * 8 * 3)).map { _ in Float(rng.nextGaussian()) }
            let full = try gradients(try deriveTrainingGraph(m.graph, optimizer: .plainSGD), m.weights, sample, label: 2)
            let spec = UpdateSpec([.all(.bias), .layer("dw", .weights(Ratio(1, 4)!)), .layer("pw", .weights(Ratio(1, 2)!)),
                                   .lastLayers(1, .weights(Ratio(1, 8)!))])
            let t = try deriveTrainingGraph(m, spec: spec, optimizer: .plainSGD)
            let sparse = try gradients(t, m.weights, sample, label: 2)
            #expect(Set(sparse.keys) == ["c1.bias", "dw.bias", "pw.bias", "fc.bias", "dw.weight.trainable", "pw.weight.trainable",
                                         "fc.weight.trainable"])
            for (name, g) in sparse {
                if let slice = t.slices[name] {
                    let fullSlice = slice.gather(Tensor(shape: m.weights[slice.source]!.shape, scalars: full[slice.source]!))
                    #expect(g.map(\.bitPattern) == fullSlice.scalars.map(\.bitPattern), "\(name) differs from the full gradient's slice")
                } else {
                    #expect(g.map(\.bitPattern) == full[name]!.map(\.bitPattern), "\(name) differs from the full gradient")
                }
            }
        }
    }

    /// Channels are chosen by weight L2 norm (top-k), and those are exactly the ones the graph trains.
    @Test func channelsAreTheTopKByNorm() throws {
        let m = try model(seed: 4)
        let plans = try UpdateSpec([.layer("pw", .weights(Ratio(1, 4)!))]).resolve(m)
        let pw = try #require(plans.first { $0.layer == "pw" })
        let w = m.weights["pw.weight"]!
        let norms = (0..<8).map { c in stride(from: c, to: w.scalars.count, by: 8).reduce(0.0) { $0 + Double(w.scalars[$1] * w.scalars[$1]) } }
        let expected = norms.indices.sorted { norms[$0] > norms[$1] }.prefix(2).sorted()
        #expect(pw.channels == Array(expected))
        let t = try deriveTrainingGraph(m, spec: UpdateSpec([.layer("pw", .weights(Ratio(1, 4)!))]), optimizer: .plainSGD)
        #expect(t.slices["pw.weight.trainable"]?.channels.indices == Array(expected))
    }

    /// A bias-only layer keeps no input activation: nothing in the backward pass reads its input.
    @Test func biasOnlyLayersSaveNoInput() throws {
        let m = try model(seed: 5)
        let t = try deriveTrainingGraph(m, spec: .biasOnly, optimizer: .plainSGD)
        let g = t.graph
        for layer in ["c1", "dw", "pw", "fc"] {
            let node = g[g.id(named: layer)!]
            let input = node.inputs[0]
            let backwardReaders = g.ids.filter { $0 >= t.forwardEnd && g[$0].inputs.contains(input) }
            #expect(backwardReaders.isEmpty, "\(layer)'s input is read by \(backwardReaders.map { g[$0].name })")
        }
        #expect(!g.nodes.contains { if case .conv2dWeightGrad = $0.op { return true } else { return false } })
    }

    @Test func updatesAtTheEndWithoutReordering() throws {
        let m = try model(seed: 6)
        let t = try deriveTrainingGraph(m, spec: .full, optimizer: .plainSGD, reorderUpdates: false)
        let updates = t.updates.values.sorted()
        let lastBackward = t.graph.ids.filter { t.phase(of: $0) == .backward }.max()!
        #expect(updates.allSatisfy { $0 > lastBackward })
        let reordered = try deriveTrainingGraph(m, spec: .full, optimizer: .plainSGD)
        let firstUpdate = reordered.updates.values.min()!
        #expect(reordered.graph.ids.contains { reordered.phase(of: $0) == .backward && $0 > firstUpdate })
    }

    @Test func specShorthandsAndFiles() throws {
        let m = try model(seed: 7)
        #expect(try UpdateSpec(shorthand: "last:2")!.resolve(m).map(\.update) == [.frozen, .frozen, .allWeights, .allWeights])
        #expect(try UpdateSpec(shorthand: "bias-last:3")!.resolve(m).map(\.update) == [.frozen, .bias, .bias, .bias])
        let tte = try UpdateSpec(shorthand: "tte:2:-2@1/2")!.resolve(m).map(\.update)
        #expect(tte == [.frozen, .frozen, .weights(Ratio(1, 2)!), .allWeights])
        let json = #"{"format": "sparrow-update-spec", "version": 1, "default": "bias", "layers": {"pw": "weights 1/4", "fc": {"weights": 0.5}}}"#
        let spec = try UpdateSpec(json: Data(json.utf8), file: "s.json")
        #expect(try spec.resolve(m).map(\.update) == [.bias, .bias, .weights(Ratio(1, 4)!), .weights(Ratio(1, 2)!)])
        #expect(throws: SpecError.self) { try UpdateSpec(json: Data(#"{"lyers": {}}"#.utf8), file: "s.json") }
        #expect(throws: SpecError.self) { try UpdateSpec(json: Data(#"{"layers": {"pw": "weights 3/2"}}"#.utf8), file: "s.json") }
        #expect(throws: SpecError.unknownLayer("nope", known: ["c1", "dw", "pw", "fc"])) {
            try UpdateSpec([.layer("nope", .bias)]).resolve(m)
        }
        #expect(UpdateSpec(shorthand: "last:x") == nil)
    }
}
