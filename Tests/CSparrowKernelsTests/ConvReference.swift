import CSparrowKernels

/// A conv2d case for the tests: HWC input, explicit padding on all four sides.
/// The reference below is written from the definition of convolution (naive
/// loops, scatter form for the gradients), in fp64, independently of the C code.
struct ConvCase: CustomStringConvertible, Sendable {
    var name: String
    var inH: Int, inW: Int, inC: Int, outC: Int
    var kH: Int, kW: Int
    var strideH = 1, strideW = 1
    var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    var groups = 1

    var description: String { name }
    var outH: Int { (inH + padTop + padBottom - kH) / strideH + 1 }
    var outW: Int { (inW + padLeft + padRight - kW) / strideW + 1 }
    var depthwise: Bool { groups == inC && inC == outC }
    var icg: Int { inC / groups }
    var ocg: Int { outC / groups }
    var xCount: Int { inH * inW * inC }
    var yCount: Int { outH * outW * outC }
    var wCount: Int { depthwise ? kH * kW * inC : outC * kH * kW * icg }

    var shape: sp_conv2d_shape {
        sp_conv2d_shape(in_h: Int32(inH), in_w: Int32(inW), in_c: Int32(inC),
                        out_h: Int32(outH), out_w: Int32(outW), out_c: Int32(outC),
                        k_h: Int32(kH), k_w: Int32(kW), stride_h: Int32(strideH), stride_w: Int32(strideW),
                        pad_top: Int32(padTop), pad_left: Int32(padLeft), groups: Int32(groups))
    }

    /// Index of w[oc][kh][kw][icl] (depthwise: w[kh][kw][c]).
    func wIndex(_ oc: Int, _ kh: Int, _ kw: Int, _ icl: Int) -> Int {
        depthwise ? (kh * kW + kw) * inC + oc : ((oc * kH + kh) * kW + kw) * icg + icl
    }

    /// Calls `body(oh, ow, oc, xIndex, wIndex, yIndex)` for every product term of the conv.
    func forEachTerm(_ body: (Int, Int, Int) -> Void) {
        for oh in 0..<outH {
            for ow in 0..<outW {
                for oc in 0..<outC {
                    let g = oc / ocg
                    for kh in 0..<kH {
                        let ih = oh * strideH - padTop + kh
                        guard ih >= 0 && ih < inH else { continue }
                        for kw in 0..<kW {
                            let iw = ow * strideW - padLeft + kw
                            guard iw >= 0 && iw < inW else { continue }
                            for icl in 0..<icg {
                                body((ih * inW + iw) * inC + g * icg + icl, wIndex(oc, kh, kw, icl),
                                     (oh * outW + ow) * outC + oc)
                            }
                        }
                    }
                }
            }
        }
    }

    func forward(x: [Double], w: [Double], b: [Double]?) -> [Double] {
        var y = [Double](repeating: 0, count: yCount)
        if let b { for p in 0..<(outH * outW) { for oc in 0..<outC { y[p * outC + oc] = b[oc] } } }
        forEachTerm { xi, wi, yi in y[yi] += x[xi] * w[wi] }
        return y
    }

    func inputGradient(dy: [Double], w: [Double]) -> [Double] {
        var dx = [Double](repeating: 0, count: xCount)
        forEachTerm { xi, wi, yi in dx[xi] += dy[yi] * w[wi] }
        return dx
    }

    func weightGradient(x: [Double], dy: [Double]) -> [Double] {
        var dw = [Double](repeating: 0, count: wCount)
        forEachTerm { xi, wi, yi in dw[wi] += dy[yi] * x[xi] }
        return dw
    }

    func biasGradient(dy: [Double]) -> [Double] {
        var db = [Double](repeating: 0, count: outC)
        for p in 0..<(outH * outW) { for oc in 0..<outC { db[oc] += dy[p * outC + oc] } }
        return db
    }
}

/// Thin wrappers that run the C kernels over `cores` cores into fresh NaN-poisoned outputs.
enum CConv {
    static func scratch(_ c: ConvCase, cores: Int) -> [Float] {
        var s = c.shape
        return [Float](repeating: .nan, count: sp_conv2d_scratch_floats(&s, Int32(cores)))
    }

