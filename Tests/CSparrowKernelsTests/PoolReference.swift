import CSparrowKernels

/// A pooling case with explicit padding on all four sides, and an fp64 reference
/// written from the definitions (scatter form for the gradients).
struct PoolCase: CustomStringConvertible, Sendable {
    var name: String
    var inH: Int, inW: Int, c: Int
    var kH: Int, kW: Int
    var strideH: Int, strideW: Int
    var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0

    var description: String { name }
    var outH: Int { (inH + padTop + padBottom - kH) / strideH + 1 }
    var outW: Int { (inW + padLeft + padRight - kW) / strideW + 1 }
    var xCount: Int { inH * inW * c }
    var yCount: Int { outH * outW * c }

    var shape: sp_pool_shape {
        sp_pool_shape(in_h: Int32(inH), in_w: Int32(inW), c: Int32(c), out_h: Int32(outH), out_w: Int32(outW),
                      k_h: Int32(kH), k_w: Int32(kW), stride_h: Int32(strideH), stride_w: Int32(strideW),
                      pad_top: Int32(padTop), pad_left: Int32(padLeft))
    }

    /// The in-bounds taps (tap index kh*kW+kw, input element index) of output (oh, ow), channel ch.
    func taps(_ oh: Int, _ ow: Int, _ ch: Int) -> [(tap: Int, index: Int)] {
        var out: [(Int, Int)] = []
        for kh in 0..<kH {
            for kw in 0..<kW {
                let ih = oh * strideH - padTop + kh, iw = ow * strideW - padLeft + kw
                if ih >= 0 && ih < inH && iw >= 0 && iw < inW { out.append((kh * kW + kw, (ih * inW + iw) * c + ch)) }
            }
        }
        return out
    }

    func forEachOutput(_ body: (Int, [(tap: Int, index: Int)]) -> Void) {
        for oh in 0..<outH { for ow in 0..<outW { for ch in 0..<c { body((oh * outW + ow) * c + ch, taps(oh, ow, ch)) } } }
    }

    /// Max and the tap of its first occurrence (255 when the window has no in-bounds tap).
    func maxForward(_ x: [Double]) -> (y: [Double], argmax: [Int]) {
        var y = [Double](repeating: -.infinity, count: yCount), arg = [Int](repeating: 255, count: yCount)
        forEachOutput { o, taps in
            for t in taps where arg[o] == 255 || x[t.index] > y[o] { y[o] = x[t.index]; arg[o] = t.tap }
        }
        return (y, arg)
    }

    func maxBackward(_ dy: [Double], argmax: [Int]) -> [Double] {
        var dx = [Double](repeating: 0, count: xCount)
        forEachOutput { o, taps in for t in taps where t.tap == argmax[o] { dx[t.index] += dy[o] } }
        return dx
    }

    func avgForward(_ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: yCount)
        forEachOutput { o, taps in y[o] = taps.reduce(0) { $0 + x[$1.index] } / Double(kH * kW) }
        return y
    }

    func avgBackward(_ dy: [Double]) -> [Double] {
        var dx = [Double](repeating: 0, count: xCount)
        forEachOutput { o, taps in for t in taps { dx[t.index] += dy[o] / Double(kH * kW) } }
        return dx
    }
}

enum CPool {
    static func maxForward(_ p: PoolCase, x: [Float], cores: Int = 1) -> (y: [Float], argmax: [UInt8]) {
        var s = p.shape
        var y = [Float](repeating: .nan, count: p.yCount), arg = [UInt8](repeating: 0xAA, count: p.yCount)
        forEachCore(cores) { sp_maxpool_fwd_f32(&s, x, &y, &arg, $0, $1) }
        return (y, arg)
    }

    static func maxBackward(_ p: PoolCase, dy: [Float], argmax: [UInt8], cores: Int = 1) -> [Float] {
        var s = p.shape
        var dx = [Float](repeating: .nan, count: p.xCount)
        forEachCore(cores) { sp_maxpool_bwd_f32(&s, dy, argmax, &dx, $0, $1) }
        return dx
    }

    static func avgForward(_ p: PoolCase, x: [Float], cores: Int = 1) -> [Float] {
        var s = p.shape
        var y = [Float](repeating: .nan, count: p.yCount)
        forEachCore(cores) { sp_avgpool_fwd_f32(&s, x, &y, $0, $1) }
        return y
    }

    static func avgBackward(_ p: PoolCase, dy: [Float], cores: Int = 1) -> [Float] {
        var s = p.shape
        var dx = [Float](repeating: .nan, count: p.xCount)
        forEachCore(cores) { sp_avgpool_bwd_f32(&s, dy, &dx, $0, $1) }
        return dx
    }
}

let poolCases: [PoolCase] = [
    PoolCase(name: "2x2 stride 2", inH: 8, inW: 6, c: 5, kH: 2, kW: 2, strideH: 2, strideW: 2),
    PoolCase(name: "3x3 stride 2 pad 1 (overlapping)", inH: 7, inW: 5, c: 3, kH: 3, kW: 3, strideH: 2, strideW: 2,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    PoolCase(name: "3x2 stride (1, 2), asymmetric padding, 20 channels", inH: 5, inW: 7, c: 20, kH: 3, kW: 2,
             strideH: 1, strideW: 2, padTop: 1, padLeft: 0, padBottom: 1, padRight: 1),
    PoolCase(name: "tiny 3x3, stride 1, more cores than rows", inH: 3, inW: 3, c: 2, kH: 2, kW: 2,
             strideH: 1, strideW: 1),
]
