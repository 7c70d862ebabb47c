import CSparrowKernels

/// Reference int8 arithmetic for the tests, written from the header's definitions
/// with wider integers (Int128 for the requantization, Int64 for the conv sums),
/// independently of the C code.
enum Int8Ref {
    /// floor(a / d) for d > 0, by division (not by shifting).
    static func floorDiv(_ a: Int128, _ d: Int128) -> Int128 {
        let q = a / d
        return (a % d != 0 && a < 0) ? q - 1 : q
    }

    /// floor(acc · mult / 2^n + 1/2) = floor((2·acc·mult + 2^n) / 2^(n+1)), n = 31 + shift.
    static func raw(_ acc: Int32, _ mult: Int32, _ shift: Int32) -> Int128 {
        let n = 31 + Int(shift)
        let twoP = 2 * Int128(acc) * Int128(mult)
        return floorDiv(twoP + (Int128(1) << n), Int128(1) << (n + 1))
    }

    static func requantize(_ acc: Int32, _ mult: Int32, _ shift: Int32, _ zp: Int32,
                           lo: Int32 = -128, hi: Int32 = 127) -> Int8 {
        let r = raw(acc, mult, shift) + Int128(zp)
        return Int8(max(Int128(lo), min(Int128(hi), r)))
    }
}

/// One layer's integer parameters (the C `sp_requant_int8` plus bias).
struct Int8Layer {
    var inZero: Int32, outZero: Int32
    var actMin: Int32 = -128, actMax: Int32 = 127
    var mult: [Int32], shift: [Int32]
    var bias: [Int32]?

    /// Calls `body` with a C view of the parameters (valid during the call).
    func withC<R>(_ body: (UnsafePointer<sp_requant_int8>, UnsafePointer<Int32>?) -> R) -> R {
        mult.withUnsafeBufferPointer { m in
            shift.withUnsafeBufferPointer { s in
                var rq = sp_requant_int8(in_zero_point: inZero, out_zero_point: outZero, act_min: actMin,
                                         act_max: actMax, mult: m.baseAddress, shift: s.baseAddress)
                if let bias {
                    return bias.withUnsafeBufferPointer { b in body(&rq, b.baseAddress) }
                }
                return body(&rq, nil)
            }
        }
    }

    /// A random layer of `channels` output channels whose outputs span the int8
    /// range (some saturate) for accumulators of roughly `accMagnitude`.
    static func random(channels: Int, accMagnitude: Double, rng: inout SplitMix64) -> Int8Layer {
        // M ≈ 100 / accMagnitude puts typical outputs around ±100 steps.
        let target = 100 / max(accMagnitude, 1)
        let e = Int(target.exponent) + 1
        var layer = Int8Layer(inZero: Int32(rng.next() % 256) - 128, outZero: Int32(rng.next() % 256) - 128,
                              mult: [], shift: [], bias: nil)
        for _ in 0..<channels {
            layer.mult.append(Int32(0x4000_0000 + rng.next() % 0x4000_0000))
            layer.shift.append(Int32(-e + Int(rng.next() % 3) - 1))
        }
        let bmax = UInt64(max(1, accMagnitude))
        layer.bias = (0..<channels).map { _ in Int32(Int64(rng.next() % (2 * bmax + 1)) - Int64(bmax)) }
        return layer
    }
}

func randomInt8s(_ count: Int, _ rng: inout SplitMix64, symmetric: Bool = false) -> [Int8] {
    (0..<count).map { _ in
        symmetric ? Int8(Int(rng.next() % 255) - 127) : Int8(truncatingIfNeeded: rng.next())
    }
}

extension ConvCase {
    /// Int8 forward: Int64 sums of (x − zx)·w plus bias, wrapped to int32, then
    /// the reference requantization and clamp.
    func forwardInt8(x: [Int8], w: [Int8], layer: Int8Layer) -> [Int8] {
        var acc = [Int64](repeating: 0, count: yCount)
        if let b = layer.bias {
            for p in 0..<(outH * outW) { for oc in 0..<outC { acc[p * outC + oc] = Int64(b[oc]) } }
        }
        forEachTerm { xi, wi, yi in acc[yi] += (Int64(x[xi]) - Int64(layer.inZero)) * Int64(w[wi]) }
        return acc.indices.map { i in
            let oc = i % outC
            return Int8Ref.requantize(Int32(truncatingIfNeeded: acc[i]), layer.mult[oc], layer.shift[oc],
                                      layer.outZero, lo: max(-128, layer.actMin), hi: min(127, layer.actMax))
        }
    }
}

/// C int8 kernels over `cores` cores into fresh outputs poisoned with a sentinel.
enum CInt8 {
    static func conv(_ c: ConvCase, x: [Int8], w: [Int8], layer: Int8Layer, cores: Int = 1) -> [Int8] {
        var s = c.shape
        var y = [Int8](repeating: 0x5A, count: c.yCount)
        layer.withC { rq, b in
            forEachCore(cores) { core, n in sp_conv2d_fwd_int8(&s, x, w, b, rq, &y, core, n) }
        }
        return y
    }

    static func linear(inFeatures: Int, outFeatures: Int, x: [Int8], w: [Int8], layer: Int8Layer,
                       cores: Int = 1) -> [Int8] {
        var y = [Int8](repeating: 0x5A, count: outFeatures)
        layer.withC { rq, b in
            forEachCore(cores) { core, n in
                sp_linear_fwd_int8(Int32(inFeatures), Int32(outFeatures), x, w, b, rq, &y, core, n)
            }
        }
        return y
    }
}
