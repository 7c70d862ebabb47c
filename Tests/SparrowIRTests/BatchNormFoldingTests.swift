import Foundation
import Testing
@testable import SparrowIR

/// A folded model must compute what the unfolded conv followed by batch-norm
/// computes; the unfolded side is evaluated here by a tiny fp64 reference that
/// shares no code with the loader.
@Suite("batch-norm folding")
struct BatchNormFoldingTests {
    enum Kind: String, CaseIterable { case conv, grouped, depthwise, linear }

    struct Case: CustomTestStringConvertible {
        var kind: Kind
        var bias: Bool
        var seed: UInt64
        var testDescription: String { "\(kind.rawValue) bias=\(bias) seed=\(seed)" }
    }

    static let cases: [Case] = Kind.allCases.flatMap { k in [false, true].map { (k, $0) } }
        .enumerated().map { i, kb in Case(kind: kb.0, bias: kb.1, seed: 100 + UInt64(i)) }

    static let channels = 4, size = 5, eps = 1e-3

    static func architecture(_ c: Case) -> String {
        let layer: String
        switch c.kind {
        case .conv: layer = #"{"name": "conv", "op": "conv2d", "out_channels": 4, "kernel": 3, "stride": [1, 2], "padding": [1, 0, 0, 1], "bias": \#(c.bias)}"#
        case .grouped: layer = #"{"name": "conv", "op": "conv2d", "out_channels": 4, "kernel": [3, 1], "padding": [1, 0], "groups": 2, "bias": \#(c.bias)}"#
        case .depthwise: layer = #"{"name": "conv", "op": "depthwise_conv2d", "kernel": 3, "padding": 1, "bias": \#(c.bias)}"#
        case .linear: layer = #"{"name": "flat", "op": "flatten"}, {"name": "conv", "op": "linear", "out_features": 4, "bias": \#(c.bias)}"#
        }
        return """
        {"format": "sparrow-model", "version": 1, "name": "bn-\(c.kind.rawValue)",
         "input": {"shape": [\(size), \(size), \(channels)]},
         "layers": [\(layer), {"name": "bn", "op": "batchnorm", "eps": \(eps)}],
         "loss": "none"}
        """
    }

    /// Weight shape in Sparrow layout for each kind.
    static func weightShape(_ kind: Kind) -> Shape {
        switch kind {
        case .conv: return Shape(4, 3, 3, 4)
        case .grouped: return Shape(4, 3, 1, 2)
        case .depthwise: return Shape(3, 3, 4)
        case .linear: return Shape(4, size * size * channels)
        }
    }

