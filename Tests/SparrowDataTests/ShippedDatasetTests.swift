import Foundation
import Testing

@testable import SparrowData

@Suite("Shipped Fashion-MNIST subset")
struct ShippedDatasetTests {
    func directory() throws -> String {
        let root = try #require(TestSupport.repoRoot, "run the tests from inside the repository")
        return try FashionMNIST.directory(repoRoot: root)
    }

    @Test(arguments: FashionMNIST.Split.allCases)
    func loadsBalancedSubset(split: FashionMNIST.Split) throws {
        let dataset = try FashionMNIST.load(split, directory: directory())
        let perClass = split.shippedPerClass
        #expect(dataset.count == 10 * perClass)
        #expect(dataset.classCounts == [Int](repeating: perClass, count: 10))
        #expect(dataset.sampleShape == [28, 28, 1])
        #expect(dataset.classNames == FashionMNIST.classNames)
        #expect(dataset.name == "fashion-mnist/\(split.rawValue)")
        // The first image of both official splits is an ankle boot; the subset keeps official order.
        #expect(dataset.labels.first == 9)
        // Fashion-MNIST's mean pixel is about 0.286; a wrong decode would be far off.
        let mean = dataset.samples.reduce(0, +) / Float(dataset.samples.count)
        #expect(mean > 0.27 && mean < 0.30, "mean pixel \(mean)")
        print(dataset.summary)
    }

    @Test func classNamesAndMissingDirectory() throws {
        #expect(FashionMNIST.classNames.count == 10)
        #expect(FashionMNIST.classNames[0] == "T-shirt/top" && FashionMNIST.classNames[9] == "Ankle boot")
        let empty = try TestSupport.temporaryDirectory()
        defer { TestSupport.removeDirectory(empty) }
        do {
            _ = try FashionMNIST.directory(repoRoot: empty)
            Issue.record("an empty directory has no dataset")
        } catch {
            #expect(error.file.hasSuffix("datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
            #expect(error.description.contains("import_fashion_mnist.py"))
        }
        #expect(FashionMNIST.findRepoRoot(from: empty) == nil)
        let root = try #require(TestSupport.repoRoot)
        #expect(FashionMNIST.findRepoRoot(from: root + "/datasets/fashion-mnist") == root)
    }
}
