import CSparrowKernels
import Testing

/// Runs a kernel that writes `count` fp16 outputs over `cores` cores, from a buffer
/// filled with `fill` (so an element no core writes shows up).
func runF16(_ count: Int, cores: Int, fill: UInt16 = 0x7D55,
            _ body: (UnsafeMutablePointer<UInt16>, Int32, Int32) -> Void) -> [UInt16] {
    var out = [UInt16](repeating: fill, count: count)
    out.withUnsafeMutableBufferPointer { p in forEachCore(cores) { body(p.baseAddress!, $0, $1) } }
    return out
}

/// fp16 test inputs: every edge value, then random bits (all classes) and values in [-8, 8).
func f16OpInputs(_ n: Int, _ rng: inout SplitMix64) -> [UInt16] {
    (0..<n).map { i in
        if i < f16EdgeValues.count { return f16EdgeValues[i] }
        if i < f16EdgeValues.count + f16ReluEdges.count { return f16ReluEdges[i - f16EdgeValues.count] }
        return i % 3 == 0 ? rng.f16Bits() : sp_f16_from_f32(rng.float(-8, 8))
    }
}

/// 6 and its neighbours (the ReLU6 band edges), both signs.
let f16ReluEdges: [UInt16] = [0x4600, 0x45FF, 0x4601, 0xC600, 0x4500, 0x4580]

/// Mask bits as the header defines them, LSB first.
func f16MaskRef(_ x: [UInt16], _ on: (Float) -> Bool) -> [UInt8] {
    var m = [UInt8](repeating: 0, count: (x.count + 7) / 8)
    for (i, h) in x.enumerated() where on(sp_f16_to_f32(h)) { m[i / 8] |= 1 << UInt8(i % 8) }
    return m
}

let f16OpSizes = [0, 1, 7, 8, 9, 61, 64, 333]

