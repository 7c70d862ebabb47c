import Testing
@testable import SparrowRuntime
import SparrowIR

@Suite struct PostTrainingQuantizationTests {
    @Test func everyLayerIsQuantizedFaithfully() throws {
        let model = try Fixture.model(seed: 3)
        let c = try calibrate(model, on: try Fixture.data(count: 32, seed: 4), samples: 32)
        let layers = try quantizeModel(model, calibration: c)
        #expect(layers.map(\.name) == ["conv1", "dwconv1", "fc1"])
        #expect(layers[0].activation == .relu && layers[1].activation == .relu && layers[2].activation == .none)
        for l in layers {
            let node = model.graph[model.graph.id(named: l.name)!]
            let w = model.weights[model.graph[node.inputs[1]].name]!.scalars
            let channels = l.params.weightScales.count
            let depthwise = l.name == "dwconv1"
            for (i, v) in w.enumerated() {
                let ch = depthwise ? i % channels : i / (w.count / channels)
                let s = l.weights.scales[ch]
                #expect(abs(Float(l.weights.values[i]) * s - v) <= s / 2 * 1.0001, "\(l.name)[\(i)]")
            }
            for (k, s) in l.params.weightScales.enumerated() {
                #expect(abs(l.weightGradientScale[k] - 1 / (Double(s) * Double(s))) <= 1e-9 * l.weightGradientScale[k])
                #expect(l.multipliers(k) > 0)
            }
            #expect(l.bias.count == channels)
        }
    }
}

private extension QuantizedLayer {
    func multipliers(_ k: Int) -> Double { params.multipliers[k].real }
}
