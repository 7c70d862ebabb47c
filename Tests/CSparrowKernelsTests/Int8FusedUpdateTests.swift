import CSparrowKernels
import Testing

// Fused int8 QAS training kernels (int8_fused_update.c): the fp32 gradient from
// int8 activations fused with the QAS update must give the same bytes as the
// plain gradient kernel into a buffer followed by the QAS update kernel, for
// 1, 2, 3 and 8 cores, and each core alone must write exactly the elements whose
// gradient that core's plain kernel computes.

/// How the inputs of one case are drawn.
enum QASMode: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Random int8 x / zero point / w, random dy, steps and learning rate.
    case random
    /// Dyadic values (small x - zero point, dy in halves, power-of-two scales,
    /// steps, lr and grad_scale): many updates end exactly on .5 (ties to even).
    case ties
    /// Weights at and next to ±127 (and -128) with a large learning rate; biases
    /// next to the int32 limits with increments beyond 2^33: saturation.
    case saturate
    /// Inf and NaN in dy, x at its zero point (0 * inf), a tiny and a huge step.
    case nonfinite
    /// Conv only: x one step above its zero point everywhere, and in every
    /// channel of dy a +2^16 and, later, a -2^16 among terms in [-1, 1]: the big
    /// terms cancel, but the small ones added between them lose bits, so the
    /// gradient depends on the order of the sum far beyond its last bit and,
    /// with d = 10 g, so do many updated weights (a different order shows).
    case cancel

    /// The modes of kernels whose sums are not over output positions.
    static let noCancel: [QASMode] = allCases.filter { $0 != .cancel }

    var description: String { rawValue }
}

/// A gradient sentinel the kernels never produce (a NaN with a payload).
private let poison = Float(bitPattern: 0x7FC1_2345)

/// Runs, for every core count, the plain gradient kernel into a poisoned buffer
/// followed by the QAS update kernel, and the fused kernel, both from `start`,
/// and expects the same bytes (and the same bytes as 1 core). Then runs each
/// core k of n alone: the fused kernel must change exactly the elements whose
/// gradient core k of the plain kernel writes (to their final value). Returns
/// the 1-core gradient and whether the update changed anything.
private func expectFusedEqualsTwoKernels<T: FixedWidthInteger>(
    start: [T], _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    gradient: (UnsafeMutablePointer<Float>, Int32, Int32) -> Void,
    update: (UnsafeMutablePointer<T>, UnsafePointer<Float>, Int32, Int32) -> Void,
    fused: (UnsafeMutablePointer<T>, Int32, Int32) -> Void
) -> (gradient: [Float], changed: Bool) {
    let count = start.count
    var oneCore: [T] = [], oneCoreGradient: [Float] = []
    /// Nil when equal, else the first element that differs.
    func mismatch(_ got: [T], _ want: [T]) -> String? {
        guard let i = got.indices.first(where: { got[$0] != want[$0] }) else { return nil }
        return "[\(i)] is \(got[i]), expected \(want[i]) (start \(start[i]))"
    }
    for cores in coreCounts {
        let label = "\(what), \(cores) cores"
        var g = [Float](repeating: poison, count: count)
        g.withUnsafeMutableBufferPointer { gb in forEachCore(cores) { gradient(gb.baseAddress!, $0, $1) } }
        let complete = !g.contains { $0.bitPattern == poison.bitPattern }
        #expect(complete, "\(label): gradient not complete", sourceLocation: sourceLocation)
        var want = start
        want.withUnsafeMutableBufferPointer { wb in
            g.withUnsafeBufferPointer { gb in forEachCore(cores) { update(wb.baseAddress!, gb.baseAddress!, $0, $1) } }
        }
        var got = start
        got.withUnsafeMutableBufferPointer { wb in forEachCore(cores) { fused(wb.baseAddress!, $0, $1) } }
        let problem = mismatch(got, want)
        #expect(problem == nil, "\(label): fused vs gradient + QAS update: \(problem ?? "")",
                sourceLocation: sourceLocation)
        if cores == 1 {
            oneCore = got
            oneCoreGradient = g
        } else {
            let problem = mismatch(got, oneCore)
            #expect(problem == nil, "\(label): differs from 1 core: \(problem ?? "")", sourceLocation: sourceLocation)
            for k in 0..<cores {
                var gk = [Float](repeating: poison, count: count)
                gk.withUnsafeMutableBufferPointer { gradient($0.baseAddress!, Int32(k), Int32(cores)) }
                var alone = start
                alone.withUnsafeMutableBufferPointer { fused($0.baseAddress!, Int32(k), Int32(cores)) }
                let expected = start.indices.map { gk[$0].bitPattern == poison.bitPattern ? start[$0] : want[$0] }
                let problem = mismatch(alone, expected)
                #expect(problem == nil, "\(label): core \(k) alone: \(problem ?? "")", sourceLocation: sourceLocation)
            }
        }
    }
    return (oneCoreGradient, oneCore != start)
}

