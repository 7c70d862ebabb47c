import Foundation
import Testing

@testable import SparrowData

/// The MNIST digits sample of the on-device task (datasets/mnist-digits): a
/// 400-per-digit training stream and a disjoint 100-per-digit test set.
@Suite("Shipped MNIST digits sample")
struct ShippedDigitsTests {
    @Test(arguments: [("train", 400), ("t10k", 100)])
    func loadsBalancedSplit(_ prefix: String, _ perDigit: Int) throws {
        let root = try #require(TestSupport.repoRoot, "run the tests from inside the repository")
        let dir = root + "/datasets/mnist-digits/"
        let d = try Dataset.loadIDX(images: dir + "\(prefix)-images-idx3-ubyte.gz", labels: dir + "\(prefix)-labels-idx1-ubyte.gz",
                                    classCount: 10, name: "mnist-digits/\(prefix)")
        #expect(d.count == 10 * perDigit)
        #expect(d.classCounts == [Int](repeating: perDigit, count: 10))
        #expect(d.sampleShape == [28, 28, 1])
        // MNIST's mean pixel is about 0.13 (black background, thin strokes); a wrong decode would be far off.
        let mean = d.samples.reduce(0, +) / Float(d.samples.count)
        #expect(mean > 0.11 && mean < 0.15, "mean pixel \(mean)")
        print(d.summary)
    }
}
