import CSparrowKernels
import Foundation
import Testing

/// fp64 transcriptions of torch.optim.SGD (dampening 0, no Nesterov) and
/// torch.optim.Adam (no amsgrad), given gradients already summed over the batch.
struct ReferenceOptimizer {
    enum Kind { case sgd, momentum(Double), adam(beta1: Double, beta2: Double, eps: Double) }
    var kind: Kind
    var lr: Double, weightDecay: Double, gradScale: Double
    var w: [Double], buf1: [Double], buf2: [Double]
    var step = 0

    init(_ kind: Kind, lr: Double, weightDecay: Double, gradScale: Double, w: [Double]) {
        self.kind = kind; self.lr = lr; self.weightDecay = weightDecay; self.gradScale = gradScale
        self.w = w
        buf1 = [Double](repeating: 0, count: w.count); buf2 = buf1
    }

    mutating func update(_ grad: [Double]) {
        step += 1
        for i in w.indices {
            var g = grad[i] * gradScale
            if weightDecay != 0 { g += weightDecay * w[i] }
            switch kind {
            case .sgd:
                w[i] -= lr * g
            case .momentum(let mu):
                buf1[i] = step == 1 ? g : mu * buf1[i] + g
                w[i] -= lr * buf1[i]
            case .adam(let b1, let b2, let eps):
                buf1[i] = b1 * buf1[i] + (1 - b1) * g
                buf2[i] = b2 * buf2[i] + (1 - b2) * g * g
                let bc1 = 1 - Foundation.pow(b1, Double(step)), bc2 = 1 - Foundation.pow(b2, Double(step))
                let denom = buf2[i].squareRoot() / bc2.squareRoot() + eps
                w[i] -= lr / bc1 * buf1[i] / denom
            }
        }
    }
}

@Suite("optimizers")
struct OptimizerTests {
    static let n = 45
    static let kinds: [(String, ReferenceOptimizer.Kind)] = [
        ("sgd", .sgd), ("momentum 0.9", .momentum(Double(Float(0.9)))),
        ("adam", .adam(beta1: Double(Float(0.9)), beta2: Double(Float(0.999)), eps: Double(Float(1e-8)))),
        ("adam beta1 0.3", .adam(beta1: Double(Float(0.3)), beta2: Double(Float(0.99)), eps: Double(Float(1e-6)))),
    ]

    /// One C step over `cores` cores: (w, state1, state2) updated in place.
    static func cStep(_ kind: ReferenceOptimizer.Kind, step: Int, lr: Float, wd: Float, scale: Float,
                      w: inout [Float], g: [Float], s1: inout [Float], s2: inout [Float], cores: Int) {
        let n = Int32(w.count)
        forEachCore(cores) { core, count in
            switch kind {
            case .sgd:
                sp_sgd_f32(n, &w, g, lr, wd, scale, core, count)
            case .momentum(let mu):
                sp_sgd_momentum_f32(n, &w, g, &s1, lr, Float(mu), wd, scale, core, count)
            case .adam(let b1, let b2, let eps):
                let bc1 = Float(1 - Foundation.pow(b1, Double(step))), bc2 = Float(1 - Foundation.pow(b2, Double(step)))
                sp_adam_f32(n, &w, g, &s1, &s2, lr, Float(b1), Float(b2), Float(eps), bc1, bc2, wd, scale, core, count)
            }
        }
    }

    @Test(arguments: [0, 1, 2, 3], [Float(0), 0.01])
    func matchesPyTorchTranscription(_ kindIndex: Int, _ weightDecay: Float) {
        let (name, kind) = Self.kinds[kindIndex]
        var rng = SplitMix64(seed: stableSeed(name) &+ UInt64(weightDecay.bitPattern), "optimizer \(name) wd \(weightDecay)")
        let lr: Float = 0.05, scale: Float = 0.25
        var w = rng.floats(Self.n)
        var reference = ReferenceOptimizer(kind, lr: Double(lr), weightDecay: Double(weightDecay),
                                           gradScale: Double(scale), w: doubles(w))
        var s1 = [Float](repeating: 0, count: Self.n), s2 = s1
        // The same steps split over 1, 2, 3, 8 cores must give the same bits.
        var copies = coreCounts.map { _ in (w, s1, s2) }
        for step in 1...5 {
            let g = rng.floats(Self.n, -2, 2)
            Self.cStep(kind, step: step, lr: lr, wd: weightDecay, scale: scale, w: &w, g: g, s1: &s1, s2: &s2, cores: 1)
            reference.update(doubles(g))
            expectClose(w, reference.w, rtol: 2e-6, "\(name), wd \(weightDecay), step \(step)")
            for (k, cores) in coreCounts.enumerated() {
                var (cw, c1, c2) = copies[k]
                Self.cStep(kind, step: step, lr: lr, wd: weightDecay, scale: scale, w: &cw, g: g, s1: &c1, s2: &c2,
                           cores: cores)
                copies[k] = (cw, c1, c2)
                #expect(bits(cw) == bits(w) && bits(c1) == bits(s1) && bits(c2) == bits(s2),
                        "\(name): \(cores) cores differ at step \(step)")
            }
        }
    }
}