/// Inputs of a weight case (conv or linear): int8 x and its quantization, dy,
/// int8 w with one step per output channel, lr, grad_scale.
private struct QASWeightData {
    var x: [Int8], zx: Int32, xScale: Float, dy: [Float]
    var w: [Int8], steps: [Float], lr: Float, gs: Float

    /// outH, outW: the output positions of dy (cancel mode).
    init(_ mode: QASMode, xCount: Int, yCount: Int, wCount: Int, channels: Int, outH: Int = 1, outW: Int = 1,
         _ rng: inout SplitMix64) {
        zx = Int32(Int(rng.next() % 256) - 128)
        x = randomInt8s(xCount, &rng)
        xScale = rng.float(0.001, 0.1)
        dy = rng.floats(yCount)
        w = randomInt8s(wCount, &rng, symmetric: true).enumerated().map { i, v in
            i % 23 == 11 ? -128 : i % 19 == 3 ? 127 : i % 17 == 5 ? -127 : v
        }
        steps = (0..<channels).map { _ in rng.float(0.001, 0.05) }
        lr = rng.float(0.001, 0.05)
        gs = Float(1) / Float(1 + Int(rng.next() % 8))
        switch mode {
        case .random:
            break
        case .ties:
            let z = Int(rng.next() % 201) - 100
            zx = Int32(z)
            x = (0..<xCount).map { _ in Int8(z + Int(rng.next() % 7) - 3) }
            xScale = rng.next() % 2 == 0 ? 1 : 0.5
            dy = (0..<yCount).map { _ in Float(Int(rng.next() % 5) - 2) * 0.5 }
            steps = (0..<channels).map { _ in [Float(1), 2, 0.5, 4][Int(rng.next() % 4)] }
            lr = rng.next() % 2 == 0 ? 1 : 0.5
            gs = rng.next() % 2 == 0 ? 1 : 0.5
        case .saturate:
            let edges: [Int8] = [127, 126, 125, -127, -126, -125, -128]
            w = w.enumerated().map { i, v in i % 3 == 2 ? v : edges[Int(rng.next() % UInt64(edges.count))] }
            lr = rng.float(0.5, 2)
        case .nonfinite:
            if xCount > 0 { x[0] = Int8(zx) }  // x_real = 0: 0 * inf = NaN
            if yCount > 0 {
                dy[0] = .infinity
                dy[yCount / 2] = .nan
                dy[yCount - 1] = -.infinity
            }
            steps[0] = 1e-38  // d near or beyond the fp32 range: saturates
            if channels > 1 { steps[1] = 1e30 }  // d far below 0.5
        case .cancel:
            let one = Int8(zx == 127 ? 126 : zx + 1)
            x = [Int8](repeating: one, count: xCount)
            xScale = 1  // x_real = ±1 everywhere
            // First and last interior output position (every tap reads them
            // when the padding is at most the stride).
            let r0 = outH >= 3 ? 1 : 0, r1 = outH >= 3 ? outH - 2 : outH - 1
            let c0 = outW >= 3 ? 1 : 0, c1 = outW >= 3 ? outW - 2 : outW - 1
            let pa = r0 * outW + c0, pb = r1 * outW + c1
            if pa < pb {
                for oc in 0..<channels {
                    dy[pa * channels + oc] = 65536
                    dy[pb * channels + oc] = -65536
                }
            }
            steps = (0..<channels).map { _ in 0.1 }
            lr = 1
            gs = 1
        }
    }

