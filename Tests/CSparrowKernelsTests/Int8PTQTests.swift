import CSparrowKernels
import Testing

/// Post-training quantization sanity: an FP32 layer and its input, quantized with
/// parameters from calibration data (the recipe of SparrowIR's Quantization*.swift,
/// restated here because this target cannot import SparrowIR), run through the
/// int8 kernel and dequantized, stay within a few output steps of the FP32 kernel.
enum PTQ {
    /// Asymmetric activation params: range widened to contain 0, 255 steps.
    static func activation(_ values: [Float]) -> (scale: Float, zp: Int32) {
        let lo = Double(min(values.min() ?? 0, 0)), hi = Double(max(values.max() ?? 0, 0))
        let scale = Float((hi - lo) / 255)
        let zp = (-128 - lo / Double(scale)).rounded(.toNearestOrEven)
        return (scale, Int32(max(-128, min(127, zp))))
    }

    /// mult · 2^-(31+shift) ≈ real (the normalised FixedPointMultiplier).
    static func fixedPoint(_ real: Double) -> (mult: Int32, shift: Int32) {
        var e = Int(real.exponent) + 1
        var m = (real * Double(sign: .plus, exponent: 31 - e, significand: 1)).rounded(.toNearestOrAwayFromZero)
        if m == 0x1p31 { m = 0x1p30; e += 1 }
        return (Int32(m), Int32(-e))
    }

    static func quantize(_ x: [Float], _ scale: Float, _ zp: Int32) -> [Int8] {
        var q = [Int8](repeating: 0, count: x.count)
        sp_quantize_f32_to_int8(Int32(x.count), x, scale, zp, &q, 0, 1)
        return q
    }
}

@Suite("int8 post-training quantization")
struct Int8PTQTests {
    static let cases: [ConvCase] = [
        ConvCase(name: "3x3 conv 6x6x3->5 pad 1", inH: 6, inW: 6, inC: 3, outC: 5, kH: 3, kW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "3x3 depthwise 6x6x4 stride 2", inH: 6, inW: 6, inC: 4, outC: 4, kH: 3, kW: 3, strideH: 2, strideW: 2,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 4),
        ConvCase(name: "1x1 conv 5x5x8->6", inH: 5, inW: 5, inC: 8, outC: 6, kH: 1, kW: 1),
        ConvCase(name: "linear 40->10 as 1x1", inH: 1, inW: 1, inC: 40, outC: 10, kH: 1, kW: 1),
    ]

    @Test(arguments: cases)
    func int8ForwardTracksFP32(_ c: ConvCase) {
        var rng = SplitMix64(seed: stableSeed("ptq " + c.name), "ptq \(c.name)")
        let w = rng.floats(c.wCount, -0.5, 0.5)
        let b = rng.floats(c.outC, -0.2, 0.2)
        // Calibration: a few inputs with a skewed range (like post-ReLU activations with a tail).
        // The test input is one of them, so the error measured is rounding, not clipping.
        let calibration = (0..<4).map { _ in rng.floats(c.xCount, -0.4, 1.2) }
        let x = calibration[2]
        func fp32(_ x: [Float]) -> [Float] { CConv.forward(c, x: x, w: w, b: b) }
        let inP = PTQ.activation(calibration.flatMap { $0 })
        let outP = PTQ.activation(calibration.flatMap(fp32))

        // Weights: symmetric per output channel (max-abs / 127).
        var wScale = [Float](repeating: 0, count: c.outC)
        for oc in 0..<c.outC {
            var m: Float = 0
            for kh in 0..<c.kH { for kw in 0..<c.kW { for icl in 0..<(c.depthwise ? 1 : c.icg) {
                m = max(m, abs(w[c.wIndex(oc, kh, kw, icl)]))
            } } }
            wScale[oc] = Float(Double(m) / 127)
        }
        var wq = [Int8](repeating: 0, count: c.wCount)
        for oc in 0..<c.outC {
            for kh in 0..<c.kH { for kw in 0..<c.kW { for icl in 0..<(c.depthwise ? 1 : c.icg) {
                let i = c.wIndex(oc, kh, kw, icl)
                wq[i] = PTQ.quantize([w[i]], wScale[oc], 0)[0]
            } } }
        }
        let fixed = wScale.map { PTQ.fixedPoint(Double(inP.scale) * Double($0) / Double(outP.scale)) }
        let bias = (0..<c.outC).map { Int32((Double(b[$0]) / (Double(inP.scale) * Double(wScale[$0]))).rounded(.toNearestOrEven)) }
        let layer = Int8Layer(inZero: inP.zp, outZero: outP.zp, mult: fixed.map(\.mult), shift: fixed.map(\.shift), bias: bias)

        let y = CInt8.conv(c, x: PTQ.quantize(x, inP.scale, inP.zp), w: wq, layer: layer)
        var deq = [Float](repeating: .nan, count: y.count)
        sp_dequantize_int8_to_f32(Int32(y.count), y, outP.scale, outP.zp, &deq, 0, 1)
        // Outputs beyond the calibrated range clip; compare with the clipped fp32 result.
        let lo = Float(-128 - outP.zp) * outP.scale, hi = Float(127 - outP.zp) * outP.scale
        let want = fp32(x).map { max(lo, min(hi, $0)) }
        let steps = zip(deq, want).map { Double(abs($0 - $1)) / Double(outP.scale) }
        let worst = steps.max() ?? 0, mean = steps.reduce(0, +) / Double(steps.count)
        print("[CSparrowKernelsTests] ptq \(c.name): output step \(outP.scale), error max \(worst) steps, mean \(mean)")
        #expect(worst <= 3, "\(c.name): int8 forward off by \(worst) output steps")
        #expect(mean <= 1, "\(c.name): mean error \(mean) output steps")
        // And the linear kernel gives the same bits as the 1x1 conv on a 1x1 input.
        if c.inH == 1 && c.inW == 1 {
            #expect(CInt8.linear(inFeatures: c.inC, outFeatures: c.outC, x: PTQ.quantize(x, inP.scale, inP.zp), w: wq, layer: layer) == y)
        }
    }
}
