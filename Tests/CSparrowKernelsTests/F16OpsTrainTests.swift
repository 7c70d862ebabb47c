import CSparrowKernels
import Testing

/// One optimizer configuration for the fp16 update kernels.
struct F16OptCase: CustomStringConvertible, Sendable {
    enum Kind: Sendable { case sgd, momentum, adam }
    var kind: Kind
    var master: Bool
    var weightDecay: Float
    var description: String { "\(kind)\(master ? " + master" : "") wd=\(weightDecay)" }

    static let lr: Float = 0.01, momentum: Float = 0.9, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    /// 1 / loss scale: the gradients are drawn loss-scaled by 1024.
    static let gradScale: Float = 1.0 / 1024.0

    static func biasCorrections(_ step: Int) -> (Float, Float) {
        var p1: Float = 1, p2: Float = 1
        for _ in 0..<step { p1 *= beta1; p2 *= beta2 }
        return (1 - p1, 1 - p2)
    }

    /// The FP32 kernel on fp32 weights (the master copy, or the widened fp16 weight).
    func step32(_ w: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], step: Int) {
        let n = Int32(w.count), (bc1, bc2) = Self.biasCorrections(step)
        switch kind {
        case .sgd: sp_sgd_f32(n, &w, g, Self.lr, weightDecay, Self.gradScale, 0, 1)
        case .momentum: sp_sgd_momentum_f32(n, &w, g, &m, Self.lr, Self.momentum, weightDecay, Self.gradScale, 0, 1)
        case .adam:
            sp_adam_f32(n, &w, g, &m, &v, Self.lr, Self.beta1, Self.beta2, Self.eps, bc1, bc2, weightDecay,
                        Self.gradScale, 0, 1)
        }
    }

    func step16(_ w: inout [UInt16], _ g: [UInt16], _ master: inout [Float], _ m: inout [Float], _ v: inout [Float],
                step: Int, cores: Int) {
        let n = Int32(w.count), (bc1, bc2) = Self.biasCorrections(step), useMaster = self.master
        w.withUnsafeMutableBufferPointer { wp in
            master.withUnsafeMutableBufferPointer { mp in
                let mast = useMaster ? mp.baseAddress : nil
                forEachCore(cores) { core, cores in
                    switch kind {
                    case .sgd: sp_sgd_f16(n, wp.baseAddress, g, mast, Self.lr, weightDecay, Self.gradScale, core, cores)
                    case .momentum:
                        sp_sgd_momentum_f16(n, wp.baseAddress, g, mast, &m, Self.lr, Self.momentum, weightDecay,
                                            Self.gradScale, core, cores)
                    case .adam:
                        sp_adam_f16(n, wp.baseAddress, g, mast, &m, &v, Self.lr, Self.beta1, Self.beta2, Self.eps, bc1,
                                    bc2, weightDecay, Self.gradScale, core, cores)
                    }
                }
            }
        }
    }
}

let f16OptCases: [F16OptCase] = [F16OptCase.Kind.sgd, .momentum, .adam].flatMap { kind in
    [false, true].flatMap { master in [Float(0), 0.01].map { F16OptCase(kind: kind, master: master, weightDecay: $0) } }
}

