import CSparrowKernels
import Foundation
import Testing

/// One optimizer setting of the fused gradient + update tests. Every setting has
/// grad_scale != 1 (1/3 or 1/4: the scaled gradient is rounded).
struct FusedOptimizer: CustomStringConvertible, Sendable {
    enum Kind: Sendable { case sgd, momentum, adam }
    var name: String
    var kind: Kind
    var lr: Float = 0.05, weightDecay: Float = 0, gradScale: Float = Float(1.0 / 3.0)
    var momentum: Float = 0, beta1: Float = 0, beta2: Float = 0, eps: Float = 0
    var step = 1

    var description: String { name }
    var usesM: Bool { kind != .sgd }
    var usesV: Bool { kind == .adam }
    var biasCorrection1: Float { Float(1 - Foundation.pow(Double(beta1), Double(step))) }
    var biasCorrection2: Float { Float(1 - Foundation.pow(Double(beta2), Double(step))) }

    var cKind: sp_update_kind {
        switch kind {
        case .sgd: SP_UPDATE_SGD
        case .momentum: SP_UPDATE_MOMENTUM
        case .adam: SP_UPDATE_ADAM
        }
    }

    /// The update for parameter w and state m, v (nil where this kind has none).
    func update(w: UnsafeMutablePointer<Float>?, m: UnsafeMutablePointer<Float>?,
                v: UnsafeMutablePointer<Float>?) -> sp_update {
        sp_update(kind: cKind, w: w, m: usesM ? m : nil, v: usesV ? v : nil, lr: lr,
                  weight_decay: weightDecay, grad_scale: gradScale, momentum: momentum, beta1: beta1,
                  beta2: beta2, eps: eps, bias_correction1: biasCorrection1,
                  bias_correction2: biasCorrection2)
    }

    /// The existing optimizer kernel, core `core` of `cores`, on gradient g.
    func apply(_ n: Int, w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
               m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, _ core: Int32, _ cores: Int32) {
        switch kind {
        case .sgd:
            sp_sgd_f32(Int32(n), w, g, lr, weightDecay, gradScale, core, cores)
        case .momentum:
            sp_sgd_momentum_f32(Int32(n), w, g, m, lr, momentum, weightDecay, gradScale, core, cores)
        case .adam:
            sp_adam_f32(Int32(n), w, g, m, v, lr, beta1, beta2, eps, biasCorrection1, biasCorrection2,
                        weightDecay, gradScale, core, cores)
        }
    }
}

let fusedOptimizers: [FusedOptimizer] = [
    FusedOptimizer(name: "sgd", kind: .sgd),
    FusedOptimizer(name: "sgd, weight decay", kind: .sgd, weightDecay: 0.01, gradScale: 0.25),
    FusedOptimizer(name: "momentum", kind: .momentum, momentum: 0.9),
    FusedOptimizer(name: "momentum, weight decay", kind: .momentum, weightDecay: 0.01, momentum: 0.9),
    FusedOptimizer(name: "adam step 3", kind: .adam, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3),
    // 1 - beta1 >= 0.5 takes lerp's other form.
    FusedOptimizer(name: "adam beta1 0.3, weight decay, step 2", kind: .adam, lr: 0.01, weightDecay: 0.01,
                   beta1: 0.3, beta2: 0.99, eps: 1e-6, step: 2),
]

/// Parameter and optimizer state before the step: random, with some exact +0
/// and -0 weights (the weight-decay and signed-zero paths), v >= 0.
struct FusedState {
    var w: [Float], m: [Float], v: [Float]

    init(count: Int, _ label: String) {
        var rng = SplitMix64(seed: stableSeed("fused state " + label), "fused state \(label)")
        w = (0..<count).map { i in i % 11 == 5 ? -0.0 : i % 13 == 7 ? 0.0 : rng.float() }
        m = rng.floats(count, -0.1, 0.1)
        v = rng.floats(count, 0, 0.01)
    }
}