@Suite("fp16 elementwise kernels")
struct F16ElementwiseTests {
    @Test(arguments: f16OpSizes)
    func elementwiseMatchesTheReferenceOnEveryCoreCount(_ n: Int) {
        var rng = SplitMix64(seed: stableSeed("f16 elementwise \(n)"), "f16 elementwise n=\(n)")
        let a = f16OpInputs(n, &rng), b = f16OpInputs(n, &rng).reversed().map { $0 }
        let addRef = zip(a, b).map { sp_f16_add($0, $1) }
        let reluRef = a.map { sp_f16_to_f32($0) < 0 ? UInt16(0) : $0 }
        let relu6Ref = a.map { h -> UInt16 in
            let f = sp_f16_to_f32(h)
            return f < 0 ? 0 : (f > 6 ? 0x4600 : h)
        }
        let mask = f16MaskRef(a) { $0 > 0 }, mask6 = f16MaskRef(a) { $0 > 0 && $0 < 6 }
        let dy = f16OpInputs(n, &rng)
        let gradRef = dy.indices.map { i in mask[i / 8] >> UInt8(i % 8) & 1 == 1 ? dy[i] : UInt16(0) }
        // The masks are the FP32 masks of the widened tensor.
        var m32 = [UInt8](repeating: 0xAA, count: (n + 7) / 8), m632 = m32
        sp_relu_mask(Int32(n), widen(a), &m32, 0, 1)
        sp_relu6_mask(Int32(n), widen(a), &m632, 0, 1)
        #expect(m32 == mask && m632 == mask6)
        // add and ReLU against the FP32 kernels on the widened inputs (add: one
        // rounding of an exact-operand fp32 sum, so the same bits; NaNs compared as NaN).
        var add32 = [Float](repeating: 0, count: n), relu32 = add32, relu632 = add32
        sp_add_f32(Int32(n), widen(a), widen(b), &add32, 0, 1)
        sp_relu_f32(Int32(n), widen(a), &relu32, 0, 1)
        sp_relu6_f32(Int32(n), widen(a), &relu632, 0, 1)
        #expect(zip(addRef, narrow(add32)).allSatisfy { F16Ref.same($0, $1) }, "add = FP32 add rounded")
        #expect(zip(reluRef, narrow(relu32)).allSatisfy { F16Ref.same($0, $1) }, "relu = FP32 relu")
        #expect(zip(relu6Ref, narrow(relu632)).allSatisfy { F16Ref.same($0, $1) }, "relu6 = FP32 relu6")
        for cores in coreCounts {
            #expect(runF16(n, cores: cores) { sp_add_f16(Int32(n), a, b, $0, $1, $2) } == addRef, "add \(cores)")
            #expect(runF16(n, cores: cores) { sp_relu_f16(Int32(n), a, $0, $1, $2) } == reluRef, "relu \(cores)")
            #expect(runF16(n, cores: cores) { sp_relu6_f16(Int32(n), a, $0, $1, $2) } == relu6Ref, "relu6 \(cores)")
            for (upper6, want) in [(false, mask), (true, mask6)] {
                var got = [UInt8](repeating: 0xAA, count: (n + 7) / 8)
                forEachCore(cores) {
                    if upper6 { sp_relu6_mask_f16(Int32(n), a, &got, $0, $1) } else { sp_relu_mask_f16(Int32(n), a, &got, $0, $1) }
                }
                #expect(got == want, "mask upper6=\(upper6), \(cores) cores")
            }
            #expect(runF16(n, cores: cores) { sp_mask_grad_f16(Int32(n), dy, mask, $0, $1, $2) } == gradRef,
                    "mask grad \(cores)")
            // In place: y aliases the input.
            var inPlace = a
            inPlace.withUnsafeMutableBufferPointer { p in
                forEachCore(cores) { sp_relu_f16(Int32(n), p.baseAddress, p.baseAddress, $0, $1) }
            }
            #expect(inPlace == reluRef, "relu in place \(cores)")
            var g = dy
            g.withUnsafeMutableBufferPointer { p in
                forEachCore(cores) { sp_mask_grad_f16(Int32(n), p.baseAddress, mask, p.baseAddress, $0, $1) }
            }
            #expect(g == gradRef, "mask grad in place \(cores)")
        }
    }

    @Test(arguments: f16OpSizes)
    func conversionsAndNonFiniteCount(_ n: Int) {
        var rng = SplitMix64(seed: stableSeed("f16 conversions \(n)"), "f16 conversions n=\(n)")
        let specials: [Float] = [0, -0, .infinity, -.infinity, .nan, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 6e-5]
        let f: [Float] = (0..<n).map { i in
            i < specials.count ? specials[i] : (i % 2 == 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
                                                           : rng.float(-70_000, 70_000))
        }
        let h = f16OpInputs(n, &rng)
        let nonFinite = h.filter { $0 & 0x7C00 == 0x7C00 }.count
        for cores in coreCounts {
            #expect(runF16(n, cores: cores) { sp_f32_to_f16_tensor(Int32(n), f, $0, $1, $2) } == f.map { sp_f16_from_f32($0) },
                    "f32 -> f16, \(cores) cores")
            var wide = [Float](repeating: 1.5, count: n)
            forEachCore(cores) { sp_f16_to_f32_tensor(Int32(n), h, &wide, $0, $1) }
            #expect(wide.map(\.bitPattern) == h.map { sp_f16_to_f32($0).bitPattern }, "f16 -> f32, \(cores) cores")
            var counts = [Int32](repeating: -1, count: cores)
            forEachCore(cores) { sp_f16_count_nonfinite(Int32(n), h, &counts, $0, $1) }
            #expect(counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) == Int32(nonFinite),
                    "non-finite count, \(cores) cores: \(counts), want total \(nonFinite)")
        }
    }
}

// ------------------------------------------------------------------ pooling

/// fp16 pooling reference written with the C scalar core (sp_f16_add, sp_f16_div),
/// in the documented orders; gradients scattered in output order, which adds each
/// input element's terms in (oh, ow) ascending order, as the kernels' gathers do.
enum F16PoolRef {
    static func mean(_ mode: sp_f16_acc, _ sum: UInt16, _ sum32: Float, _ k: Int) -> UInt16 {
        mode == SP_F16_ACC_F16 ? sp_f16_div(sum, sp_f16_from_f32(Float(k))) : sp_f16_from_f32(sum32 / Float(k))
    }

    static func maxForward(_ p: PoolCase, _ x: [UInt16]) -> (y: [UInt16], argmax: [UInt8]) {
        var y = [UInt16](repeating: 0, count: p.yCount), arg = [UInt8](repeating: 0, count: p.yCount)
        p.forEachOutput { o, taps in
            var best: UInt16 = 0xFC00, a = 255
            for (j, t) in taps.enumerated() {
                let v = sp_f16_to_f32(x[t.index]), b = sp_f16_to_f32(best)
                if j == 0 || (!b.isNaN && !(v <= b)) { best = x[t.index]; a = t.tap }
            }
            y[o] = best
            arg[o] = UInt8(a)
        }
        return (y, arg)
    }

