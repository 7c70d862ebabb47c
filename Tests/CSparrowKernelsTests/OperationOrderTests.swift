import CSparrowKernels
import Testing

/// The kernels' results are defined bit for bit by the summation orders that
/// sparrow_kernels.h documents. These references do exactly those fp32
/// operations, one rounding per + and *, in that order, so any change to a
/// kernel's loop structure (blocking, pairing, vectorisation) that reorders a
/// sum fails here even when it stays within the fp64 tolerances.
enum OrderReference {
    /// y = b (or +0), then + x*w for (kh, kw, ic) ascending: `forEachTerm` visits
    /// the terms of one output element in that order.
    static func convForward(_ c: ConvCase, x: [Float], w: [Float], b: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: c.yCount)
        if let b { for p in 0..<(c.outH * c.outW) { for oc in 0..<c.outC { y[p * c.outC + oc] = b[oc] } } }
        c.forEachTerm { xi, wi, yi in y[yi] += x[xi] * w[wi] }
        return y
    }

    /// dx = +0, then + dy*w over (oh, ow) ascending and, within one position, oc ascending.
    static func convInputGradient(_ c: ConvCase, dy: [Float], w: [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: c.xCount)
        c.forEachTerm { xi, wi, yi in dx[xi] += dy[yi] * w[wi] }
        return dx
    }

    /// dw = +0, then + x*dy over (oh, ow) ascending.
    static func convWeightGradient(_ c: ConvCase, x: [Float], dy: [Float]) -> [Float] {
        var dw = [Float](repeating: 0, count: c.wCount)
        c.forEachTerm { xi, wi, yi in dw[wi] += x[xi] * dy[yi] }
        return dw
    }

    /// First maximum over the in-bounds taps, row-major; a NaN wins over numbers.
    static func maxForward(_ p: PoolCase, x: [Float]) -> (y: [Float], argmax: [UInt8]) {
        var y = [Float](repeating: -.infinity, count: p.yCount)
        var arg = [UInt8](repeating: 255, count: p.yCount)
        p.forEachOutput { o, taps in
            for (n, t) in taps.enumerated() {
                let v = x[t.index], best = y[o]
                if n == 0 || v > best || (v.isNaN && !best.isNaN) { y[o] = v; arg[o] = UInt8(t.tap) }
            }
        }
        return (y, arg)
    }

    /// dx = +0, then + dy of every window (oh, ow ascending) whose argmax is this input.
    static func maxBackward(_ p: PoolCase, dy: [Float], argmax: [UInt8]) -> [Float] {
        var dx = [Float](repeating: 0, count: p.xCount)
        p.forEachOutput { o, taps in for t in taps where t.tap == Int(argmax[o]) { dx[t.index] += dy[o] } }
        return dx
    }
}

/// Shapes that reach the kernels' pairing and blocking edges beyond `convCases`:
/// full 16-lane blocks with neighbours paired, odd input channel counts (a tap
/// left alone at the end of each channel run), odd widths and stride 2 (a pixel
/// left alone at a row end, neighbours whose window grids differ).
let orderConvCases: [ConvCase] = convCases + [
    ConvCase(name: "16 -> 32, 3x3 pad 1 on 6x7", inH: 6, inW: 7, inC: 16, outC: 32, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "17 -> 20, 3x3 stride 2 pad 1 on 7x9", inH: 7, inW: 9, inC: 17, outC: 20, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "depthwise 3x3 pad 1, 37 channels", inH: 5, inW: 6, inC: 37, outC: 37, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 37),
]

/// Inputs with ties, +0 and -0, so the first-maximum rule and signed zeros matter.
func poolOrderInputs(_ count: Int, _ label: String) -> [Float] {
    var rng = SplitMix64(seed: stableSeed(label), label)
    return (0..<count).map { i in
        i % 7 == 0 ? -0.0 : i % 11 == 0 ? 0.0 : (rng.float(-2, 2) * 4).rounded() / 4
    }
}

