import CSparrowKernels
import Testing

/// Every stride / padding combination of 3×3 and 1×1 kernels on inputs up to
/// 5×5×3, for one channel arrangement.
enum Int8ConvMode: String, CaseIterable, Sendable {
    case ordinary, grouped, depthwise

    func cases() -> [ConvCase] {
        var out: [ConvCase] = []
        let inputs = [(1, 1), (3, 3), (5, 5), (4, 5), (5, 2)]
        for k in [1, 3] {
            for (h, w) in inputs {
                for sh in 1...2 { for sw in 1...2 {
                    for pt in 0...1 { for pl in 0...1 { for pb in 0...1 { for pr in 0...1 {
                        if k == 1 && (pb == 1 || pr == 1) { continue }
                        for (inC, outC, groups) in channels {
                            var c = ConvCase(name: "", inH: h, inW: w, inC: inC, outC: outC, kH: k, kW: k,
                                             strideH: sh, strideW: sw, padTop: pt, padLeft: pl,
                                             padBottom: pb, padRight: pr, groups: groups)
                            guard h + pt + pb >= k, w + pl + pr >= k else { continue }
                            c.name = "\(rawValue) \(h)x\(w)x\(inC)->\(outC) k\(k) s\(sh)\(sw) p\(pt)\(pl)\(pb)\(pr)"
                            out.append(c)
                        }
                    } } } }
                } }
            }
        }
        return out
    }

    private var channels: [(Int, Int, Int)] {
        switch self {
        case .ordinary: return [(3, 4, 1), (1, 2, 1)]
        case .grouped: return [(2, 4, 2), (3, 6, 3), (4, 2, 2)]
        case .depthwise: return [(3, 3, 3), (2, 2, 2), (1, 1, 1)]
        }
    }
}

@Suite("int8 conv2d and linear against the Int64 reference")
struct Int8ConvTests {
    /// Rough accumulator magnitude of a layer with `terms` products of random int8s.
    static func accMagnitude(terms: Int) -> Double { Double(terms).squareRoot() * 128 * 74 }

    @Test(arguments: Int8ConvMode.allCases)
    func exhaustiveSmallShapes(_ mode: Int8ConvMode) {
        let cases = mode.cases()
        var rng = SplitMix64(seed: stableSeed("int8 conv " + mode.rawValue), "int8 conv \(mode.rawValue)")
        var checked = 0
        for c in cases {
            for seedRound in 0..<2 {
                let x = randomInt8s(c.xCount, &rng)
                let w = randomInt8s(c.wCount, &rng, symmetric: true)
                var layer = Int8Layer.random(channels: c.outC, accMagnitude: Self.accMagnitude(terms: c.kH * c.kW * c.icg), rng: &rng)
                if seedRound == 1 { layer.bias = nil }
                let want = c.forwardInt8(x: x, w: w, layer: layer)
                for cores in coreCounts {
                    let got = CInt8.conv(c, x: x, w: w, layer: layer, cores: cores)
                    if got != want {
                        Issue.record("\(c.name) seed round \(seedRound), \(cores) cores: \(got) != \(want)")
                        return
                    }
                }
                // Fused ReLU / ReLU6 equal the clamped reference; masks agree with the unfused output.
                let relu = withAct(layer, layer.outZero, 127)
                let six = layer.outZero + Int32(rng.next() % UInt64(128 - layer.outZero))
                let relu6 = withAct(layer, layer.outZero, six)
                for (fused, name) in [(relu, "relu"), (relu6, "relu6")] {
                    let wantFused = c.forwardInt8(x: x, w: w, layer: fused)
                    #expect(wantFused == want.map { max(Int8(fused.actMin), min(Int8(fused.actMax), $0)) }, "\(c.name) \(name)")
                    for cores in [1, 3] {
                        #expect(CInt8.conv(c, x: x, w: w, layer: fused, cores: cores) == wantFused, "\(c.name) \(name) \(cores) cores")
                    }
                    let n = c.yCount
                    let maskWant = packBits(want.map { Int32($0) > fused.actMin && (name == "relu" || Int32($0) < six) })
                    let maskGot = maskOverCores(n, "\(c.name) int8 \(name) mask") { m, core, k in
                        if name == "relu" {
                            sp_relu_mask_int8(Int32(n), wantFused, layer.outZero, m, core, k)
                        } else {
                            sp_relu6_mask_int8(Int32(n), wantFused, layer.outZero, six, m, core, k)
                        }
                    }
                    #expect(maskGot == maskWant, "\(c.name) \(name) mask")
                }
                checked += 1
            }
        }
        print("[CSparrowKernelsTests] int8 conv \(mode.rawValue): \(cases.count) shapes, \(checked) layers")
    }

    private func withAct(_ l: Int8Layer, _ lo: Int32, _ hi: Int32) -> Int8Layer {
        var l = l
        l.actMin = lo
        l.actMax = hi
        return l
    }