    /// Conv (or linear) then batch-norm, directly from the definitions, in fp64.
    static func naiveConvThenBN(_ c: Case, x: [Double], t: [String: Tensor]) -> [Double] {
        let w = t["conv.weight"]!.scalars.map(Double.init)
        let b = t["conv.bias"].map { $0.scalars.map(Double.init) } ?? [0, 0, 0, 0]
        var y: [Double] = []
        var channelOf: (Int) -> Int = { $0 }
        switch c.kind {
        case .linear:
            for o in 0..<4 {
                var acc = b[o]
                for i in x.indices { acc += w[o * x.count + i] * x[i] }
                y.append(acc)
            }
        case .conv, .grouped, .depthwise:
            // Kernel, stride, padding (top, left, bottom, right), in- and out-channels per group, as in `architecture`.
            let g: [Int]
            switch c.kind {
            case .conv: g = [3, 3, 1, 2, 1, 0, 0, 1, 4, 4]
            case .grouped: g = [3, 1, 1, 1, 1, 0, 1, 0, 2, 2]
            default: g = [3, 3, 1, 1, 1, 1, 1, 1, 1, 1]
            }
            let (kh, kw, sh, sw, pt, pl, pb, pr, cpg, opg) = (g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9])
            let ho = (size + pt + pb - kh) / sh + 1, wo = (size + pl + pr - kw) / sw + 1
            for oh in 0..<ho {
                for ow in 0..<wo {
                    for o in 0..<4 {
                        var acc = b[o]
                        for i in 0..<kh {
                            for j in 0..<kw {
                                let ih = oh * sh + i - pt, iw = ow * sw + j - pl
                                if ih < 0 || iw < 0 || ih >= size || iw >= size { continue }
                                for k in 0..<cpg {
                                    let wv = c.kind == .depthwise ? w[(i * kw + j) * 4 + o] : w[((o * kh + i) * kw + j) * cpg + k]
                                    acc += wv * x[(ih * size + iw) * channels + (o / opg) * cpg + k]
                                }
                            }
                        }
                        y.append(acc)
                    }
                }
            }
            channelOf = { $0 % 4 }
        }
        let g = t["bn.weight"]!.scalars, beta = t["bn.bias"]!.scalars
        let mean = t["bn.running_mean"]!.scalars, variance = t["bn.running_var"]!.scalars
        return y.indices.map { i in
            let ch = channelOf(i)
            return (y[i] - Double(mean[ch])) / (Double(variance[ch]) + eps).squareRoot() * Double(g[ch]) + Double(beta[ch])
        }
    }

    @Test("folded forward equals conv then batch-norm", arguments: cases)
    func foldedForward(_ c: Case) throws {
        announce(seed: c.seed, "batchnorm.foldedForward \(c.testDescription)")
        var rng = SeededGenerator(seed: c.seed)
        var t: [String: Tensor] = ["conv.weight": rng.tensor(Self.weightShape(c.kind))]
        if c.bias { t["conv.bias"] = rng.tensor(Shape(4)) }
        t["bn.weight"] = Tensor(shape: Shape(4), scalars: (0..<4).map { _ in 0.5 + rng.nextUnitFloat() })
        t["bn.bias"] = rng.tensor(Shape(4))
        t["bn.running_mean"] = rng.tensor(Shape(4), scale: 0.5)
        t["bn.running_var"] = Tensor(shape: Shape(4), scalars: (0..<4).map { _ in 0.2 + 2 * rng.nextUnitFloat() })

        let model = try ModelFile.decode(architecture: Data(Self.architecture(c).utf8),
                                         weights: try SafetensorsFile(tensors: t).encoded())
        #expect(model.graph.id(named: "bn") == nil)
        let conv = try #require(model.graph.id(named: "conv"))
        #expect(model.graph[conv].inputs.count == 3, "folding gives the layer a bias")
        #expect(model.graph.prediction == conv, "the batch-norm's name resolves to the layer it folded into")

        let x = (0..<(Self.size * Self.size * Self.channels)).map { _ in Double(rng.symmetric()) }
        let folded = try #require(ReferenceForward.run(model, input: x)[conv])
        let expected = Self.naiveConvThenBN(c, x: x, t: t)
        #expect(folded.count == expected.count)
        for (a, b) in zip(folded, expected) {
            #expect(abs(a - b) <= 1e-5 * (1 + abs(b)), "folded \(a) vs reference \(b)")
        }

        // A folded model saves without the batch-norm and reloads to the same model.
        let json = try ModelFile.architectureJSON(model)
        #expect(!String(decoding: json, as: UTF8.self).contains("batchnorm"))
        #expect(try ModelFile.decode(architecture: json, weights: ModelFile.weights(of: model).encoded()) == model)
    }

    @Test("without weights, batch-norm folds with fresh statistics")
    func freshStatistics() throws {
        let c = Case(kind: .conv, bias: false, seed: 0)
        let folded = try ModelFile.decode(architecture: Data(Self.architecture(c).utf8), weights: nil, seed: 9)
        let plainText = Self.architecture(c).replacingOccurrences(of: #", {"name": "bn", "op": "batchnorm", "eps": 0.001}"#, with: "")
        #expect(plainText != Self.architecture(c))
        let plain = try ModelFile.decode(architecture: Data(plainText.utf8), weights: nil, seed: 9)
        let w0 = try #require(plain.weights["conv.weight"]), w1 = try #require(folded.weights["conv.weight"])
        let scale = 1 / (1 + Self.eps).squareRoot()
        #expect(zip(w0.scalars, w1.scalars).allSatisfy { Float(Double($0) * scale) == $1 })
        #expect(folded.weights["conv.bias"] == Tensor(zeros: Shape(4)))
    }

    @Test("a variance that makes σ² + ε non-positive is reported with the batch-norm and file")
    func badVariance() throws {
        let c = Case(kind: .depthwise, bias: true, seed: 0)
        var rng = SeededGenerator(seed: 1)
        let t: [String: Tensor] = [
            "conv.weight": rng.tensor(Shape(3, 3, 4)), "conv.bias": rng.tensor(Shape(4)),
            "bn.weight": rng.tensor(Shape(4)), "bn.bias": rng.tensor(Shape(4)), "bn.running_mean": rng.tensor(Shape(4)),
            "bn.running_var": Tensor(shape: Shape(4), scalars: [1, 1, -0.5, 1]),
        ]
        expectModelFileError("batchNorm", mentions: ["'bn'", "channel 2", "running_var", "w.safetensors"]) { () throws(ModelFileError) in
            _ = try ModelFile.decode(architecture: Data(Self.architecture(c).utf8), weights: try SafetensorsFile(tensors: t).encoded(),
                                     weightsFile: "w.safetensors")
        }
        var missing = t
        missing["bn.running_mean"] = nil
        expectModelFileError("missingTensor", mentions: ["'bn.running_mean'", "layer 'bn'"]) { () throws(ModelFileError) in
            _ = try ModelFile.decode(architecture: Data(Self.architecture(c).utf8), weights: try SafetensorsFile(tensors: missing).encoded())
        }
    }
}
