import CSparrowKernels
import Testing

// Int8 training kernels (int8_pool.c, int8_backward.c, int8_update.c): exact
// references, FP32-on-dequantized equivalence, and splits over 1, 2, 3, 8 cores.

/// Pool shapes: every stride / padding of 1..3 windows on small inputs.
private func poolShapes() -> [sp_pool_shape] {
    var out: [sp_pool_shape] = []
    for (h, w) in [(1, 1), (3, 3), (4, 5), (5, 2)] {
        for k in 1...3 { for st in 1...2 { for pad in 0...1 where pad < k || st == 2 {
            let oh = (h + 2 * pad - k) / st + 1, ow = (w + 2 * pad - k) / st + 1
            guard oh > 0, ow > 0 else { continue }
            out.append(sp_pool_shape(in_h: Int32(h), in_w: Int32(w), c: 3, out_h: Int32(oh), out_w: Int32(ow),
                                     k_h: Int32(k), k_w: Int32(k), stride_h: Int32(st), stride_w: Int32(st),
                                     pad_top: Int32(pad), pad_left: Int32(pad)))
        } } }
    }
    return out
}

/// x_real = Float(x - zp) * scale, as sp_dequantize_int8_to_f32.
private func dequantize(_ q: [Int8], _ scale: Float, _ zp: Int32) -> [Float] {
    q.map { Float(Int32($0) - zp) * scale }
}

@Suite("Int8 training kernels")
struct Int8TrainTests {
    @Test("int8 max pool: exact max, first-maximum argmax, equals FP32 max pool on the same values")
    func maxPool() {
        var rng = SplitMix64(seed: 0x1A7_9001, "int8 max pool")
        for shape in poolShapes() {
            var s = shape
            let (h, w, c) = (Int(s.in_h), Int(s.in_w), Int(s.c))
            let (oh, ow, k) = (Int(s.out_h), Int(s.out_w), Int(s.k_w))
            // A narrow range gives many ties.
            let x: [Int8] = (0..<(h * w * c)).map { _ in Int8(Int(rng.next() % 5) - 2) * (rng.next() % 4 == 0 ? 60 : 1) }
            var wantY = [Int8](repeating: -128, count: oh * ow * c), wantA = [UInt8](repeating: 255, count: oh * ow * c)
            for p in 0..<(oh * ow) { for ch in 0..<c {
                var best: Int8? = nil
                for kh in 0..<k { for kw in 0..<k {
                    let ih = (p / ow) * Int(s.stride_h) - Int(s.pad_top) + kh
                    let iw = (p % ow) * Int(s.stride_w) - Int(s.pad_left) + kw
                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                    let v = x[(ih * w + iw) * c + ch]
                    if best == nil || v > best! { best = v; wantA[p * c + ch] = UInt8(kh * k + kw) }
                } }
                if let best { wantY[p * c + ch] = best }
            } }
            var f32Y = [Float](repeating: .nan, count: oh * ow * c), f32A = [UInt8](repeating: 0, count: oh * ow * c)
            let xf = x.map { Float($0) }
            sp_maxpool_fwd_f32(&s, xf, &f32Y, &f32A, 0, 1)
            #expect(f32A == wantA, "FP32 argmax \(s)")
            for cores in coreCounts {
                var y = [Int8](repeating: 99, count: oh * ow * c), a = [UInt8](repeating: 77, count: oh * ow * c)
                forEachCore(cores) { core, n in sp_maxpool_fwd_int8(&s, x, &y, &a, core, n) }
                #expect(y == wantY && a == wantA, "max pool \(s) on \(cores) cores")
                var y2 = [Int8](repeating: 99, count: oh * ow * c)
                forEachCore(cores) { core, n in sp_maxpool_fwd_int8(&s, x, &y2, nil, core, n) }
                #expect(y2 == wantY)
            }
        }
    }

    @Test("int8 global average pool: exact sum, one sp_requantize")
    func globalAvgPool() {
        var rng = SplitMix64(seed: 0x1A7_9002, "int8 global avg pool")
        for positions in [1, 2, 3, 7, 49] { for channels in [1, 3, 17] { for _ in 0..<4 {
            let x = randomInt8s(positions * channels, &rng)
            let zx = Int32(Int(rng.next() % 256) - 128), zy = Int32(Int(rng.next() % 256) - 128)
            let mult = Int32(1 << 30) + Int32(rng.next() % (1 << 30)), shift = Int32(Int(rng.next() % 10))
            let want: [Int8] = (0..<channels).map { ch in
                var sum: Int64 = 0
                for p in 0..<positions { sum += Int64(x[p * channels + ch]) - Int64(zx) }
                return Int8Ref.requantize(Int32(sum), mult, shift, zy)
            }
            for cores in coreCounts {
                var y = [Int8](repeating: 0, count: channels)
                forEachCore(cores) { core, n in
                    sp_global_avgpool_fwd_int8(Int32(positions), Int32(channels), x, zx, mult, shift, zy, &y, core, n)
                }
                #expect(y == want, "gap \(positions)x\(channels) on \(cores) cores")
            }
        } } }
    }

