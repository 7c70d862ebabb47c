import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import Sparrow

@Suite struct ChartTests {
    /// The training plot is well-formed XML with one polyline per multi-point series and a dot per test point.
    @Test func trainingCurveIsWellFormedSVG() throws {
        var curve = TrainingCurve(title: "t<1>")
        for epoch in 0..<2 {
            for done in stride(from: 10, through: 100, by: 10) {
                curve.record(StepProgress(epoch: epoch, samplesDone: done, samplesTotal: 100, loss: 1 / Double(done + epoch * 100),
                                          accuracy: Double(done) / 200))
            }
            curve.record(EpochReport(epoch: epoch, trainLoss: 0.5, trainAccuracy: 0.5,
                                     test: { var e = Evaluation(classes: 2); e.loss = 0.4; e.accuracy = 0.6; e.samples = 10; return e }(),
                                     learningRate: 0.1, seconds: 1, samplesPerSecond: 100))
        }
        #expect(curve.running.count == 20)
        let svg = curve.svg()
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "SVG is not well-formed XML: \(String(describing: parser.parserError))")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4)   // train + test, in both charts
        #expect(svg.components(separatedBy: "<circle").count - 1 == 4)     // two test points per chart
        #expect(svg.contains("t&lt;1&gt;: loss"))
    }
}
