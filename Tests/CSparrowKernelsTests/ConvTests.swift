import CSparrowKernels
import Testing

/// A seed that depends only on the text (Swift's Hasher is randomised per process).
func stableSeed(_ text: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0100_0000_01B3 }
    return h
}

/// Random inputs of one conv case, fp32 (the kernels' inputs) and fp64 copies.
struct ConvData {
    var x: [Float], w: [Float], b: [Float], dy: [Float]

    init(_ c: ConvCase, _ label: String) {
        var rng = SplitMix64(seed: stableSeed(label + c.name), "\(label) \(c.name)")
        x = rng.floats(c.xCount)
        w = rng.floats(c.wCount)
        b = rng.floats(c.outC)
        dy = rng.floats(c.yCount)
    }
}

func absolute(_ v: [Float]) -> [Double] { v.map { Double(abs($0)) } }

@Suite("conv2d against the fp64 reference")
struct ConvReferenceTests {
    @Test(arguments: convCases)
    func forward(_ c: ConvCase) {
        let d = ConvData(c, "conv forward")
        let want = c.forward(x: doubles(d.x), w: doubles(d.w), b: doubles(d.b))
        let scale = c.forward(x: absolute(d.x), w: absolute(d.w), b: absolute(d.b))
        expectClose(CConv.forward(c, x: d.x, w: d.w, b: d.b), want, scale: scale, "\(c) forward")
        let noBias = c.forward(x: doubles(d.x), w: doubles(d.w), b: nil)
        expectClose(CConv.forward(c, x: d.x, w: d.w, b: nil), noBias, scale: scale, "\(c) forward, no bias")
    }

    @Test(arguments: convCases)
    func inputGradient(_ c: ConvCase) {
        let d = ConvData(c, "conv input grad")
        let want = c.inputGradient(dy: doubles(d.dy), w: doubles(d.w))
        let scale = c.inputGradient(dy: absolute(d.dy), w: absolute(d.w))
        expectClose(CConv.inputGradient(c, dy: d.dy, w: d.w), want, scale: scale, "\(c) input grad")
    }

    @Test(arguments: convCases)
    func weightAndBiasGradient(_ c: ConvCase) {
        let d = ConvData(c, "conv weight grad")
        let want = c.weightGradient(x: doubles(d.x), dy: doubles(d.dy))
        let scale = c.weightGradient(x: absolute(d.x), dy: absolute(d.dy))
        expectClose(CConv.weightGradient(c, x: d.x, dy: d.dy), want, scale: scale, "\(c) weight grad")
        let positions = c.outH * c.outW
        expectClose(CConv.biasGradient(positions: positions, channels: c.outC, dy: d.dy),
                    c.biasGradient(dy: doubles(d.dy)), scale: c.biasGradient(dy: absolute(d.dy)),
                    "\(c) bias grad")
    }
}

@Suite("conv2d gradients against finite differences")
struct ConvFiniteDifferenceTests {
    /// Central differences of L = sum(r * y) on at most `limit` random elements of each tensor.
    @Test(arguments: convCases)
    func gradients(_ c: ConvCase) {
        let d = ConvData(c, "conv finite differences")
        var rng = SplitMix64(seed: stableSeed("fd pick" + c.name), "conv fd pick \(c.name)")
        let r = doubles(d.dy)
        let x = doubles(d.x), w = doubles(d.w), b = doubles(d.b)
        let dx = CConv.inputGradient(c, dy: d.dy, w: d.w)
        let dw = CConv.weightGradient(c, x: d.x, dy: d.dy)
        let db = CConv.biasGradient(positions: c.outH * c.outW, channels: c.outC, dy: d.dy)

        func check(_ what: String, _ point: [Double], _ got: [Float], _ loss: ([Double]) -> Double) {
            let picks = (0..<min(24, point.count)).map { _ in Int(rng.next() % UInt64(point.count)) }
            for i in picks {
                var p = point
                let fd = finiteDifference([p[i]]) { v in p[i] = v[0]; return loss(p) }[0]
                expectClose([got[i]], [fd], rtol: 1e-4, "\(c) \(what)[\(i)] vs finite difference")
            }
        }
        check("dx", x, dx) { dot(r, c.forward(x: $0, w: w, b: b)) }
        check("dw", w, dw) { dot(r, c.forward(x: x, w: $0, b: b)) }
        check("db", b, db) { dot(r, c.forward(x: x, w: w, b: $0)) }
    }
}

@Suite("conv2d determinism")
struct ConvSplitTests {
    @Test(arguments: convCases)
    func everyCoreCountGivesTheSameBits(_ c: ConvCase) {
        let d = ConvData(c, "conv split")
        var s = c.shape
        func scratch(_ cores: Int32) -> [Float] {
            [Float](repeating: .nan, count: sp_conv2d_scratch_floats(&s, cores))
        }
        expectSplitInvariant(count: c.yCount, "\(c) forward") { y, core, n in
            var scr = scratch(n)
            sp_conv2d_fwd_f32(&s, d.x, d.w, d.b, y, &scr, core, n)
        }
        expectSplitInvariant(count: c.xCount, "\(c) input grad") { dx, core, n in
            var scr = scratch(n)
            sp_conv2d_bwd_input_f32(&s, d.dy, d.w, dx, &scr, core, n)
        }
        expectSplitInvariant(count: c.wCount, "\(c) weight grad") { dw, core, n in
            var scr = scratch(n)
            sp_conv2d_bwd_weight_f32(&s, d.x, d.dy, dw, 0, &scr, core, n)
        }
        expectSplitInvariant(count: c.outC, "\(c) bias grad") { db, core, n in
            sp_bias_grad_f32(Int32(c.outH * c.outW), Int32(c.outC), d.dy, db, 0, core, n)
        }
    }

    @Test(arguments: convCases)
    func forwardWithoutScratchIsBitIdentical(_ c: ConvCase) {
        let d = ConvData(c, "conv no scratch")
        for cores in coreCounts {
            let with = CConv.forward(c, x: d.x, w: d.w, b: d.b, cores: cores)
            let without = CConv.forward(c, x: d.x, w: d.w, b: d.b, cores: cores, useScratch: false)
            #expect(bits(with) == bits(without), "\(c): \(cores) cores, scratch vs no scratch")
        }
    }

    @Test(arguments: convCases)
    func accumulateAddsExactly(_ c: ConvCase) {
        let d = ConvData(c, "conv accumulate")
        var rng = SplitMix64(seed: stableSeed("old grad" + c.name), "conv old grad \(c.name)")
        let oldW = rng.floats(c.wCount), oldB = rng.floats(c.outC)
        let freshW = CConv.weightGradient(c, x: d.x, dy: d.dy)
        let freshB = CConv.biasGradient(positions: c.outH * c.outW, channels: c.outC, dy: d.dy)
        for cores in coreCounts {
            let accW = CConv.weightGradient(c, x: d.x, dy: d.dy, into: oldW, cores: cores)
            #expect(bits(accW) == bits(zip(oldW, freshW).map(+)), "\(c): weight grad, \(cores) cores")
            let accB = CConv.biasGradient(positions: c.outH * c.outW, channels: c.outC, dy: d.dy,
                                          into: oldB, cores: cores)
            #expect(bits(accB) == bits(zip(oldB, freshB).map(+)), "\(c): bias grad, \(cores) cores")
        }
    }
}