@Suite("kernels follow the documented operation order bit for bit")
struct OperationOrderTests {
    @Test(arguments: orderConvCases)
    func convolution(_ c: ConvCase) {
        let d = ConvData(c, "operation order")
        let y = OrderReference.convForward(c, x: d.x, w: d.w, b: d.b)
        let yNoBias = OrderReference.convForward(c, x: d.x, w: d.w, b: nil)
        let dx = OrderReference.convInputGradient(c, dy: d.dy, w: d.w)
        let dw = OrderReference.convWeightGradient(c, x: d.x, dy: d.dy)
        for cores in [1, 2, 3] {
            for useScratch in [true, false] {
                #expect(bits(CConv.forward(c, x: d.x, w: d.w, b: d.b, cores: cores, useScratch: useScratch)) == bits(y),
                        "\(c): forward, \(cores) cores, scratch \(useScratch)")
            }
            #expect(bits(CConv.forward(c, x: d.x, w: d.w, b: nil, cores: cores)) == bits(yNoBias),
                    "\(c): forward without bias, \(cores) cores")
            #expect(bits(CConv.inputGradient(c, dy: d.dy, w: d.w, cores: cores)) == bits(dx),
                    "\(c): input gradient, \(cores) cores")
            #expect(bits(CConv.weightGradient(c, x: d.x, dy: d.dy, cores: cores)) == bits(dw),
                    "\(c): weight gradient, \(cores) cores")
        }
    }

    @Test(arguments: poolCases + [
        PoolCase(name: "2x2 stride 2, 16 channels, odd size", inH: 7, inW: 9, c: 16, kH: 2, kW: 2,
                 strideH: 2, strideW: 2, padBottom: 1, padRight: 1),
    ])
    func maxPooling(_ p: PoolCase) {
        let x = poolOrderInputs(p.xCount, "order maxpool x \(p.name)")
        let dy = poolOrderInputs(p.yCount, "order maxpool dy \(p.name)")
        let ref = OrderReference.maxForward(p, x: x)
        let dx = OrderReference.maxBackward(p, dy: dy, argmax: ref.argmax)
        for cores in [1, 2, 3] {
            let (y, arg) = CPool.maxForward(p, x: x, cores: cores)
            #expect(bits(y) == bits(ref.y), "\(p): max values, \(cores) cores")
            #expect(arg == ref.argmax, "\(p): argmax, \(cores) cores")
            #expect(bits(CPool.maxBackward(p, dy: dy, argmax: ref.argmax, cores: cores)) == bits(dx),
                    "\(p): max backward, \(cores) cores")
        }
    }

    @Test(arguments: [1, 8, 13, 64, 1001])
    func maskedGradient(_ n: Int) {
        var rng = SplitMix64(seed: stableSeed("order mask grad") &+ UInt64(n), "order mask grad n=\(n)")
        let dy = (0..<n).map { i in i % 5 == 0 ? -0.0 : rng.float() }
        let mask = (0..<((n + 7) / 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let want = (0..<n).map { i in (mask[i / 8] >> UInt8(i % 8)) & 1 == 1 ? dy[i] : 0 }
        let n32 = Int32(n)
        expectSplitInvariant(count: n, "mask grad n=\(n)") { sp_mask_grad_f32(n32, dy, mask, $0, $1, $2) }
        var dx = [Float](repeating: .nan, count: n)
        sp_mask_grad_f32(n32, dy, mask, &dx, 0, 1)
        #expect(bits(dx) == bits(want), "mask grad n=\(n)")
        var inPlace = dy
        inPlace.withUnsafeMutableBufferPointer { buf in
            forEachCore(3) { sp_mask_grad_f32(n32, buf.baseAddress!, mask, buf.baseAddress!, $0, $1) }
        }
        #expect(bits(inPlace) == bits(want), "mask grad in place n=\(n)")
    }
}