    @Test("conv backward from int8 = FP32 kernels on dequantized tensors, bit for bit", arguments: Int8ConvMode.allCases)
    func convBackward(mode: Int8ConvMode) {
        var rng = SplitMix64(seed: 0x1A7_9003, "int8 conv backward \(mode)")
        for c in mode.cases() {
            var s = c.shape
            let x = randomInt8s(c.xCount, &rng), w = randomInt8s(c.wCount, &rng, symmetric: true)
            let zx = Int32(Int(rng.next() % 256) - 128), sx = rng.float(0.001, 0.1)
            let ws = (0..<c.outC).map { _ in rng.float(0.001, 0.05) }
            let dy = rng.floats(c.yCount)
            let xr = dequantize(x, sx, zx)
            // w_real per output channel (depthwise: the channel is the last index).
            let wr: [Float] = w.indices.map { i in
                let oc = c.depthwise ? i % c.inC : i / (c.wCount / c.outC)
                return Float(w[i]) * ws[oc]
            }
            let wantDW = CConv.weightGradient(c, x: xr, dy: dy)
            let initial = rng.floats(c.wCount)
            let wantAcc = CConv.weightGradient(c, x: xr, dy: dy, into: initial)
            let wantDX = CConv.inputGradient(c, dy: dy, w: wr)
            for cores in coreCounts {
                var dw = [Float](repeating: .nan, count: c.wCount)
                forEachCore(cores) { core, n in sp_conv2d_bwd_weight_int8x_f32(&s, x, sx, zx, dy, &dw, 0, core, n) }
                #expect(bits(dw) == bits(wantDW), "dW \(c) on \(cores) cores")
                var acc = initial
                forEachCore(cores) { core, n in sp_conv2d_bwd_weight_int8x_f32(&s, x, sx, zx, dy, &acc, 1, core, n) }
                #expect(bits(acc) == bits(wantAcc), "dW accumulate \(c) on \(cores) cores")
                var dx = [Float](repeating: .nan, count: c.xCount)
                forEachCore(cores) { core, n in sp_conv2d_bwd_input_int8w_f32(&s, dy, w, ws, &dx, core, n) }
                #expect(bits(dx) == bits(wantDX), "dX \(c) on \(cores) cores")
            }
        }
    }

