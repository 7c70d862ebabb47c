import CSparrowKernels
import Testing

/// The fp16 kernels against the FP32 kernels on the same (fp16-valued) inputs,
/// within the tolerances sparrow_kernels_f16.h documents, and the measured
/// errors (printed): for each element, err = |y16 - y32| in units of
/// u * S, where u = 2^-11 (fp16's unit roundoff) and S is the sum of the
/// magnitudes of the element's terms (and bias), and in fp16 ulps of y32; and
/// the tensor's RMS error relative to its RMS value, in units of u.
struct F16ErrorStats: CustomStringConvertible {
    var terms = 0, elements = 0
    var worstScaled = 0.0, sumScaled = 0.0, worstUlps = 0.0, sumErr2 = 0.0, sumY2 = 0.0

    mutating func add(_ y16: UInt16, _ y32: Float, scale: Double) {
        let err = abs(Double(sp_f16_to_f32(y16)) - Double(y32))
        let scaled = scale == 0 ? (err == 0 ? 0 : .infinity) : err / (0x1p-11 * scale)
        worstScaled = max(worstScaled, scaled)
        sumScaled += scaled
        worstUlps = max(worstUlps, err / F16Ref.ulp(Double(abs(y32))))
        sumErr2 += err * err
        sumY2 += Double(y32) * Double(y32)
        elements += 1
    }

    var description: String {
        let mean = elements == 0 ? 0 : sumScaled / Double(elements)
        func f(_ v: Double) -> String { String(Double(Int(v * 1000)) / 1000) }
        let rms = sumY2 == 0 ? 0 : (sumErr2 / sumY2).squareRoot() / 0x1p-11
        return "n<=\(terms): max \(f(worstScaled)) u*S, mean \(f(mean)) u*S, rms \(f(rms)) u*rms(y32), max \(f(worstUlps)) ulp(y32)"
    }
}

@Suite("fp16 kernels against the FP32 kernels")
struct F16AccuracyTests {
    /// Compares one output tensor; `terms[i]` is how many terms element i sums
    /// (bias included), `scale[i]` their magnitude sum.
    static func compare(_ y16: [UInt16], _ y32: [Float], scale: [Double], terms: [Int], mode: sp_f16_acc,
                        _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> F16ErrorStats {
        var stats = F16ErrorStats()
        stats.terms = terms.max() ?? 0
        var bad = 0
        for i in y16.indices {
            stats.add(y16[i], y32[i], scale: scale[i])
            let err = abs(Double(sp_f16_to_f32(y16[i])) - Double(y32[i]))
            // fp32 accumulation: one rounding of y32 (<= half an fp16 ulp). fp16
            // accumulation: one rounding per term, n * u * S (plus a subnormal
            // half-ulp per term), the first-order recursive-summation bound.
            let tol = mode == SP_F16_ACC_F32 ? 0.5 * F16Ref.ulp(Double(abs(y32[i])))
                : Double(terms[i]) * (0x1p-11 * scale[i] + 0x1p-25)
            if !(err <= tol) { bad += 1 }
        }
        #expect(bad == 0, "\(what): \(bad) of \(y16.count) elements outside the tolerance (\(stats))",
                sourceLocation: sourceLocation)
        return stats
    }

    static func termCounts(_ c: ConvCase, _ index: (Int, Int, Int) -> Int, count: Int, plus: Int = 0) -> [Int] {
        var n = [Int](repeating: plus, count: count)
        c.forEachTerm { xi, wi, yi in n[index(xi, wi, yi)] += 1 }
        return n
    }

    @Test(arguments: convCases)
    func convWithinTolerance(_ c: ConvCase) {
        let d = F16ConvData(c, "f16 accuracy")
        let (x, w, b, dy) = (widen(d.x), widen(d.w), widen(d.b), widen(d.dy))
        let (ax, aw, ab, ady) = (absolute(x), absolute(w), absolute(b), absolute(dy))
        let y32 = CConv.forward(c, x: x, w: w, b: b)
        let dx32 = CConv.inputGradient(c, dy: dy, w: w)
        let dw32 = CConv.weightGradient(c, x: x, dy: dy)
        let positions = c.outH * c.outW
        let db32 = CConv.biasGradient(positions: positions, channels: c.outC, dy: dy)
        for mode in F16KernelRef.modes {
            let m = "\(c) \(F16KernelRef.name(mode))"
            let fwd = Self.compare(CF16.forward(c, mode, x: d.x, w: d.w, b: d.b), y32,
                                   scale: c.forward(x: ax, w: aw, b: ab),
                                   terms: Self.termCounts(c, { $2 }, count: c.yCount, plus: 1), mode: mode, "\(m) forward")
            let bi = Self.compare(CF16.inputGradient(c, mode, dy: d.dy, w: d.w), dx32,
                                  scale: c.inputGradient(dy: ady, w: aw),
                                  terms: Self.termCounts(c, { xi, _, _ in xi }, count: c.xCount), mode: mode, "\(m) input grad")
            let bw = Self.compare(CF16.weightGradient(c, mode, x: d.x, dy: d.dy), dw32,
                                  scale: c.weightGradient(x: ax, dy: ady),
                                  terms: Self.termCounts(c, { _, wi, _ in wi }, count: c.wCount), mode: mode, "\(m) weight grad")
            let bb = Self.compare(CF16.biasGradient(mode, positions: positions, channels: c.outC, dy: d.dy), db32,
                                  scale: c.biasGradient(dy: ady), terms: [Int](repeating: positions, count: c.outC),
                                  mode: mode, "\(m) bias grad")
            print("[F16 accuracy] \(m): forward \(fwd); input grad \(bi); weight grad \(bw); bias grad \(bb)")
        }
    }

    /// How the fp16-accumulation error grows with the reduction length: a
    /// linear layer with n inputs, 64 outputs, inputs uniform in [-1, 1).
    @Test(arguments: [16, 64, 256, 1024, 4096])
    func errorGrowthWithReductionLength(_ n: Int) {
        let l = LinearCase(inFeatures: n, outFeatures: 64)
        var rng = SplitMix64(seed: stableSeed("f16 growth \(n)"), "f16 growth \(n)")
        let x = rng.f16Values(n), w = rng.f16Values(n * 64)
        let y32 = CLinear.forward(l, x: widen(x), w: widen(w), b: nil)
        let scale = l.forward(x: absolute(widen(x)), w: absolute(widen(w)), b: nil)
        for mode in F16KernelRef.modes {
            let stats = Self.compare(CF16.linearForward(l, mode, x: x, w: w, b: nil), y32, scale: scale,
                                     terms: [Int](repeating: n, count: 64), mode: mode, "\(l) \(F16KernelRef.name(mode))")
            print("[F16 accuracy] linear n = \(n), \(F16KernelRef.name(mode)): \(stats)")
        }
    }
}
