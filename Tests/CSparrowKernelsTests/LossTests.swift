import CSparrowKernels
import Foundation
import Testing

/// fp64 references from the definitions.
func crossEntropy(_ z: [Double], label: Int) -> Double {
    let m = z.max()!
    return Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - m) }) + m - z[label]
}

func meanSquaredError(_ p: [Double], _ t: [Double]) -> Double {
    zip(p, t).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(p.count)
}

@Suite("losses")
struct LossTests {
    static let classCounts = [1, 2, 10, 37]

    func ceForward(_ z: [Float], _ label: Int32) -> Float {
        var loss = Float.nan, l = label
        forEachCore(3) { sp_softmax_ce_fwd_f32(Int32(z.count), z, &l, &loss, $0, $1) }
        return loss
    }

    func ceBackward(_ z: [Float], _ label: Int32, cores: Int = 1) -> [Float] {
        var d = [Float](repeating: .nan, count: z.count), l = label
        forEachCore(cores) { sp_softmax_ce_bwd_f32(Int32(z.count), z, &l, &d, $0, $1) }
        return d
    }

    @Test(arguments: classCounts)
    func softmaxCrossEntropy(_ classes: Int) {
        var rng = SplitMix64(seed: stableSeed("ce") &+ UInt64(classes), "softmax ce \(classes) classes")
        for scale: Float in [1, 30] {   // 30: large logits exercise the max shift
            let z = rng.floats(classes, -scale, scale)
            let label = Int(rng.next() % UInt64(classes))
            let zd = doubles(z)
            expectClose([ceForward(z, Int32(label))], [crossEntropy(zd, label: label)], rtol: 1e-5,
                        "ce forward, \(classes) classes, scale \(scale)")
            let fd = finiteDifference(zd, step: 1e-5) { crossEntropy($0, label: label) }
            expectClose(ceBackward(z, Int32(label)), fd, rtol: 1e-4, atol: 1e-6, "ce backward vs fd, \(classes) classes")
            let m = zd.max()!, sum = zd.reduce(0) { $0 + Foundation.exp($1 - m) }
            let softmax = zd.indices.map { Foundation.exp(zd[$0] - m) / sum - ($0 == label ? 1 : 0) }
            expectClose(ceBackward(z, Int32(label)), softmax, rtol: 1e-5, atol: 1e-7, "ce backward, \(classes) classes")
            let one = bits(ceBackward(z, Int32(label)))
            for cores in coreCounts { #expect(bits(ceBackward(z, Int32(label), cores: cores)) == one) }
        }
    }

    @Test func crossEntropyIsFiniteForHugeLogitsAndNaNForBadLabels() {
        let z: [Float] = [1e30, -1e30, 0, 88, 200]
        #expect(ceForward(z, 0) == 0)
        #expect(abs(ceForward(z, 4) - (1e30 - 200)) <= 1e24)
        #expect(ceBackward(z, 0).allSatisfy { $0.isFinite })
        #expect(ceForward(z, 5).isNaN && ceForward(z, -1).isNaN)
        #expect(ceBackward(z, 9).allSatisfy { $0.isNaN })
    }

    @Test func meanSquaredErrorMatchesReferenceAndFiniteDifferences() {
        var rng = SplitMix64(seed: 0x4D53_45, "mse")
        for n in [1, 7, 100] {
            let p = rng.floats(n), t = rng.floats(n)
            var loss = Float.nan
            forEachCore(2) { sp_mse_fwd_f32(Int32(n), p, t, &loss, $0, $1) }
            expectClose([loss], [meanSquaredError(doubles(p), doubles(t))], "mse forward n=\(n)")
            let td = doubles(t)
            let fd = finiteDifference(doubles(p)) { meanSquaredError($0, td) }
            var d = [Float](repeating: .nan, count: n)
            sp_mse_bwd_f32(Int32(n), p, t, &d, 0, 1)
            expectClose(d, fd, rtol: 1e-4, atol: 1e-7, "mse backward vs fd n=\(n)")
            #expect(bits(d) == bits((0..<n).map { 2 * (p[$0] - t[$0]) / Float(n) }), "mse backward is 2(p-t)/n")
            expectSplitInvariant(count: n, "mse backward n=\(n)") { sp_mse_bwd_f32(Int32(n), p, t, $0, $1, $2) }
        }
    }
}