    @Test("linear backward from int8 = FP32 kernels on dequantized tensors, bit for bit")
    func linearBackward() {
        var rng = SplitMix64(seed: 0x1A7_9004, "int8 linear backward")
        for inF in [1, 3, 17, 40] { for outF in [1, 2, 10] {
            let x = randomInt8s(inF, &rng), w = randomInt8s(inF * outF, &rng, symmetric: true)
            let zx = Int32(Int(rng.next() % 256) - 128), sx = rng.float(0.001, 0.1)
            let ws = (0..<outF).map { _ in rng.float(0.001, 0.05) }
            let dy = rng.floats(outF)
            var xr = [Float](repeating: 0, count: inF)
            sp_dequantize_int8_to_f32(Int32(inF), x, sx, zx, &xr, 0, 1)
            let wr: [Float] = w.indices.map { Float(w[$0]) * ws[$0 / inF] }
            let initial = rng.floats(inF * outF)
            var wantDW = [Float](repeating: .nan, count: inF * outF), wantAcc = initial
            var wantDX = [Float](repeating: .nan, count: inF)
            sp_linear_bwd_weight_f32(Int32(inF), Int32(outF), xr, dy, &wantDW, 0, 0, 1)
            sp_linear_bwd_weight_f32(Int32(inF), Int32(outF), xr, dy, &wantAcc, 1, 0, 1)
            sp_linear_bwd_input_f32(Int32(inF), Int32(outF), dy, wr, &wantDX, 0, 1)
            for cores in coreCounts {
                var dw = [Float](repeating: .nan, count: inF * outF), acc = initial
                var dx = [Float](repeating: .nan, count: inF)
                forEachCore(cores) { core, n in
                    sp_linear_bwd_weight_int8x_f32(Int32(inF), Int32(outF), x, sx, zx, dy, &dw, 0, core, n)
                    sp_linear_bwd_weight_int8x_f32(Int32(inF), Int32(outF), x, sx, zx, dy, &acc, 1, core, n)
                    sp_linear_bwd_input_int8w_f32(Int32(inF), Int32(outF), dy, w, ws, &dx, core, n)
                }
                #expect(bits(dw) == bits(wantDW) && bits(acc) == bits(wantAcc) && bits(dx) == bits(wantDX),
                        "linear \(inF)->\(outF) on \(cores) cores")
            }
        } }
    }

    /// Reference of sp_sgd_qas_int8, the same fp32 operations in the same order.
    private static func qasWeight(_ w: Int8, _ g: Float, _ s: Float, _ lr: Float, _ gs: Float) -> Int8 {
        let gi = g * gs
        let d = (lr * gi) / s
        let t = Float(w) - d
        if t.isNaN { return w }
        if t >= 127 { return 127 }
        if t <= -127 { return -127 }
        return Int8(t.rounded(.toNearestOrEven))
    }

    /// Reference of sp_sgd_qas_bias_int32 (rounding of d exact in Double).
    private static func qasBias(_ b: Int32, _ g: Float, _ sx: Float, _ sw: Float, _ lr: Float, _ gs: Float) -> Int32 {
        let sb = sx * sw
        let gi = g * gs
        let d = (lr * gi) / sb
        if d.isNaN { return b }
        let r = Double(b) - Double(d).rounded(.toNearestOrEven)
        return Int32(max(Double(Int32.min), min(Double(Int32.max), r)))
    }

    @Test("QAS int8 weight update: ties to even at .5, saturation to ±127, NaN keeps w")
    func weightUpdateEdges() {
        // s = 1, lr = 1, grad_scale = 1: t = w - g.
        let cases: [(Int8, Float, Int8)] = [
            (0, 0.5, 0), (0, -0.5, 0), (1, 0.5, 0), (2, 0.5, 2), (-3, 0.5, -4), (3, -0.5, 4), (5, -0.5, 6),
            (0, 0.49999997, 0), (0, 0.50000006, -1), (0, 1.5, -2), (0, 2.5, -2),
            (127, -10, 127), (-127, 10, -127), (126, -0.5, 126), (126, -0.75, 127), (-126, 0.5, -126),
            (100, -.infinity, 127), (-100, .infinity, -127), (17, .nan, 17), (-128, 0, -127),
        ]
        let w = cases.map(\.0), g = cases.map(\.1), want = cases.map(\.2)
        var got = w
        sp_sgd_qas_int8(Int32(w.count), 1, 1, &got, g, [1], 1, 1, 0, 1)
        #expect(got == want)
        #expect(want == zip(w, g).map { Self.qasWeight($0, $1, 1, 1, 1) })
    }

    @Test("QAS int8 weight update: random layers vs reference, splits, channel layouts")
    func weightUpdateRandom() {
        var rng = SplitMix64(seed: 0x1A7_9005, "QAS weight update")
        for (stride, channels, count) in [(1, 1, 5), (9, 4, 36), (1, 3, 27), (12, 5, 60), (4, 2, 8)] {
            let w = randomInt8s(count, &rng, symmetric: true)
            let g = rng.floats(count, -4, 4), ws = (0..<channels).map { _ in rng.float(0.001, 0.05) }
            let lr = rng.float(0.001, 0.05), gs = Float(1) / Float(1 + Int(rng.next() % 8))
            let want = w.indices.map { Self.qasWeight(w[$0], g[$0], ws[($0 / stride) % channels], lr, gs) }
            #expect(want != w, "the update moves something")
            for cores in coreCounts {
                var got = w
                forEachCore(cores) { core, n in
                    sp_sgd_qas_int8(Int32(count), Int32(stride), Int32(channels), &got, g, ws, lr, gs, core, n)
                }
                #expect(got == want, "stride \(stride) channels \(channels) on \(cores) cores")
            }
        }
    }

    @Test("QAS int32 bias update: ties to even on the increment, int32 saturation, splits")
    func biasUpdate() {
        // sx = sw = 1, lr = 1, grad_scale = 1: b - rne(g).
        let cases: [(Int32, Float, Int32)] = [
            (0, 0.5, 0), (1, 0.5, 1), (1, 1.5, -1), (0, -2.5, 2), (7, 2.5, 5),
            (Int32.max, -1, Int32.max), (Int32.min, 1, Int32.min), (Int32.max, 3e9, -852_516_353),
            (Int32.min, -3e9, 852_516_352), (0, 1e10, Int32.min), (0, -1e10, Int32.max),
            (5, 6e9, Int32.min), (5, -6e9, Int32.max), (-5, 2_147_483_648, Int32.min), (5, .nan, 5),
            (0, .infinity, Int32.min), (0, 1_073_741_824, -1_073_741_824), (0, -1_073_741_952, 1_073_741_952),
        ]
        let b = cases.map(\.0), g = cases.map(\.1), want = cases.map(\.2)
        var got = b
        sp_sgd_qas_bias_int32(Int32(b.count), &got, g, 1, [Float](repeating: 1, count: b.count), 1, 1, 0, 1)
        #expect(got == want)
        #expect(want == zip(b, g).map { Self.qasBias($0, $1, 1, 1, 1, 1) })

        var rng = SplitMix64(seed: 0x1A7_9006, "QAS bias update")
        for n in [1, 3, 10, 33] {
            let b = (0..<n).map { _ in Int32(truncatingIfNeeded: Int64(rng.next() % 2_000_001) - 1_000_000) }
            let g = rng.floats(n, -2, 2), ws = (0..<n).map { _ in rng.float(0.001, 0.05) }
            let sx = rng.float(0.001, 0.1), lr = rng.float(0.001, 0.05), gs = Float(0.25)
            let want = (0..<n).map { Self.qasBias(b[$0], g[$0], sx, ws[$0], lr, gs) }
            for cores in coreCounts {
                var got = b
                forEachCore(cores) { core, k in sp_sgd_qas_bias_int32(Int32(n), &got, g, sx, ws, lr, gs, core, k) }
                #expect(got == want, "bias \(n) on \(cores) cores")
            }
        }
    }
}
