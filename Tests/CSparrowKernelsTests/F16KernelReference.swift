import CSparrowKernels

/// The fp16 kernels' documented sums, redone in Swift term by term in the
/// documented order with the C scalar core (sp_f16_fma / sp_f16_add) for
/// SP_F16_ACC_F16 and fp32 for SP_F16_ACC_F32, so the kernels must match bit
/// for bit. `ConvCase.forEachTerm` visits each output element's terms in the
/// kernels' order: (kh, kw, ic) for y, (oh, ow, oc) for dx, (oh, ow) for dw.
enum F16KernelRef {
    static let modes: [sp_f16_acc] = [SP_F16_ACC_F16, SP_F16_ACC_F32]

    static func name(_ mode: sp_f16_acc) -> String { mode == SP_F16_ACC_F16 ? "f16 acc" : "f32 acc" }

    /// Sums `count` elements: each starts from start[i] (or +0), then every
    /// term (i, a, b) that `terms` emits adds a * b to element i.
    static func reduce(_ mode: sp_f16_acc, count: Int, start: [UInt16]?,
                       _ terms: ((Int, UInt16, UInt16) -> Void) -> Void) -> [UInt16] {
        let initial = start ?? [UInt16](repeating: 0, count: count)
        if mode == SP_F16_ACC_F16 {
            var acc = initial
            terms { i, a, b in acc[i] = sp_f16_fma(a, b, acc[i]) }
            return acc
        }
        var acc = initial.map { sp_f16_to_f32($0) }
        terms { i, a, b in acc[i] = acc[i] + sp_f16_to_f32(a) * sp_f16_to_f32(b) }
        return acc.map { sp_f16_from_f32($0) }
    }

    static func forward(_ c: ConvCase, _ mode: sp_f16_acc, x: [UInt16], w: [UInt16], b: [UInt16]?) -> [UInt16] {
        let start = b.map { b in (0..<c.yCount).map { b[$0 % c.outC] } }
        return reduce(mode, count: c.yCount, start: start) { emit in
            c.forEachTerm { xi, wi, yi in emit(yi, x[xi], w[wi]) }
        }
    }

    static func inputGradient(_ c: ConvCase, _ mode: sp_f16_acc, dy: [UInt16], w: [UInt16]) -> [UInt16] {
        reduce(mode, count: c.xCount, start: nil) { emit in
            c.forEachTerm { xi, wi, yi in emit(xi, dy[yi], w[wi]) }
        }
    }

    static func weightGradient(_ c: ConvCase, _ mode: sp_f16_acc, x: [UInt16], dy: [UInt16]) -> [UInt16] {
        reduce(mode, count: c.wCount, start: nil) { emit in
            c.forEachTerm { xi, wi, yi in emit(wi, x[xi], dy[yi]) }
        }
    }

    static func biasGradient(_ mode: sp_f16_acc, positions: Int, channels: Int, dy: [UInt16]) -> [UInt16] {
        if mode == SP_F16_ACC_F16 {
            var acc = [UInt16](repeating: 0, count: channels)
            for p in 0..<positions { for c in 0..<channels { acc[c] = sp_f16_add(acc[c], dy[p * channels + c]) } }
            return acc
        }
        var acc = [Float](repeating: 0, count: channels)
        for p in 0..<positions { for c in 0..<channels { acc[c] = acc[c] + sp_f16_to_f32(dy[p * channels + c]) } }
        return acc.map { sp_f16_from_f32($0) }
    }
}

/// Runs the fp16 kernels over `cores` cores into outputs poisoned with a NaN
/// (0x7E01) that no kernel writes (theirs is 0x7E00).
enum CF16 {
    static let poison: UInt16 = 0x7E01

    static func forward(_ c: ConvCase, _ mode: sp_f16_acc, x: [UInt16], w: [UInt16], b: [UInt16]?,
                        cores: Int = 1) -> [UInt16] {
        var s = c.shape
        var y = [UInt16](repeating: poison, count: c.yCount)
        let bias = b
        forEachCore(cores) { core, n in
            if let bias {
                sp_conv2d_fwd_f16(&s, x, w, bias, &y, mode, core, n)
            } else {
                sp_conv2d_fwd_f16(&s, x, w, nil, &y, mode, core, n)
            }
        }
        return y
    }

