import Testing
import SparrowAutodiff
import SparrowIR

/// Small models that together exercise every op's input, weight and bias gradient:
/// stride 2, asymmetric padding, depthwise, grouped, non-square inputs, overlapping
/// pools, residual add, both activations and both losses.
enum GradientModels {
    static func convStride2(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "conv-stride2", seed: seed)
        var x = try b.input(Shape(7, 5, 2))
        x = try b.conv2d(x, Conv2D(window: Window2D(kernel: (3, 2), stride: (2, 2), padding: (1, 0, 1, 1)), outChannels: 4))
        x = try b.relu(x)
        x = try b.conv2d(x, outChannels: 3, kernel: 1)
        x = try b.flatten(x)
        x = try b.linear(x, outFeatures: 3)
        return try b.softmaxCrossEntropy(x)
    }

    static func depthwiseGrouped(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "dw-grouped", seed: seed)
        var x = try b.input(Shape(6, 7, 2))
        x = try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1)
        x = try b.relu6(x)
        x = try b.depthwiseConv2d(x, kernel: 3, stride: 2, padding: 1)
        x = try b.relu(x)
        x = try b.conv2d(x, outChannels: 6, kernel: 3, padding: 1, groups: 2)
        x = try b.avgPool2d(x, Window2D(kernel: (2, 2), stride: (1, 1), padding: (1, 1, 0, 0)))
        x = try b.flatten(x)
        x = try b.linear(x, outFeatures: 4)
        return try b.softmaxCrossEntropy(x)
    }

    static func pooling(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "pooling", seed: seed)
        var x = try b.input(Shape(9, 8, 2))
        x = try b.conv2d(x, outChannels: 3, kernel: 3, padding: 1)
        x = try b.maxPool2d(x, kernel: 3, stride: 2, padding: 1)
        x = try b.conv2d(x, outChannels: 4, kernel: 3, padding: 1)
        x = try b.relu(x)
        x = try b.globalAvgPool(x)
        x = try b.linear(x, outFeatures: 5)
        return try b.softmaxCrossEntropy(x)
    }

    static func residual(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "residual", seed: seed)
        let input = try b.input(Shape(5, 6, 3))
        let stem = try b.relu(try b.conv2d(input, outChannels: 4, kernel: 3, padding: 1))
        let branch = try b.conv2d(try b.relu(try b.conv2d(stem, outChannels: 4, kernel: 3, padding: 1)), outChannels: 4, kernel: 1)
        var x = try b.add(stem, branch)
        x = try b.relu(x)
        x = try b.globalAvgPool(x)
        x = try b.linear(x, outFeatures: 3)
        return try b.softmaxCrossEntropy(x)
    }

    static func regression(seed: UInt64) throws -> Model {
        var b = ModelBuilder(name: "mse", seed: seed)
        var x = try b.input(Shape(4, 4, 1))
        x = try b.conv2d(x, outChannels: 2, kernel: 3, stride: 1, padding: 0, bias: false)
        x = try b.relu6(x)
        x = try b.reshape(x, to: Shape(2, 2, 2))
        x = try b.flatten(x)
        x = try b.linear(x, outFeatures: 4)
        return try b.meanSquaredError(x)
    }

    static let all: [(String, @Sendable (UInt64) throws -> Model)] = [
        ("conv stride 2, asymmetric padding, non-square", convStride2),
        ("depthwise, grouped, relu6, padded avgpool", depthwiseGrouped),
        ("overlapping maxpool, global average pool", pooling),
        ("residual add", residual),
        ("mse loss, reshape, no bias", regression),
    ]
}

@Suite struct GradientCheckTests {
    @Test(arguments: 0..<GradientModels.all.count)
    func directionalFiniteDifference(_ k: Int) throws {
        let (name, make) = GradientModels.all[k]
        for seed: UInt64 in [1, 2, 3] {
            print("gradient check '\(name)' seed \(seed)")
            let model = try make(seed)
            let h = GradientHarness(model: model, sample: randomSample(model, seed: seed &+ 100), label: Int32(seed % 3))
            let (numeric, analytic) = try h.directionalCheck(seed: seed &+ 200)
            #expect(abs(numeric - analytic) <= 2e-2 * max(abs(numeric), abs(analytic)) + 2e-4,
                    "\(name) seed \(seed): numeric \(numeric) analytic \(analytic)")
        }
    }

    /// Per-parameter central differences on a few coordinates of every parameter of the zoo-sized CNN.
    @Test func perParameterCoordinates() throws {
        let seed: UInt64 = 7
        print("per-parameter gradient check seed \(seed)")
        let model = try GradientModels.pooling(seed: seed)
        let h = GradientHarness(model: model, sample: randomSample(model, seed: seed), label: 1)
        let grads = try h.analyticGradients()
        var rng = SeededGenerator(seed: seed)
        let eps: Float = 2e-3
        for name in grads.keys.sorted() {
            for _ in 0..<4 {
                let i = rng.nextInt(below: grads[name]!.count)
                var plus = model.weights, minus = model.weights
                plus[name]!.scalars[i] += eps
                minus[name]!.scalars[i] -= eps
                let numeric = (try h.loss(plus) - h.loss(minus)) / Double(2 * eps)
                let analytic = Double(grads[name]![i])
                #expect(abs(numeric - analytic) <= 3e-2 * max(abs(numeric), abs(analytic)) + 5e-4,
                        "\(name)[\(i)]: numeric \(numeric) analytic \(analytic)")
            }
        }
    }

    /// Training a subset of the parameters gives exactly the full graph's gradients on that subset.
    @Test func subsetGradientsEqualFullGradients() throws {
        let model = try GradientModels.residual(seed: 5)
        let h = GradientHarness(model: model, sample: randomSample(model, seed: 9), label: 2)
        let full = try h.analyticGradients()
        let subset: Set<String> = ["fc1.weight", "fc1.bias", "pwconv1.weight"]
        let sparse = try h.analyticGradients(trainable: subset)
        #expect(Set(sparse.keys) == subset)
        for name in subset { #expect(sparse[name] == full[name], "\(name) differs between sparse and full graph") }
    }
}