    /// (ties, saturated) among the updates from `start` with gradients g:
    /// t = w - (lr * (g * gs)) / step exactly on .5, or beyond ±127.
    func stats(_ g: [Float], stepOf: (Int) -> Float) -> (ties: Int, saturated: Int) {
        var ties = 0, saturated = 0
        for i in w.indices {
            let t = Float(w[i]) - (lr * (g[i] * gs)) / stepOf(i)
            if t.isNaN { continue }
            if t > 127 || t < -127 {
                saturated += 1
            } else if t - t.rounded(.down) == 0.5 {
                ties += 1
            }
        }
        return (ties, saturated)
    }
}

/// Conv shapes: stride 1 and 2, padding (asymmetric too), 1x1, non-square
/// kernels and inputs, output-channel blocks of 16, 8 and tails, depthwise
/// blocks of 16 and tails, grouped convs and a channel multiplier.
let int8FusedConvCases: [ConvCase] = [
    ConvCase(name: "3 -> 5, 3x3 pad 1, 6x5", inH: 6, inW: 5, inC: 3, outC: 5, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "in_c 1 -> 21, 3x3 stride 2 pad 1, 9x7", inH: 9, inW: 7, inC: 1, outC: 21, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "20 -> 27 (16+8+3), 3x2 stride (2, 1), asymmetric pad, 7x6", inH: 7, inW: 6, inC: 20, outC: 27,
             kH: 3, kW: 2, strideH: 2, strideW: 1, padTop: 1, padLeft: 0, padBottom: 1, padRight: 1),
    ConvCase(name: "17 -> 19, 1x1 stride 2, 5x6", inH: 5, inW: 6, inC: 17, outC: 19, kH: 1, kW: 1,
             strideH: 2, strideW: 2),
    ConvCase(name: "8 -> 16, 1x1, 4x3", inH: 4, inW: 3, inC: 8, outC: 16, kH: 1, kW: 1),
    ConvCase(name: "4 -> 6, 1x3 stride (1, 2) pad (0, 1), 3x7", inH: 3, inW: 7, inC: 4, outC: 6, kH: 1, kW: 3,
             strideH: 1, strideW: 2, padLeft: 1, padRight: 1),
    ConvCase(name: "depthwise 20 (16+4), 3x3 stride 2, 9x6", inH: 9, inW: 6, inC: 20, outC: 20, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 0, padRight: 1, groups: 20),
    ConvCase(name: "depthwise 37 (16+16+5), 3x3 pad 1, 5x6", inH: 5, inW: 6, inC: 37, outC: 37, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 37),
    ConvCase(name: "depthwise 5, 5x3 stride (1, 2), 7x8", inH: 7, inW: 8, inC: 5, outC: 5, kH: 5, kW: 3,
             strideH: 1, strideW: 2, padTop: 2, padLeft: 1, padBottom: 2, padRight: 0, groups: 5),
    ConvCase(name: "grouped 2, 6 -> 10, 3x3 stride 2 pad 1, 7x5", inH: 7, inW: 5, inC: 6, outC: 10, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 2),
    ConvCase(name: "grouped 3, 24 -> 51 (17 per group), 2x2 stride 2, 4x6", inH: 4, inW: 6, inC: 24, outC: 51,
             kH: 2, kW: 2, strideH: 2, strideW: 2, groups: 3),
    ConvCase(name: "channel multiplier 2, groups 4, 4 -> 8, 3x3 pad 1, 5x5", inH: 5, inW: 5, inC: 4, outC: 8,
             kH: 3, kW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 4),
]

