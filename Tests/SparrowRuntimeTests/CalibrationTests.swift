import Testing
@testable import SparrowRuntime
import SparrowData
import SparrowIR

@Suite struct CalibrationTests {
    @Test func rangesCoverEveryActivation() throws {
        let model = try Fixture.model(seed: 1)
        let data = try Fixture.data(count: 32, seed: 2)
        let c = try calibrate(model, on: data, samples: 16)
        #expect(c.samples == 16)
        let g = model.graph
        for id in g.ids where !g[id].op.isPersistentLeaf && g[id].op != .label && g[id].type.shape.rank > 0 {
            let r = try #require(c.ranges[g[id].name], "\(g[id].name) was not calibrated")
            #expect(r.lowerBound <= r.upperBound)
        }
        // ReLU outputs are never negative; the input lies in [0, 1] and covers both ends here.
        #expect(c.ranges["relu1"]!.lowerBound >= 0)
        #expect(c.ranges["input"]!.upperBound <= 1 && c.ranges["input"]!.lowerBound >= 0)
        let p = try #require(c.params("relu1"))
        #expect(p.representableRange.contains(c.ranges["relu1"]!.upperBound * 0.99))
        #expect(c.params("nope") == nil)
    }

    @Test func wrongDataIsAClearError() throws {
        let model = try Fixture.model(seed: 1)
        let wrong = try Dataset(name: "wrong", sampleShape: [2, 2, 1], samples: [0, 0, 0, 0], labels: [0], classCount: 1, classNames: nil)
        #expect(throws: RuntimeError.self) { try calibrate(model, on: wrong, samples: 1) }
    }
}