    @Test func linearAgainstReferenceAndOneByOneConv() {
        var rng = SplitMix64(seed: 0x1A1F_0003, "int8 linear")
        for inF in [1, 2, 7, 16, 33, 70] {
            for outF in [1, 3, 10, 17] {
                let x = randomInt8s(inF, &rng)
                let w = randomInt8s(inF * outF, &rng, symmetric: true)
                let layer = Int8Layer.random(channels: outF, accMagnitude: Self.accMagnitude(terms: inF), rng: &rng)
                let asConv = ConvCase(name: "linear \(inF)->\(outF)", inH: 1, inW: 1, inC: inF, outC: outF, kH: 1, kW: 1)
                let want = asConv.forwardInt8(x: x, w: w, layer: layer)
                for cores in coreCounts {
                    #expect(CInt8.linear(inFeatures: inF, outFeatures: outF, x: x, w: w, layer: layer, cores: cores) == want,
                            "linear \(inF)->\(outF), \(cores) cores")
                }
                #expect(CInt8.conv(asConv, x: x, w: w, layer: layer) == want, "1x1 conv \(inF)->\(outF)")
            }
        }
    }

    @Test func accumulatorWrapsModulo2to32() {
        // 1×1 conv with 140k input channels of (127 − (−128)) · 127 overflows int32;
        // the header defines the sum modulo 2^32, which the reference does too.
        let n = 140_000
        let x = [Int8](repeating: 127, count: n), w = [Int8](repeating: 127, count: n)
        let layer = Int8Layer(inZero: -128, outZero: 0, mult: [0x4000_0000], shift: [20], bias: [Int32.max])
        let c = ConvCase(name: "wrap", inH: 1, inW: 1, inC: n, outC: 1, kH: 1, kW: 1)
        let want = c.forwardInt8(x: x, w: w, layer: layer)
        #expect(CInt8.conv(c, x: x, w: w, layer: layer) == want)
        #expect(CInt8.linear(inFeatures: n, outFeatures: 1, x: x, w: w, layer: layer) == want)
    }

    @Test func invalidArgumentsDoNothing() {
        let c = ConvCase(name: "bad", inH: 3, inW: 3, inC: 2, outC: 2, kH: 1, kW: 1)
        let layer = Int8Layer(inZero: 0, outZero: 0, mult: [1 << 30, 1 << 30], shift: [0, 0], bias: nil)
        let x = [Int8](repeating: 1, count: c.xCount), w = [Int8](repeating: 1, count: c.wCount)
        var s = c.shape
        var y = [Int8](repeating: 0x5A, count: c.yCount)
        layer.withC { rq, b in
            sp_conv2d_fwd_int8(&s, x, w, b, rq, &y, 2, 2)   // core_id out of range
            sp_conv2d_fwd_int8(&s, x, w, b, rq, &y, 0, 0)   // no cores
            sp_conv2d_fwd_int8(&s, x, w, b, nil, &y, 0, 1)  // no parameters
            s.groups = 3                                      // does not divide the channels
            sp_conv2d_fwd_int8(&s, x, w, b, rq, &y, 0, 1)
        }
        #expect(y.allSatisfy { $0 == 0x5A })
    }
}

@Suite("int8 quantize, dequantize, clamp")
struct Int8ElementwiseTests {
    static func quantizeRef(_ x: Float, _ scale: Float, _ zp: Int32) -> Int8 {
        let v = x / scale
        let r: Int32 = v.isNaN ? 0 : v <= -512 ? -512 : v >= 512 ? 512 : Int32(v.rounded(.toNearestOrEven))
        return Int8(max(-128, min(127, r + zp)))
    }

    @Test func quantizeMatchesRoundHalfEven() {
        var checked = 0
        quantizeGrid { x, scale, zp in
            var out: Int8 = 0
            var v = x
            sp_quantize_f32_to_int8(1, &v, scale, zp, &out, 0, 1)
            #expect(out == Self.quantizeRef(x, scale, zp), "quantize(\(x), \(scale), \(zp))")
            checked += 1
        }
        #expect(checked > 20_000)
        // Ties to even, both signs.
        let xs: [Float] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49999976, -3.5]
        var q = [Int8](repeating: 0, count: xs.count)
        sp_quantize_f32_to_int8(Int32(xs.count), xs, 1, 0, &q, 0, 1)
        #expect(q == [0, 2, 2, 0, -2, -2, 3, -4])
    }

    @Test func splitsAndDequantize() {
        var rng = SplitMix64(seed: 0x1A1F_0004, "int8 quantize splits")
        let n = 1001
        let x = rng.floats(n, -3, 3)
        let scale: Float = 0.0173, zp: Int32 = -11
        let want = x.map { Self.quantizeRef($0, scale, zp) }
        for cores in coreCounts {
            var q = [Int8](repeating: 0x5A, count: n)
            forEachCore(cores) { core, k in sp_quantize_f32_to_int8(Int32(n), x, scale, zp, &q, core, k) }
            #expect(q == want, "quantize, \(cores) cores")
            var back = [Float](repeating: .nan, count: n)
            forEachCore(cores) { core, k in sp_dequantize_int8_to_f32(Int32(n), q, scale, zp, &back, core, k) }
            #expect(bits(back) == bits(q.map { Float(Int32($0) - zp) * scale }), "dequantize, \(cores) cores")
            // The round trip is within half a step inside the representable range.
            for i in 0..<n where q[i] > -128 && q[i] < 127 {
                #expect(abs(back[i] - x[i]) <= scale * 0.5001)
            }
            var c = [Int8](repeating: 0x5A, count: n)
            forEachCore(cores) { core, k in sp_clamp_int8(Int32(n), q, zp, 40, &c, core, k) }
            #expect(c == q.map { max(Int8(zp), min(40, $0)) }, "clamp, \(cores) cores")
        }
    }
}