/// One conv case: fused vs plain gradient + sp_sgd_qas_int8. Returns whether the
/// update changed w and the (ties, saturated) counts of the 1-core update.
private func checkConv(_ c: ConvCase, _ mode: QASMode, _ rng: inout SplitMix64,
                       sourceLocation: SourceLocation = #_sourceLocation) -> (changed: Bool, ties: Int, saturated: Int) {
    var s = c.shape
    let d = QASWeightData(mode, xCount: c.xCount, yCount: c.yCount, wCount: c.wCount, channels: c.outC,
                          outH: c.outH, outW: c.outW, &rng)
    let stride = c.depthwise ? 1 : c.wCount / c.outC
    let n = Int32(c.wCount)
    let r = expectFusedEqualsTwoKernels(start: d.w, "\(c.name), \(mode)", sourceLocation: sourceLocation) { g, core, cores in
        sp_conv2d_bwd_weight_int8x_f32(&s, d.x, d.xScale, d.zx, d.dy, g, 0, core, cores)
    } update: { w, g, core, cores in
        sp_sgd_qas_int8(n, Int32(stride), Int32(c.outC), w, g, d.steps, d.lr, d.gs, core, cores)
    } fused: { w, core, cores in
        sp_conv2d_bwd_weight_qas_int8(&s, d.x, d.xScale, d.zx, d.dy, w, d.steps, d.lr, d.gs, core, cores)
    }
    let st = d.stats(r.gradient) { d.steps[($0 / stride) % c.outC] }
    return (r.changed, st.ties, st.saturated)
}

