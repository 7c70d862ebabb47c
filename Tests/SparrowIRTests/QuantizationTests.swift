import Testing
@testable import SparrowIR

/// FNV-1a over little-endian Int64s (the same digest as CSparrowKernelsTests' Int8Digest).
private struct Digest {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ v: Int64) {
        var u = UInt64(bitPattern: v)
        for _ in 0..<8 { value = (value ^ (u & 0xFF)) &* 0x0100_0000_01B3; u >>= 8 }
    }
}

private func seeded(_ seed: UInt64, _ label: String) -> SeededGenerator {
    print("[SparrowIRTests] \(label): seed \(seed)")
    return SeededGenerator(seed: seed)
}

/// floor(acc · mult / 2^(31+shift) + 1/2) by Int128 division (the C header's definition).
private func referenceRaw(_ acc: Int32, _ m: FixedPointMultiplier) -> Int128 {
    let d = Int128(1) << (32 + m.shift)
    let a = 2 * Int128(acc) * Int128(m.mult) + (Int128(1) << (31 + m.shift))
    let q = a / d
    return (a % d != 0 && a < 0) ? q - 1 : q
}

@Suite("quantization math")
struct QuantizationTests {
    @Test func fixedPointRoundTrip() {
        var rng = seeded(0x0A11_0001, "fixed point round trip")
        var reals: [Double] = [0x1p-32, 0x1p-31, 0.5, 1, 1.5, 0x1p30, 0x1p31 - 1, 0x1p31 - 0x1p-22,
                               0.0078125, 1.0 / 3, (0x1p31 - 0.5) / 0x1p31, (0x1p31 - 0.25) / 0x1p31]
        for _ in 0..<20_000 {
            let e = Double(Int(rng.nextInt(below: 63)) - 32) // 2^-32 ... 2^30
            reals.append(Double(sign: .plus, exponent: Int(e), significand: 1 + Double(rng.next() >> 11) * 0x1p-53))
        }
        for r in reals where r < 0x1p31 {
            let m = FixedPointMultiplier(real: r)
            #expect(m.mult >= 1 << 30, "\(r): mult \(m.mult) not normalised")
            #expect(FixedPointMultiplier.shiftRange.contains(m.shift))
            #expect(abs(m.real - r) <= r * 0x1p-31, "\(r) represented as \(m) = \(m.real)")
        }
        #expect(FixedPointMultiplier(real: 0) == FixedPointMultiplier(mult: 0, shift: 0))
        #expect(FixedPointMultiplier(real: 0.5) == FixedPointMultiplier(mult: 1 << 30, shift: 0))
        #expect(FixedPointMultiplier(real: 1) == FixedPointMultiplier(mult: 1 << 30, shift: -1))
        // Rounding up to 2^31 renormalises.
        #expect(FixedPointMultiplier(real: (0x1p31 - 0.25) / 0x1p31) == FixedPointMultiplier(mult: 1 << 30, shift: -1))
        // Below 2^-32: denormalised at shift 31; every int32 accumulator then gives 0.
        let tiny = FixedPointMultiplier(real: 0x1p-40)
        #expect(tiny.shift == 31 && tiny.mult == 1 << 22)
        for acc: Int32 in [.min, -1, 0, 1, .max] { #expect(tiny.apply(acc) == 0) }
    }

    @Test func applyIsExactRoundHalfUp() {
        var rng = seeded(0x0A11_0002, "fixed point apply")
        for _ in 0..<50_000 {
            let m = FixedPointMultiplier(mult: Int32(rng.next() >> 33), shift: Int(rng.nextInt(below: 63)) - 31)
            let acc = Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> (32 + rng.next() % 32))
            let got = m.apply(acc)
            if Int128(got) != referenceRaw(acc, m) {
                Issue.record("\(m).apply(\(acc)) = \(got), want \(referenceRaw(acc, m))")
                return
            }
        }
        // M = 1/2: ties go up on both sides of zero.
        let half = FixedPointMultiplier(real: 0.5)
        #expect([-3, -1, 1, 3].map { half.apply($0) } == [-1, 0, 1, 2])
        #expect(half.requantize(1000, zeroPoint: 0) == 127)
        #expect(half.requantize(-1000, zeroPoint: 0) == -128)
        #expect(half.requantize(9, zeroPoint: 3, clampTo: 3...6) == 6)
    }

