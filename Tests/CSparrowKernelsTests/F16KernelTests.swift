import CSparrowKernels
import Testing

/// Expects `run(cores)` to give exactly `want`'s bits for every core count.
func expectF16Bits(_ want: [UInt16], _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                   _ run: (Int) -> [UInt16]) {
    for cores in coreCounts {
        let got = run(cores)
        #expect(got == want, "\(what), \(cores) cores: got \(hex(got)), want \(hex(want))",
                sourceLocation: sourceLocation)
    }
}

let f16LinearCases = [LinearCase(inFeatures: 1, outFeatures: 1), LinearCase(inFeatures: 13, outFeatures: 29),
                      LinearCase(inFeatures: 20, outFeatures: 18), LinearCase(inFeatures: 64, outFeatures: 3)]

@Suite("fp16 conv and linear kernels")
struct F16KernelTests {
    @Test(arguments: convCases)
    func convMatchesTheReferenceOnEveryCoreCount(_ c: ConvCase) {
        let d = F16ConvData(c, "f16 conv")
        var rng = SplitMix64(seed: stableSeed("f16 conv accumulate" + c.name), "f16 conv accumulate \(c.name)")
        let oldW = rng.f16Values(c.wCount), oldB = rng.f16Values(c.outC)
        let positions = c.outH * c.outW
        for mode in F16KernelRef.modes {
            let m = "\(c) \(F16KernelRef.name(mode))"
            expectF16Bits(F16KernelRef.forward(c, mode, x: d.x, w: d.w, b: d.b), "\(m) forward") {
                CF16.forward(c, mode, x: d.x, w: d.w, b: d.b, cores: $0)
            }
            expectF16Bits(F16KernelRef.forward(c, mode, x: d.x, w: d.w, b: nil), "\(m) forward, no bias") {
                CF16.forward(c, mode, x: d.x, w: d.w, b: nil, cores: $0)
            }
            expectF16Bits(F16KernelRef.inputGradient(c, mode, dy: d.dy, w: d.w), "\(m) input grad") {
                CF16.inputGradient(c, mode, dy: d.dy, w: d.w, cores: $0)
            }
            let dw = F16KernelRef.weightGradient(c, mode, x: d.x, dy: d.dy)
            expectF16Bits(dw, "\(m) weight grad") { CF16.weightGradient(c, mode, x: d.x, dy: d.dy, cores: $0) }
            expectF16Bits(zip(oldW, dw).map { sp_f16_add($0, $1) }, "\(m) weight grad, accumulate") {
                CF16.weightGradient(c, mode, x: d.x, dy: d.dy, into: oldW, cores: $0)
            }
            let db = F16KernelRef.biasGradient(mode, positions: positions, channels: c.outC, dy: d.dy)
            expectF16Bits(db, "\(m) bias grad") {
                CF16.biasGradient(mode, positions: positions, channels: c.outC, dy: d.dy, cores: $0)
            }
            expectF16Bits(zip(oldB, db).map { sp_f16_add($0, $1) }, "\(m) bias grad, accumulate") {
                CF16.biasGradient(mode, positions: positions, channels: c.outC, dy: d.dy, into: oldB, cores: $0)
            }
        }
    }

    /// fp32 accumulation is the FP32 kernel on the widened inputs, rounded once.
    @Test(arguments: convCases)
    func f32AccumulationIsTheFP32KernelRoundedOnce(_ c: ConvCase) {
        let d = F16ConvData(c, "f16 conv vs f32")
        let (x, w, b, dy) = (widen(d.x), widen(d.w), widen(d.b), widen(d.dy))
        let mode = SP_F16_ACC_F32
        #expect(CF16.forward(c, mode, x: d.x, w: d.w, b: d.b) == narrow(CConv.forward(c, x: x, w: w, b: b)))
        #expect(CF16.inputGradient(c, mode, dy: d.dy, w: d.w) == narrow(CConv.inputGradient(c, dy: dy, w: w)))
        #expect(CF16.weightGradient(c, mode, x: d.x, dy: d.dy) == narrow(CConv.weightGradient(c, x: x, dy: dy)))
        let positions = c.outH * c.outW
        #expect(CF16.biasGradient(mode, positions: positions, channels: c.outC, dy: d.dy)
                == narrow(CConv.biasGradient(positions: positions, channels: c.outC, dy: dy)))
    }

    @Test(arguments: f16LinearCases)
    func linearMatchesTheReferenceAndTheOneByOneConv(_ l: LinearCase) {
        let c = l.asConv
        var rng = SplitMix64(seed: stableSeed("f16 " + l.description), "f16 \(l)")
        let x = rng.f16Values(l.inFeatures), w = rng.f16Values(l.inFeatures * l.outFeatures)
        let b = rng.f16Values(l.outFeatures), dy = rng.f16Values(l.outFeatures)
        let old = rng.f16Values(l.inFeatures * l.outFeatures)
        for mode in F16KernelRef.modes {
            let m = "\(l) \(F16KernelRef.name(mode))"
            let y = F16KernelRef.forward(c, mode, x: x, w: w, b: b)
            expectF16Bits(y, "\(m) forward") { CF16.linearForward(l, mode, x: x, w: w, b: b, cores: $0) }
            #expect(CF16.forward(c, mode, x: x, w: w, b: b) == y, "\(m): the 1x1 conv differs")
            expectF16Bits(F16KernelRef.forward(c, mode, x: x, w: w, b: nil), "\(m) forward, no bias") {
                CF16.linearForward(l, mode, x: x, w: w, b: nil, cores: $0)
            }
            expectF16Bits(F16KernelRef.inputGradient(c, mode, dy: dy, w: w), "\(m) input grad") {
                CF16.linearInputGradient(l, mode, dy: dy, w: w, cores: $0)
            }
            let dw = F16KernelRef.weightGradient(c, mode, x: x, dy: dy)
            #expect(dw == zip(0..<dw.count, dw).map { i, _ in
                sp_f16_add(0, sp_f16_mul(dy[i / l.inFeatures], x[i % l.inFeatures])) }, "\(m): dw is not 0 + dy*x")
            expectF16Bits(dw, "\(m) weight grad") { CF16.linearWeightGradient(l, mode, x: x, dy: dy, cores: $0) }
            expectF16Bits(zip(old, dw).map { sp_f16_add($0, $1) }, "\(m) weight grad, accumulate") {
                CF16.linearWeightGradient(l, mode, x: x, dy: dy, into: old, cores: $0)
            }
        }
    }

    @Test func unknownModeAndBadCoresDoNothing() {
        let c = convCases[0]
        let d = F16ConvData(c, "f16 no-op")
        var s = c.shape
        var y = [UInt16](repeating: CF16.poison, count: c.yCount)
        sp_conv2d_fwd_f16(&s, d.x, d.w, d.b, &y, sp_f16_acc(rawValue: 7), 0, 1)
        sp_conv2d_fwd_f16(&s, d.x, d.w, d.b, &y, SP_F16_ACC_F16, 1, 1)
        sp_conv2d_fwd_f16(&s, d.x, d.w, d.b, &y, SP_F16_ACC_F16, 0, 0)
        #expect(y.allSatisfy { $0 == CF16.poison })
    }
}