/// Runs `fused(u, core, cores)` and the two-step reference (`gradient` into a
/// NaN-poisoned buffer with accumulate = 0, then the optimizer kernel), each over
/// 1, 2, 3 and 8 cores called in order, from the same state, and expects the
/// same bits of w, m and v each time, and the same bits as with 1 core.
func expectFusedMatchesTwoStep(count: Int, _ opt: FusedOptimizer, _ what: String,
                               sourceLocation: SourceLocation = #_sourceLocation,
                               gradient: (UnsafeMutablePointer<Float>, Int32, Int32) -> Void,
                               fused: (UnsafePointer<sp_update>, Int32, Int32) -> Void) {
    let start = FusedState(count: count, what)
    var oneCore: (w: [UInt32], m: [UInt32], v: [UInt32])?
    for cores in coreCounts {
        // Reference: gradient buffer, then the optimizer kernel.
        var g = [Float](repeating: .nan, count: count)
        g.withUnsafeMutableBufferPointer { gb in forEachCore(cores) { gradient(gb.baseAddress!, $0, $1) } }
        var rw = start.w, rm = start.m, rv = start.v
        forEachCore(cores) { core, n in opt.apply(count, w: &rw, g: g, m: &rm, v: &rv, core, n) }

        // Fused: no gradient buffer.
        var fw = start.w, fm = start.m, fv = start.v
        fw.withUnsafeMutableBufferPointer { wb in
            fm.withUnsafeMutableBufferPointer { mb in
                fv.withUnsafeMutableBufferPointer { vb in
                    var u = opt.update(w: wb.baseAddress, m: mb.baseAddress, v: vb.baseAddress)
                    forEachCore(cores) { core, n in fused(&u, core, n) }
                }
            }
        }
        let label = "\(what), \(opt), \(cores) cores"
        /// Nil when a and b have the same bits, else the first element that differs.
        func mismatch(_ name: String, _ a: [Float], _ b: [Float]) -> String? {
            guard let i = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) else { return nil }
            return "\(label): \(name)[\(i)] is \(a[i]) (0x\(String(a[i].bitPattern, radix: 16))), expected \(b[i]) (0x\(String(b[i].bitPattern, radix: 16)))"
        }
        let complete = !g.contains { $0.isNaN }
        #expect(complete, "\(label): gradient not complete", sourceLocation: sourceLocation)
        let updated = bits(fw) != bits(start.w)
        #expect(updated, "\(label): nothing was updated", sourceLocation: sourceLocation)
        for (name, got, want) in [("w", fw, rw), ("m", fm, rm), ("v", fv, rv)] {
            let problem = mismatch(name + " vs gradient + optimizer", got, want)
            #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
        }
        if let oneCore {
            let same = bits(fw) == oneCore.w && bits(fm) == oneCore.m && bits(fv) == oneCore.v
            #expect(same, "\(label): differs from 1 core", sourceLocation: sourceLocation)
        } else {
            oneCore = (bits(fw), bits(fm), bits(fv))
        }
        // Unused state stays untouched (the reference kernels never see it).
        let untouched = (opt.usesM || bits(fm) == bits(start.m)) && (opt.usesV || bits(fv) == bits(start.v))
        #expect(untouched, "\(label): state the optimizer does not use was written", sourceLocation: sourceLocation)
    }
}

/// Shapes of the fused conv tests: the edges of the weight-gradient kernels'
/// tap grouping and output-channel blocks (16, 8, tail), and of depthwise items.
let fusedConvCases: [ConvCase] = [
    ConvCase(name: "in_c 1 -> 21, 3x3 stride 2 pad 1, 9x7", inH: 9, inW: 7, inC: 1, outC: 21, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "20 -> 27 (16+8+3), 3x2 stride (2, 1), asymmetric pad, 7x6", inH: 7, inW: 6, inC: 20, outC: 27,
             kH: 3, kW: 2, strideH: 2, strideW: 1, padTop: 1, padLeft: 0, padBottom: 1, padRight: 1),
    ConvCase(name: "17 -> 19, 1x1 stride 2, 5x6", inH: 5, inW: 6, inC: 17, outC: 19, kH: 1, kW: 1,
             strideH: 2, strideW: 2),
    ConvCase(name: "depthwise 20 (16+4), 3x3 stride 2, 9x6", inH: 9, inW: 6, inC: 20, outC: 20, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 0, padRight: 1, groups: 20),
    ConvCase(name: "depthwise 37 (16+16+5), 3x3 pad 1, 5x6", inH: 5, inW: 6, inC: 37, outC: 37, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 37),
    ConvCase(name: "grouped 2, 6 -> 10, 3x3 stride 2 pad 1, 7x5", inH: 7, inW: 5, inC: 6, outC: 10, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 2),
    ConvCase(name: "grouped 3, 24 -> 51 (17 per group), 2x2 stride 2, 4x6", inH: 4, inW: 6, inC: 24, outC: 51,
             kH: 2, kW: 2, strideH: 2, strideW: 2, groups: 3),
]