    static func maxBackward(_ p: PoolCase, _ mode: sp_f16_acc, _ dy: [UInt16], _ argmax: [UInt8]) -> [UInt16] {
        var dx = [UInt16](repeating: 0, count: p.xCount), dx32 = [Float](repeating: 0, count: p.xCount)
        p.forEachOutput { o, taps in
            for t in taps where t.tap == Int(argmax[o]) {
                dx[t.index] = sp_f16_add(dx[t.index], dy[o])
                dx32[t.index] += sp_f16_to_f32(dy[o])
            }
        }
        return mode == SP_F16_ACC_F16 ? dx : narrow(dx32)
    }

    static func avgForward(_ p: PoolCase, _ mode: sp_f16_acc, _ x: [UInt16]) -> [UInt16] {
        var y = [UInt16](repeating: 0, count: p.yCount)
        p.forEachOutput { o, taps in
            var s: UInt16 = 0, s32: Float = 0
            for t in taps { s = sp_f16_add(s, x[t.index]); s32 += sp_f16_to_f32(x[t.index]) }
            y[o] = mean(mode, s, s32, p.kH * p.kW)
        }
        return y
    }

    static func avgBackward(_ p: PoolCase, _ mode: sp_f16_acc, _ dy: [UInt16]) -> [UInt16] {
        var s = [UInt16](repeating: 0, count: p.xCount), s32 = [Float](repeating: 0, count: p.xCount)
        p.forEachOutput { o, taps in
            for t in taps { s[t.index] = sp_f16_add(s[t.index], dy[o]); s32[t.index] += sp_f16_to_f32(dy[o]) }
        }
        return s.indices.map { mean(mode, s[$0], s32[$0], p.kH * p.kW) }
    }

    static func globalForward(_ mode: sp_f16_acc, positions: Int, channels: Int, _ x: [UInt16]) -> [UInt16] {
        (0..<channels).map { ch in
            var s: UInt16 = 0, s32: Float = 0
            for q in 0..<positions { s = sp_f16_add(s, x[q * channels + ch]); s32 += sp_f16_to_f32(x[q * channels + ch]) }
            return mean(mode, s, s32, positions)
        }
    }
}

let f16GlobalCases = [(1, 1), (9, 5), (49, 20), (3000, 3)]