@Suite("fused int8 gradient + QAS update equals gradient then QAS update, bit for bit")
struct Int8FusedUpdateTests {
    @Test("conv weight: ordinary, grouped, depthwise", arguments: int8FusedConvCases, QASMode.allCases)
    func conv(_ c: ConvCase, _ mode: QASMode) {
        var rng = SplitMix64(seed: stableSeed("int8 fused qas conv \(c.name) \(mode)"), "int8 fused QAS conv \(c.name), \(mode)")
        let r = checkConv(c, mode, &rng)
        #expect(r.changed, "\(c.name), \(mode): the update changed nothing")
        if mode == .ties { #expect(r.ties > 0, "\(c.name): no rounding tie exercised") }
        if mode == .saturate { #expect(r.saturated > 0, "\(c.name): no saturation exercised") }
    }

    @Test("conv weight: every stride / padding of 3x3 and 1x1 on small inputs", arguments: Int8ConvMode.allCases)
    func convSmallShapes(_ kind: Int8ConvMode) {
        var rng = SplitMix64(seed: stableSeed("int8 fused qas small " + kind.rawValue), "int8 fused QAS small \(kind)")
        var changed = 0, ties = 0, saturated = 0
        let cases = kind.cases()
        for c in cases {
            for mode in [QASMode.random, .ties, .saturate, .cancel] {
                let r = checkConv(c, mode, &rng)
                changed += r.changed ? 1 : 0
                ties += r.ties
                saturated += r.saturated
            }
        }
        #expect(changed > cases.count, "\(kind): updates rarely change anything")
        #expect(ties > 0 && saturated > 0, "\(kind): \(ties) ties, \(saturated) saturated")
    }

    @Test("linear weight", arguments: [(37, 21), (1, 1), (1, 5), (16, 3), (40, 10), (3, 17)], QASMode.noCancel)
    func linear(_ shape: (Int, Int), _ mode: QASMode) {
        let (inF, outF) = shape
        let what = "linear \(inF) -> \(outF), \(mode)"
        var rng = SplitMix64(seed: stableSeed("int8 fused qas " + what), "int8 fused QAS \(what)")
        let d = QASWeightData(mode, xCount: inF, yCount: outF, wCount: inF * outF, channels: outF, &rng)
        let r = expectFusedEqualsTwoKernels(start: d.w, what) { g, core, cores in
            sp_linear_bwd_weight_int8x_f32(Int32(inF), Int32(outF), d.x, d.xScale, d.zx, d.dy, g, 0, core, cores)
        } update: { w, g, core, cores in
            sp_sgd_qas_int8(Int32(inF * outF), Int32(inF), Int32(outF), w, g, d.steps, d.lr, d.gs, core, cores)
        } fused: { w, core, cores in
            sp_linear_bwd_weight_qas_int8(Int32(inF), Int32(outF), d.x, d.xScale, d.zx, d.dy, w, d.steps, d.lr, d.gs,
                                          core, cores)
        }
        let st = d.stats(r.gradient) { d.steps[$0 / inF] }
        if inF * outF >= 16 {
            #expect(r.changed, "\(what): the update changed nothing")
            if mode == .ties { #expect(st.ties > 0, "\(what): no rounding tie exercised") }
            if mode == .saturate { #expect(st.saturated > 0, "\(what): no saturation exercised") }
        }
    }

    @Test("int32 bias", arguments: [(13, 37), (1, 1), (1, 21), (6, 3), (49, 16), (5, 40)],
          QASMode.noCancel.map { Optional($0) } + [nil])
    func bias(_ shape: (Int, Int), _ mode: QASMode?) {
        // nil: "wide" increments of 2^23..2^31, where rne(d) keeps every bit of
        // the fp32 gradient, so any difference in the sums would show.
        let (positions, channels) = shape
        let what = "bias \(positions) x \(channels), \(mode?.rawValue ?? "wide")"
        var rng = SplitMix64(seed: stableSeed("int8 fused qas " + what), "int8 fused QAS \(what)")
        var b = (0..<channels).map { _ in Int32(Int(rng.next() % 2_000_001) - 1_000_000) }
        var dy = rng.floats(positions * channels)
        var xScale = rng.float(0.001, 0.1), lr = rng.float(0.001, 0.05)
        var gs = Float(1) / Float(1 + Int(rng.next() % 8))
        var steps = (0..<channels).map { _ in rng.float(0.001, 0.05) }
        switch mode {
        case .random, .cancel:  // (cancel is for conv weights; not an argument here)
            break
        case .ties:
            b = b.map { $0 / 1000 }
            dy = dy.indices.map { _ in Float(Int(rng.next() % 5) - 2) * 0.5 }
            xScale = rng.next() % 2 == 0 ? 1 : 0.5
            steps = (0..<channels).map { _ in [Float(1), 2, 0.5][Int(rng.next() % 3)] }
            lr = rng.next() % 2 == 0 ? 1 : 0.5
            gs = rng.next() % 2 == 0 ? 1 : 0.5
        case .saturate:
            let edges: [Int32] = [.max, .max - 3, .min, .min + 2]
            b = b.indices.map { i in i % 3 == 2 ? Int32(truncatingIfNeeded: rng.next()) : edges[Int(rng.next() % 4)] }
            dy = rng.floats(positions * channels, -4, 4)
            xScale = 1e-6
            steps = (0..<channels).map { i in i % 4 == 1 ? 1e-5 : rng.float(1e-4, 1) }
            lr = 1
            gs = 1
        case .nonfinite:
            dy[0] = .infinity
            dy[dy.count / 2] = .nan
            dy[dy.count - 1] = -.infinity
            steps[0] = 1e-38
            if channels > 1 { steps[1] = 1e30 }
        case nil:
            b = b.map { _ in Int32(Int(rng.next() % (1 << 30)) - (1 << 29)) }
            xScale = 1e-4
            steps = (0..<channels).map { _ in rng.float(1e-5, 1e-4) }
            lr = 1
            gs = 1
        }
        let r = expectFusedEqualsTwoKernels(start: b, what) { g, core, cores in
            sp_bias_grad_f32(Int32(positions), Int32(channels), dy, g, 0, core, cores)
        } update: { bp, g, core, cores in
            sp_sgd_qas_bias_int32(Int32(channels), bp, g, xScale, steps, lr, gs, core, cores)
        } fused: { bp, core, cores in
            sp_bias_grad_qas_int32(Int32(positions), Int32(channels), dy, bp, xScale, steps, lr, gs, core, cores)
        }
        var ties = 0, saturated = 0, wide = 0
        for c in 0..<channels {
            let d = (lr * (r.gradient[c] * gs)) / (xScale * steps[c])
            guard d.isFinite else { continue }
            if abs(d) >= 8_589_934_592 {
                saturated += 1
                continue
            }
            if d - d.rounded(.down) == 0.5 { ties += 1 }
            if abs(d) >= 8_388_608 { wide += 1 }
            let v = Double(b[c]) - Double(d).rounded(.toNearestOrEven)
            if v > Double(Int32.max) || v < Double(Int32.min) { saturated += 1 }
        }
        if channels >= 16 {
            #expect(r.changed, "\(what): the update changed nothing")
            if mode == .ties { #expect(ties > 0, "\(what): no rounding tie exercised") }
            if mode == .saturate { #expect(saturated > 0, "\(what): no saturation exercised") }
            if mode == nil { #expect(wide > channels / 2, "\(what): only \(wide) increments of 2^23 or more") }
        }
    }

    @Test("NULL pointers and groups <= 0 do nothing")
    func nullArguments() {
        let c = int8FusedConvCases[0]
        var s = c.shape
        var rng = SplitMix64(seed: stableSeed("int8 fused qas null"), "int8 fused QAS null")
        let d = QASWeightData(.random, xCount: c.xCount, yCount: c.yCount, wCount: c.wCount, channels: c.outC, &rng)
        var w = d.w
        sp_conv2d_bwd_weight_qas_int8(nil, d.x, d.xScale, d.zx, d.dy, &w, d.steps, d.lr, d.gs, 0, 1)
        sp_conv2d_bwd_weight_qas_int8(&s, nil, d.xScale, d.zx, d.dy, &w, d.steps, d.lr, d.gs, 0, 1)
        sp_conv2d_bwd_weight_qas_int8(&s, d.x, d.xScale, d.zx, nil, &w, d.steps, d.lr, d.gs, 0, 1)
        sp_conv2d_bwd_weight_qas_int8(&s, d.x, d.xScale, d.zx, d.dy, &w, nil, d.lr, d.gs, 0, 1)
        sp_conv2d_bwd_weight_qas_int8(&s, d.x, d.xScale, d.zx, d.dy, nil, d.steps, d.lr, d.gs, 0, 1)
        var bad = s
        bad.groups = 0
        sp_conv2d_bwd_weight_qas_int8(&bad, d.x, d.xScale, d.zx, d.dy, &w, d.steps, d.lr, d.gs, 0, 1)
        sp_linear_bwd_weight_qas_int8(3, 2, nil, 1, 0, [1, 1], &w, [1, 1], 1, 1, 0, 1)
        sp_linear_bwd_weight_qas_int8(3, 2, [1, 2, 3], 1, 0, [1, 1], &w, nil, 1, 1, 0, 1)
        #expect(w == d.w)
        var b: [Int32] = [5, 6]
        sp_bias_grad_qas_int32(1, 2, nil, &b, 1, [1, 1], 1, 1, 0, 1)
        sp_bias_grad_qas_int32(1, 2, [100, 100], &b, 1, nil, 1, 1, 0, 1)
        sp_bias_grad_qas_int32(1, 2, [100, 100], nil, 1, [1, 1], 1, 1, 0, 1)
        #expect(b == [5, 6])
        // Invalid core ids do nothing either.
        sp_bias_grad_qas_int32(1, 2, [100, 100], &b, 1, [1, 1], 1, 1, 1, 1)
        sp_bias_grad_qas_int32(1, 2, [100, 100], &b, 1, [1, 1], 1, 1, 0, 0)
        #expect(b == [5, 6])
        sp_bias_grad_qas_int32(1, 2, [100, 100], &b, 1, [1, 1], 1, 1, 0, 1)
        #expect(b == [-95, -94])
    }
}