@Suite("fp16 optimizers and losses")
struct F16TrainOpsTests {
    /// Each step: (master, state) = the FP32 optimizer on (master or widened w,
    /// widened g); w = that rounded to fp16. Bit for bit, every core count, 5 steps.
    @Test(arguments: f16OptCases)
    func optimizerIsTheFP32UpdateRoundedOnce(_ c: F16OptCase) {
        let n = 203
        var rng = SplitMix64(seed: stableSeed("f16 optim \(c)"), "f16 optim \(c)")
        let w0 = rng.f16Values(n, -1, 1)
        let grads = (0..<5).map { _ in rng.f16Values(n, -1024, 1024) }
        var w32 = widen(w0), m32 = [Float](repeating: 0, count: n), v32 = m32
        var want: [[UInt16]] = [], wantMaster: [[Float]] = [], wantState: [[Float]] = []
        for (s, g) in grads.enumerated() {
            if !c.master { w32 = widen(narrow(w32)) }
            c.step32(&w32, widen(g), &m32, &v32, step: s + 1)
            want.append(narrow(w32)); wantMaster.append(w32); wantState.append(m32 + v32)
        }
        for cores in coreCounts {
            var w = w0, master = widen(w0), m = [Float](repeating: 0, count: n), v = m
            for (s, g) in grads.enumerated() {
                c.step16(&w, g, &master, &m, &v, step: s + 1, cores: cores)
                #expect(w == want[s], "\(c), step \(s + 1), \(cores) cores: weights")
                if c.master { #expect(bits(master) == bits(wantMaster[s]), "\(c) step \(s + 1) \(cores) cores: master") }
                if c.kind != .sgd { #expect(bits(m + v) == bits(wantState[s]), "\(c) step \(s + 1) \(cores) cores: state") }
            }
            if !c.master { #expect(master == widen(w0), "master = NULL must not be touched") }
        }
    }

    /// A tiny update is lost on an fp16 weight without a master copy and kept with one.
    @Test func masterCopyKeepsSmallUpdates() {
        var w: [UInt16] = [sp_f16_from_f32(1)], master: [Float] = [1]
        let g: [UInt16] = [sp_f16_from_f32(0.01)] // lr * g' = 1e-4 * 2^-10 < half an ulp of 1
        for _ in 0..<100 { sp_sgd_f16(1, &w, g, &master, 0.01, 0, 1.0 / 1024.0, 0, 1) }
        #expect(master[0] < 1 && w[0] == sp_f16_from_f32(master[0]))
        var w2: [UInt16] = [sp_f16_from_f32(1)]
        for _ in 0..<100 { sp_sgd_f16(1, &w2, g, nil, 0.01, 0, 1.0 / 1024.0, 0, 1) }
        #expect(w2[0] == 0x3C00)
        var bad: [UInt16] = [0x3C00]
        sp_sgd_momentum_f16(1, &bad, g, nil, nil, 0.1, 0.9, 0, 1, 0, 1)
        #expect(bad[0] == 0x3C00, "a NULL velocity does nothing")
    }

    /// Losses: the FP32 kernels on the widened inputs, rounded once; gradients
    /// multiplied by loss_scale in fp32 before the rounding.
    @Test(arguments: [1, 2, 10, 100])
    func lossesAreTheFP32LossesRoundedOnce(_ classes: Int) {
        var rng = SplitMix64(seed: stableSeed("f16 loss \(classes)"), "f16 losses n=\(classes)")
        let z = rng.f16Values(classes, -6, 6), t = rng.f16Values(classes, -2, 2)
        for scale: Float in [1, 1024, 0.75] {
            for labelValue in [Int32(0), Int32(classes - 1), Int32(classes)] {
                var label = labelValue
                var loss32: Float = 0, loss16: UInt16 = 0x1234
                sp_softmax_ce_fwd_f32(Int32(classes), widen(z), &label, &loss32, 0, 1)
                sp_softmax_ce_fwd_f16(Int32(classes), z, &label, &loss16, 0, 1)
                #expect(F16Ref.same(loss16, sp_f16_from_f32(loss32)), "ce loss label \(labelValue)")
                var d32 = [Float](repeating: 0, count: classes)
                sp_softmax_ce_bwd_f32(Int32(classes), widen(z), &label, &d32, 0, 1)
                let want = d32.map { sp_f16_from_f32($0 * scale) }
                for cores in coreCounts {
                    let got = runF16(classes, cores: cores) { sp_softmax_ce_bwd_f16(Int32(classes), z, &label, $0, scale, $1, $2) }
                    #expect(zip(got, want).allSatisfy { F16Ref.same($0, $1) }, "ce grad label \(labelValue) x\(scale), \(cores) cores")
                }
            }
            var mse32: Float = 0, mse16: UInt16 = 0
            sp_mse_fwd_f32(Int32(classes), widen(z), widen(t), &mse32, 0, 1)
            sp_mse_fwd_f16(Int32(classes), z, t, &mse16, 0, 1)
            #expect(mse16 == sp_f16_from_f32(mse32), "mse loss")
            var d32 = [Float](repeating: 0, count: classes)
            sp_mse_bwd_f32(Int32(classes), widen(z), widen(t), &d32, 0, 1)
            let want = d32.map { sp_f16_from_f32($0 * scale) }
            for cores in coreCounts {
                #expect(runF16(classes, cores: cores) { sp_mse_bwd_f16(Int32(classes), z, t, $0, scale, $1, $2) } == want,
                        "mse grad x\(scale), \(cores) cores")
            }
        }
    }
}