    /// The same grid and digest as CSparrowKernelsTests' `goldenDigestSharedWithSwift`:
    /// the Swift FixedPointMultiplier and QuantParams give the C kernels' bits.
    @Test func goldenDigestsMatchTheCKernels() {
        var rng = seeded(0x5EED_1A7E, "requant golden grid")
        var raw = Digest(), q = Digest()
        for _ in 0..<20_000 {
            let acc = Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> (32 + rng.next() % 32))
            let m = FixedPointMultiplier(mult: Int32(rng.next() >> 33), shift: Int(rng.next() % 63) - 31)
            let zp = Int32(rng.next() % 256) - 128
            raw.add(m.apply(acc))
            q.add(Int64(m.requantize(acc, zeroPoint: zp)))
        }
        #expect(raw.value ^ q.value == 13_860_121_200_171_629_243)

        var frng = seeded(0x5EED_0F32, "quantize golden grid")
        var fq = Digest()
        func add(_ x: Float, _ scale: Float, _ zp: Int32) {
            fq.add(Int64(QuantParams(scale: scale, zeroPoint: zp).quantize(x)))
        }
        let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 127.5, -128.5, 1e30, -1e30]
        for x in specials { for zp: Int32 in [-128, 0, 3, 127] { add(x, 1, zp) } }
        for _ in 0..<20_000 {
            let scale = Float(Double(frng.next() % 1000 + 1) * 0.001)
            let x: Float
            if frng.next() % 2 == 0 {
                x = (-200 + 400 * Float(frng.next() >> 40) * (1.0 / 16_777_216.0)) * scale
            } else {
                x = Float(Int(frng.next() % 600) - 300) / 2 * scale
            }
            add(x, scale, Int32(frng.next() % 256) - 128)
        }
        #expect(fq.value == 6_873_436_902_756_434_083)
    }

    @Test func activationParamsContainZero() {
        var rng = seeded(0x0A11_0003, "activation params")
        for _ in 0..<2000 {
            let a = (rng.nextUnitFloat() - 0.5) * 20, b = (rng.nextUnitFloat() - 0.5) * 20
            let p = QuantParams.activation(min: min(a, b), max: max(a, b))
            #expect(p.dequantize(Int8(p.zeroPoint)) == 0, "real 0 is exact")
            #expect(p.quantize(0) == Int8(p.zeroPoint))
            let r = p.representableRange
            // The calibrated range is covered up to half a step of zero-point rounding.
            #expect(r.lowerBound <= min(a, b, 0) + p.scale * 0.51 && r.upperBound >= max(a, b, 0) - p.scale * 0.51, "\(p) for [\(min(a, b)), \(max(a, b))]")
        }
        #expect(QuantParams.activation(min: 0, max: 2.55).zeroPoint == -128)          // post-ReLU
        #expect(QuantParams.activation(min: -2.55, max: -1).zeroPoint == 127)         // widened to 0
        #expect(QuantParams.activation(min: 0, max: 0) == QuantParams(scale: 1, zeroPoint: 0))
        #expect(QuantParams.activation(calibration: [3, -1, .nan, 0.5]) == QuantParams.activation(min: -1, max: 3))
    }

    @Test func quantizeRoundsHalfToEvenAndSaturates() {
        let p = QuantParams(scale: 1, zeroPoint: 0)
        #expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.5, 1e9, -1e9].map(p.quantize) as [Int8] == [0, 2, 2, 0, -2, -2, 126, 127, 127, -128])
        #expect(QuantParams(scale: 0.5, zeroPoint: 10).quantize(Float.nan) == 10)
        #expect(QuantParams(scale: 0.25, zeroPoint: -3).dequantize(5) == 2)
        let s = QuantParams.symmetric(maxAbs: 2.54)
        #expect(s.zeroPoint == 0 && s.quantize(2.54) == 127 && s.quantize(-2.54) == -127)
        #expect(QuantParams.symmetric(maxAbs: 0).scale == 1)
    }

    @Test func perChannelWeightsAndLayerParams() {
        // Conv [Cout=2][1][1][Cin=3] and the same numbers as depthwise [1][1][C=3]... rows.
        let w: [Float] = [0.5, -1.27, 0.1, 2, 0, -0.02]
        let conv = ChannelQuantizedWeights(w, channels: .outer(2))
        #expect(conv.scales == [Float(1.27 / 127.0), Float(2.0 / 127.0)])
        #expect(conv.values[1] == -127 && conv.values[3] == 127 && conv.values[4] == 0)
        let dw = ChannelQuantizedWeights(w, channels: .inner(3))
        #expect(dw.scales == [Float(2.0 / 127.0), Float(1.27 / 127.0), Float(0.1 / 127.0)])
        #expect(dw.values[2] == 127 && dw.values[3] == 127 && dw.values[1] == -127)

        let input = QuantParams(scale: 0.02, zeroPoint: -128), output = QuantParams(scale: 0.05, zeroPoint: -20)
        let layer = QuantizedLayerParams(input: input, weightScales: conv.scales, output: output, activation: .relu6)
        for (m, ws) in zip(layer.multipliers, conv.scales) {
            let real = Double(input.scale) * Double(ws) / Double(output.scale)
            #expect(abs(m.real - real) <= real * 0x1p-31)
        }
        #expect(layer.activationRange == -20...100)          // zp + rne(6 / 0.05)
        #expect(QuantizedActivation.relu.range(output) == -20...127)
        #expect(QuantizedActivation.relu6.range(QuantParams(scale: 0.01, zeroPoint: 0)) == 0...127)
        let bias = layer.quantizeBias([0.001, -1])
        #expect(bias[0] == Int32((0.001 / (0.02 * Double(conv.scales[0]))).rounded(.toNearestOrEven)))
        #expect(bias[1] == Int32((-1 / (Double(Float(0.02)) * Double(conv.scales[1]))).rounded(.toNearestOrEven)))
        #expect(layer.mults.count == 2 && layer.shifts.count == 2)
    }

    @Test func quantizationAwareScalingFactors() {
        #expect(QuantizationAwareScaling.weightGradientScale(weightScale: 0.5) == 4)
        #expect(QuantizationAwareScaling.biasGradientScale(weightScale: 0.5, inputScale: 0.25) == 64)
        // QAS restores the fp32 weight-to-gradient norm ratio: with W̄ = W / s and
        // G_W̄ = s · G_W, ‖W̄‖ / ‖G_W̄ · s⁻²‖ = ‖W‖ / ‖G_W‖.
        var rng = seeded(0x0A11_0004, "QAS ratio")
        let w = (0..<64).map { _ in Double(rng.nextUnitFloat()) - 0.5 }
        let g = (0..<64).map { _ in (Double(rng.nextUnitFloat()) - 0.5) * 1e-3 }
        let s: Float = 0.0123
        let k = QuantizationAwareScaling.weightGradientScale(weightScale: s)
        func norm(_ v: [Double]) -> Double { v.map { $0 * $0 }.reduce(0, +).squareRoot() }
        let ratioFP32 = norm(w) / norm(g)
        let ratioQAS = norm(w.map { $0 / Double(s) }) / norm(g.map { $0 * Double(s) * k })
        #expect(abs(ratioQAS / ratioFP32 - 1) < 1e-12)
        let layer = QuantizedLayerParams(input: QuantParams(scale: 0.1, zeroPoint: 0), weightScales: [0.5, 0.25],
                                         output: QuantParams(scale: 1, zeroPoint: 0))
        let f = QuantizationAwareScaling.factors(for: layer)
        #expect(f.weight == [4, 16])
        let sx = Double(Float(0.1))
        for (got, sw) in zip(f.bias, [0.5, 0.25]) { #expect(abs(got * (sw * sx) * (sw * sx) - 1) < 1e-12) }
    }
}