    static func inputGradient(_ c: ConvCase, _ mode: sp_f16_acc, dy: [UInt16], w: [UInt16], cores: Int = 1) -> [UInt16] {
        var s = c.shape
        var dx = [UInt16](repeating: poison, count: c.xCount)
        forEachCore(cores) { core, n in sp_conv2d_bwd_input_f16(&s, dy, w, &dx, mode, core, n) }
        return dx
    }

    static func weightGradient(_ c: ConvCase, _ mode: sp_f16_acc, x: [UInt16], dy: [UInt16],
                               into initial: [UInt16]? = nil, cores: Int = 1) -> [UInt16] {
        var s = c.shape
        var dw = initial ?? [UInt16](repeating: poison, count: c.wCount)
        let accumulate: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) { core, n in sp_conv2d_bwd_weight_f16(&s, x, dy, &dw, accumulate, mode, core, n) }
        return dw
    }

    static func biasGradient(_ mode: sp_f16_acc, positions: Int, channels: Int, dy: [UInt16],
                             into initial: [UInt16]? = nil, cores: Int = 1) -> [UInt16] {
        var db = initial ?? [UInt16](repeating: poison, count: channels)
        let accumulate: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) { core, n in
            sp_bias_grad_f16(Int32(positions), Int32(channels), dy, &db, accumulate, mode, core, n)
        }
        return db
    }

    static func linearForward(_ l: LinearCase, _ mode: sp_f16_acc, x: [UInt16], w: [UInt16], b: [UInt16]?,
                              cores: Int = 1) -> [UInt16] {
        var y = [UInt16](repeating: poison, count: l.outFeatures)
        let bias = b
        forEachCore(cores) { core, n in
            if let bias {
                sp_linear_fwd_f16(Int32(l.inFeatures), Int32(l.outFeatures), x, w, bias, &y, mode, core, n)
            } else {
                sp_linear_fwd_f16(Int32(l.inFeatures), Int32(l.outFeatures), x, w, nil, &y, mode, core, n)
            }
        }
        return y
    }

    static func linearInputGradient(_ l: LinearCase, _ mode: sp_f16_acc, dy: [UInt16], w: [UInt16],
                                    cores: Int = 1) -> [UInt16] {
        var dx = [UInt16](repeating: poison, count: l.inFeatures)
        forEachCore(cores) { core, n in
            sp_linear_bwd_input_f16(Int32(l.inFeatures), Int32(l.outFeatures), dy, w, &dx, mode, core, n)
        }
        return dx
    }

    static func linearWeightGradient(_ l: LinearCase, _ mode: sp_f16_acc, x: [UInt16], dy: [UInt16],
                                     into initial: [UInt16]? = nil, cores: Int = 1) -> [UInt16] {
        var dw = initial ?? [UInt16](repeating: poison, count: l.inFeatures * l.outFeatures)
        let accumulate: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) { core, n in
            sp_linear_bwd_weight_f16(Int32(l.inFeatures), Int32(l.outFeatures), x, dy, &dw, accumulate, mode, core, n)
        }
        return dw
    }
}

/// Random fp16 inputs of one conv case (uniform [-1, 1) rounded to fp16).
struct F16ConvData {
    var x: [UInt16], w: [UInt16], b: [UInt16], dy: [UInt16]

    init(_ c: ConvCase, _ label: String) {
        var rng = SplitMix64(seed: stableSeed(label + c.name), "\(label) \(c.name)")
        x = rng.f16Values(c.xCount)
        w = rng.f16Values(c.wCount)
        b = rng.f16Values(c.outC)
        dy = rng.f16Values(c.yCount)
    }
}

func widen(_ h: [UInt16]) -> [Float] { h.map { sp_f16_to_f32($0) } }
func narrow(_ f: [Float]) -> [UInt16] { f.map { sp_f16_from_f32($0) } }
func hex(_ h: [UInt16]) -> String { h.prefix(8).map { String($0, radix: 16) }.joined(separator: " ") }