@Suite("fp16 pooling kernels")
struct F16PoolTests {
    @Test(arguments: poolCases)
    func poolingMatchesTheReferenceOnEveryCoreCount(_ p: PoolCase) {
        var rng = SplitMix64(seed: stableSeed("f16 pool " + p.name), "f16 pool \(p.name)")
        var x = rng.f16Values(p.xCount, -4, 4)
        for i in stride(from: 0, to: x.count, by: 11) { x[i] = x[max(0, i - p.c)] } // ties
        let dy = rng.f16Values(p.yCount, -4, 4)
        var s = p.shape
        let (yRef, argRef) = F16PoolRef.maxForward(p, x)
        let fp32 = CPool.maxForward(p, x: widen(x))
        #expect(argRef == fp32.argmax && zip(yRef, narrow(fp32.y)).allSatisfy { F16Ref.same($0, $1) },
                "max forward = the FP32 kernel on the widened input")
        for cores in coreCounts {
            var arg = [UInt8](repeating: 0xAA, count: p.yCount)
            let y = runF16(p.yCount, cores: cores) { sp_maxpool_fwd_f16(&s, x, $0, &arg, $1, $2) }
            #expect(y == yRef && arg == argRef, "max forward, \(cores) cores")
            let yNoArg = runF16(p.yCount, cores: cores) { sp_maxpool_fwd_f16(&s, x, $0, nil, $1, $2) }
            #expect(yNoArg == yRef, "max forward without argmax, \(cores) cores")
        }
        for mode in F16KernelRef.modes {
            let m = F16KernelRef.name(mode)
            let want = (max: F16PoolRef.maxBackward(p, mode, dy, argRef), avg: F16PoolRef.avgForward(p, mode, x),
                        avgB: F16PoolRef.avgBackward(p, mode, dy))
            for cores in coreCounts {
                #expect(runF16(p.xCount, cores: cores) { sp_maxpool_bwd_f16(&s, dy, argRef, $0, mode, $1, $2) } == want.max,
                        "\(m) max backward, \(cores) cores")
                #expect(runF16(p.yCount, cores: cores) { sp_avgpool_fwd_f16(&s, x, $0, mode, $1, $2) } == want.avg,
                        "\(m) avg forward, \(cores) cores")
                #expect(runF16(p.xCount, cores: cores) { sp_avgpool_bwd_f16(&s, dy, $0, mode, $1, $2) } == want.avgB,
                        "\(m) avg backward, \(cores) cores")
            }
            // Against the FP32 kernels on the widened inputs.
            let max32 = CPool.maxBackward(p, dy: widen(dy), argmax: argRef)
            let avg32 = CPool.avgForward(p, x: widen(x)), avgB32 = CPool.avgBackward(p, dy: widen(dy))
            let absAvg = CPool.avgForward(p, x: widen(x).map(abs)), absAvgB = CPool.avgBackward(p, dy: widen(dy).map(abs))
            if mode == SP_F16_ACC_F32 {
                #expect(want.max == narrow(max32) && want.avg == narrow(avg32) && want.avgB == narrow(avgB32),
                        "f32 accumulation = the FP32 kernel rounded once")
            } else {
                expectF16Near(want.max, max32, scale: CPool.maxBackward(p, dy: widen(dy).map(abs), argmax: argRef),
                              terms: p.kH * p.kW, "max backward")
                expectF16Near(want.avg, avg32, scale: absAvg, terms: p.kH * p.kW, "avg forward")
                expectF16Near(want.avgB, avgB32, scale: absAvgB, terms: p.kH * p.kW, "avg backward")
            }
        }
    }

    @Test(arguments: 0..<f16GlobalCases.count)
    func globalAveragePool(_ index: Int) {
        let (positions, channels) = f16GlobalCases[index]
        var rng = SplitMix64(seed: stableSeed("f16 gap \(index)"), "f16 global avgpool \(positions)x\(channels)")
        let x = rng.f16Values(positions * channels, -2, 2), dy = rng.f16Values(channels, -2, 2)
        let count = sp_f16_from_f32(Float(positions))
        let bwdRef = (0..<positions * channels).map { sp_f16_div(dy[$0 % channels], count) }
        var y32 = [Float](repeating: 0, count: channels), abs32 = y32, dx32 = [Float](repeating: 0, count: positions * channels)
        sp_global_avgpool_fwd_f32(Int32(positions), Int32(channels), widen(x), &y32, 0, 1)
        sp_global_avgpool_fwd_f32(Int32(positions), Int32(channels), widen(x).map(abs), &abs32, 0, 1)
        sp_global_avgpool_bwd_f32(Int32(positions), Int32(channels), widen(dy), &dx32, 0, 1)
        if positions <= 2048 { #expect(bwdRef == narrow(dx32), "backward = the FP32 kernel rounded once") }
        for mode in F16KernelRef.modes {
            let want = F16PoolRef.globalForward(mode, positions: positions, channels: channels, x)
            for cores in coreCounts {
                #expect(runF16(channels, cores: cores) {
                    sp_global_avgpool_fwd_f16(Int32(positions), Int32(channels), x, $0, mode, $1, $2)
                } == want, "\(F16KernelRef.name(mode)) forward, \(cores) cores")
            }
            if mode == SP_F16_ACC_F32 {
                #expect(want == narrow(y32))
            } else {
                expectF16Near(want, y32, scale: abs32, terms: positions, "global avg forward")
            }
        }
        for cores in coreCounts {
            #expect(runF16(positions * channels, cores: cores) {
                sp_global_avgpool_bwd_f16(Int32(positions), Int32(channels), dy, $0, $1, $2)
            } == bwdRef, "backward, \(cores) cores")
        }
    }
}

/// Documented bound of an fp16-accumulated mean of `terms` terms against the
/// FP32 kernel: |y16 - y32| <= (terms + 1) * u * scale + 2^-24, u = 2^-11, where
/// scale is the mean of the absolute terms (one rounding per add, one for the
/// division, subnormal steps absolute).
func expectF16Near(_ got: [UInt16], _ want: [Float], scale: [Float], terms: Int, _ what: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let u = 1.0 / 2048.0
    var worst = 0.0
    for i in got.indices {
        let err = abs(Double(sp_f16_to_f32(got[i])) - Double(want[i]))
        let tol = Double(terms + 1) * u * Double(scale[i]) + 0x1p-24
        worst = max(worst, err.isNaN ? .infinity : err / tol)
    }
    #expect(worst <= 1, "\(what): \(worst)x the tolerance", sourceLocation: sourceLocation)
}