    static func forward(_ c: ConvCase, x: [Float], w: [Float], b: [Float]?, cores: Int = 1,
                        useScratch: Bool = true) -> [Float] {
        var s = c.shape
        var y = [Float](repeating: .nan, count: c.yCount)
        var scr = scratch(c, cores: cores)
        withOptionalPointer(b) { bp in
            forEachCore(cores) { core, n in
                if useScratch {
                    sp_conv2d_fwd_f32(&s, x, w, bp, &y, &scr, core, n)
                } else {
                    sp_conv2d_fwd_f32(&s, x, w, bp, &y, nil, core, n)
                }
            }
        }
        return y
    }

    static func inputGradient(_ c: ConvCase, dy: [Float], w: [Float], cores: Int = 1) -> [Float] {
        var s = c.shape
        var dx = [Float](repeating: .nan, count: c.xCount)
        var scr = scratch(c, cores: cores)
        forEachCore(cores) { core, n in sp_conv2d_bwd_input_f32(&s, dy, w, &dx, &scr, core, n) }
        return dx
    }

    static func weightGradient(_ c: ConvCase, x: [Float], dy: [Float], into initial: [Float]? = nil,
                               cores: Int = 1) -> [Float] {
        var s = c.shape
        var dw = initial ?? [Float](repeating: .nan, count: c.wCount)
        var scr = scratch(c, cores: cores)
        let accumulate: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) { core, n in sp_conv2d_bwd_weight_f32(&s, x, dy, &dw, accumulate, &scr, core, n) }
        return dw
    }

    static func biasGradient(positions: Int, channels: Int, dy: [Float], into initial: [Float]? = nil,
                             cores: Int = 1) -> [Float] {
        var db = initial ?? [Float](repeating: .nan, count: channels)
        let accumulate: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) { core, n in
            sp_bias_grad_f32(Int32(positions), Int32(channels), dy, &db, accumulate, core, n)
        }
        return db
    }
}

/// The shapes every conv test runs (names say what each one covers).
let convCases: [ConvCase] = [
    ConvCase(name: "3x3 pad 1, non-square 7x5 input", inH: 7, inW: 5, inC: 3, outC: 4, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "stride 2, asymmetric padding", inH: 9, inW: 8, inC: 2, outC: 5, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1),
    ConvCase(name: "depthwise 3x3", inH: 7, inW: 7, inC: 5, outC: 5, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 5),
    ConvCase(name: "depthwise stride 2, 20 channels", inH: 9, inW: 6, inC: 20, outC: 20, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 0, padRight: 1, groups: 20),
    ConvCase(name: "grouped, groups 2", inH: 6, inW: 6, inC: 4, outC: 6, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 2),
    ConvCase(name: "pointwise 1x1, 20 -> 18", inH: 5, inW: 4, inC: 20, outC: 18, kH: 1, kW: 1),
    ConvCase(name: "3x1 kernel", inH: 7, inW: 5, inC: 3, outC: 4, kH: 3, kW: 1,
             padTop: 1, padLeft: 0, padBottom: 1, padRight: 0),
    ConvCase(name: "in_c 1, 17 output channels", inH: 8, inW: 7, inC: 1, outC: 17, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "5x5 kernel, pad 2, stride (2, 1)", inH: 5, inW: 6, inC: 2, outC: 3, kH: 5, kW: 5,
             strideH: 2, strideW: 1, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2),
    ConvCase(name: "channel blocks 13 -> 29 (16+8+4+1)", inH: 4, inW: 4, inC: 13, outC: 29, kH: 2, kW: 2),
    ConvCase(name: "tiny 2x3, more cores than rows", inH: 2, inW: 3, inC: 2, outC: 3, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "grouped 3, 2x2 stride 2, 24 -> 48", inH: 4, inW: 6, inC: 24, outC: 48, kH: 2, kW: 2,
             strideH: 2, strideW: 2, groups: 3),
]