@Suite("fused weight gradient + optimizer update equals gradient then optimizer, bit for bit")
struct FusedUpdateTests {
    @Test(arguments: fusedConvCases, fusedOptimizers)
    func conv(_ c: ConvCase, _ opt: FusedOptimizer) {
        let d = ConvData(c, "fused update")
        var s = c.shape
        expectFusedMatchesTwoStep(count: c.wCount, opt, c.name) { dw, core, n in
            var scr = CConv.scratch(c, cores: Int(n))
            sp_conv2d_bwd_weight_f32(&s, d.x, d.dy, dw, 0, &scr, core, n)
        } fused: { u, core, n in
            // Alternate scratch and NULL: the fused kernel needs none.
            if n % 2 == 0 {
                var scr = CConv.scratch(c, cores: Int(n))
                sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, u, &scr, core, n)
            } else {
                sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, u, nil, core, n)
            }
        }
    }

    @Test(arguments: [LinearCase(inFeatures: 37, outFeatures: 21), LinearCase(inFeatures: 1, outFeatures: 5),
                      LinearCase(inFeatures: 16, outFeatures: 3)],
          fusedOptimizers)
    func linear(_ l: LinearCase, _ opt: FusedOptimizer) {
        var rng = SplitMix64(seed: stableSeed("fused linear \(l)"), "fused linear \(l)")
        // Zero inputs give +0 gradients (0 + x*dy turns -0 into +0).
        let x = (0..<l.inFeatures).map { i in i % 9 == 4 ? -0.0 : i % 9 == 6 ? 0.0 : rng.float() }
        let dy = rng.floats(l.outFeatures)
        let inF = Int32(l.inFeatures), outF = Int32(l.outFeatures)
        expectFusedMatchesTwoStep(count: l.inFeatures * l.outFeatures, opt, "\(l)") { dw, core, n in
            sp_linear_bwd_weight_f32(inF, outF, x, dy, dw, 0, core, n)
        } fused: { u, core, n in
            sp_linear_bwd_weight_update_f32(inF, outF, x, dy, u, core, n)
        }
    }

    @Test(arguments: [(13, 37), (1, 21), (6, 3)], fusedOptimizers)
    func bias(_ shape: (Int, Int), _ opt: FusedOptimizer) {
        let (positions, channels) = shape
        let what = "bias, \(positions) positions x \(channels) channels"
        var rng = SplitMix64(seed: stableSeed("fused " + what), "fused \(what)")
        // Channel 2 is all zeros: an exact +0 gradient.
        let dy = (0..<(positions * channels)).map { i in i % channels == 2 ? 0 : rng.float() }
        expectFusedMatchesTwoStep(count: channels, opt, what) { db, core, n in
            sp_bias_grad_f32(Int32(positions), Int32(channels), dy, db, 0, core, n)
        } fused: { u, core, n in
            sp_bias_grad_update_f32(Int32(positions), Int32(channels), dy, u, core, n)
        }
    }

    /// Core k of n changes exactly the elements that core k of the plain gradient
    /// kernel writes (Adam, random m: every updated element's m changes), so no
    /// two cores write the same element and each update uses its own core's sum.
    @Test func eachCoreUpdatesTheSliceItsGradientCovers() {
        let opt = fusedOptimizers[4]
        func check(count: Int, _ what: String, gradient: (UnsafeMutablePointer<Float>, Int32, Int32) -> Void,
                   fused: (UnsafePointer<sp_update>, Int32, Int32) -> Void) {
            let start = FusedState(count: count, what)
            for cores: Int32 in [3, 8] {
                var covered = [Int](repeating: 0, count: count)
                for core in 0..<cores {
                    var g = [Float](repeating: .nan, count: count)
                    g.withUnsafeMutableBufferPointer { gradient($0.baseAddress!, core, cores) }
                    var w = start.w, m = start.m, v = start.v
                    w.withUnsafeMutableBufferPointer { wb in
                        m.withUnsafeMutableBufferPointer { mb in
                            v.withUnsafeMutableBufferPointer { vb in
                                var u = opt.update(w: wb.baseAddress, m: mb.baseAddress, v: vb.baseAddress)
                                fused(&u, core, cores)
                            }
                        }
                    }
                    let written = g.indices.filter { !g[$0].isNaN }
                    let changed = m.indices.filter { m[$0].bitPattern != start.m[$0].bitPattern }
                    let other = w.indices.filter {
                        g[$0].isNaN && (w[$0].bitPattern != start.w[$0].bitPattern || v[$0].bitPattern != start.v[$0].bitPattern)
                    }
                    let exact = written == changed && other.isEmpty
                    #expect(exact,
                            "\(what): core \(core) of \(cores) updates \(changed.count) elements, its gradient covers \(written.count)")
                    for i in written { covered[i] += 1 }
                }
                let once = covered.allSatisfy { $0 == 1 }
                #expect(once, "\(what), \(cores) cores: not every element once")
            }
        }
        for c in fusedConvCases {
            let d = ConvData(c, "fused update")
            var s = c.shape
            check(count: c.wCount, c.name) { sp_conv2d_bwd_weight_f32(&s, d.x, d.dy, $0, 0, nil, $1, $2) }
                fused: { sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, $0, nil, $1, $2) }
        }
        let x = (0..<37).map { Float($0 + 1) / 37 }, dy = (0..<21).map { Float($0 + 1) / 21 }
        check(count: 37 * 21, "linear 37 -> 21") { sp_linear_bwd_weight_f32(37, 21, x, dy, $0, 0, $1, $2) }
            fused: { sp_linear_bwd_weight_update_f32(37, 21, x, dy, $0, $1, $2) }
        let dyb = (0..<(13 * 21)).map { Float($0 % 17 + 1) / 17 }
        check(count: 21, "bias 13 x 21") { sp_bias_grad_f32(13, 21, dyb, $0, 0, $1, $2) }
            fused: { sp_bias_grad_update_f32(13, 21, dyb, $0, $1, $2) }
    }

    /// A missing update, or state that the kind needs but is NULL, does nothing.
    @Test func invalidUpdateDoesNothing() {
        let c = fusedConvCases[1], dw = fusedConvCases[3]
        let start = FusedState(count: max(c.wCount, dw.wCount), "invalid update")
        for opt in fusedOptimizers where opt.kind != .sgd {
            for conv in [c, dw] {
                let d = ConvData(conv, "fused update")
                var s = conv.shape
                var w = Array(start.w.prefix(conv.wCount))
                var m = Array(start.m.prefix(conv.wCount))
                let before = bits(w), mBefore = bits(m)
                w.withUnsafeMutableBufferPointer { wb in
                    m.withUnsafeMutableBufferPointer { mb in
                        // Momentum / Adam without their state buffers.
                        var u = opt.update(w: wb.baseAddress, m: opt.kind == .adam ? mb.baseAddress : nil, v: nil)
                        sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, &u, nil, 0, 1)
                        sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, nil, nil, 0, 1)
                        sp_linear_bwd_weight_update_f32(2, 3, d.x, d.dy, &u, 0, 1)
                        sp_bias_grad_update_f32(2, 3, d.dy, &u, 0, 1)
                        u.m = mb.baseAddress
                        u.v = mb.baseAddress
                        u.kind = sp_update_kind(rawValue: 7)
                        sp_conv2d_bwd_weight_update_f32(&s, d.x, d.dy, &u, nil, 0, 1)
                    }
                }
                let untouched = bits(w) == before && bits(m) == mBefore
                #expect(untouched, "\(conv), \(opt): an invalid update wrote")
            }
        }
    }
}
