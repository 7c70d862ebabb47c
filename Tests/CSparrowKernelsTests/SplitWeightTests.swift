import CSparrowKernels
import Testing

/// The split-weight kernels give exactly the plain kernels' bits on the merged
/// weight, for ordinary, depthwise and linear layers, any core count.
@Suite("split weights") struct SplitWeightTests {
    /// (in_h, in_w, in_c, out_c, k, stride, pad, depthwise)
    static let convCases: [(Int, Int, Int, Int, Int, Int, Int, Bool)] = [
        (7, 5, 6, 4, 3, 1, 1, false), (8, 8, 10, 3, 3, 2, 1, false), (5, 6, 5, 5, 3, 2, 1, true),
        (4, 4, 12, 7, 1, 1, 0, false), (6, 5, 8, 8, 3, 1, 0, true),
    ]

    /// Random selection of `k` of `c` channels, ascending.
    static func selection(_ c: Int, _ k: Int, _ rng: inout SplitMix64) -> [Int32] {
        var all = Array(0..<c)
        for i in stride(from: c - 1, to: 0, by: -1) { all.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return all.prefix(k).sorted().map(Int32.init)
    }

    /// (slice, frozen copy with garbage in the selected channels) of a weight whose last dimension has `c` channels.
    static func split(_ w: [Float], c: Int, sel: [Int32]) -> (slice: [Float], frozen: [Float]) {
        let rows = w.count / c
        var slice = [Float](), frozen = w
        for r in 0..<rows {
            for ch in sel {
                slice.append(w[r * c + Int(ch)])
                frozen[r * c + Int(ch)] = .nan  // must never be read
            }
        }
        return (slice, frozen)
    }

    @Test(arguments: 0..<convCases.count)
    func convMatchesMergedWeight(_ n: Int) {
        let (ih, iw, ic, oc0, kk, st, pad, dw) = Self.convCases[n]
        var rng = SplitMix64(seed: 900 + UInt64(n), "split conv case \(n)")
        let oc = dw ? ic : oc0
        let oh = (ih + 2 * pad - kk) / st + 1, ow = (iw + 2 * pad - kk) / st + 1
        var s = sp_conv2d_shape(in_h: Int32(ih), in_w: Int32(iw), in_c: Int32(ic), out_h: Int32(oh), out_w: Int32(ow), out_c: Int32(oc),
                                k_h: Int32(kk), k_w: Int32(kk), stride_h: Int32(st), stride_w: Int32(st), pad_top: Int32(pad),
                                pad_left: Int32(pad), groups: Int32(dw ? ic : 1))
        let x = rng.floats(ih * iw * ic), w = rng.floats(dw ? kk * kk * ic : oc * kk * kk * ic), b = rng.floats(oc)
        let dy = rng.floats(oh * ow * oc)
        let sel = Self.selection(ic, max(1, ic / 3), &rng)
        let (slice, frozen) = Self.split(w, c: ic, sel: sel)
        var yRef = [Float](repeating: .nan, count: oh * ow * oc), dxRef = [Float](repeating: .nan, count: ih * iw * ic)
        sp_conv2d_fwd_f32(&s, x, w, b, &yRef, nil, 0, 1)
        sp_conv2d_bwd_input_f32(&s, dy, w, &dxRef, nil, 0, 1)
        for cores in coreCounts {
            var y = [Float](repeating: .nan, count: yRef.count), dx = [Float](repeating: .nan, count: dxRef.count)
            forEachCore(cores) { c, n in
                sp_conv2d_fwd_split_f32(&s, x, frozen, slice, sel, Int32(sel.count), b, &y, c, n)
                sp_conv2d_bwd_input_split_f32(&s, dy, frozen, slice, sel, Int32(sel.count), &dx, c, n)
            }
            #expect(bits(y) == bits(yRef), "forward, \(cores) cores")
            #expect(bits(dx) == bits(dxRef), "input gradient, \(cores) cores")
        }
    }

    @Test func linearMatchesMergedWeight() {
        var rng = SplitMix64(seed: 950, "split linear")
        let (i, o) = (37, 9)
        let x = rng.floats(i), w = rng.floats(o * i), b = rng.floats(o), dy = rng.floats(o)
        let sel = Self.selection(i, 9, &rng)
        let (slice, frozen) = Self.split(w, c: i, sel: sel)
        var yRef = [Float](repeating: 0, count: o), dxRef = [Float](repeating: 0, count: i)
        sp_linear_fwd_f32(Int32(i), Int32(o), x, w, b, &yRef, 0, 1)
        sp_linear_bwd_input_f32(Int32(i), Int32(o), dy, w, &dxRef, 0, 1)
        for cores in coreCounts {
            var y = [Float](repeating: .nan, count: o), dx = [Float](repeating: .nan, count: i)
            forEachCore(cores) { c, n in
                sp_linear_fwd_split_f32(Int32(i), Int32(o), x, frozen, slice, sel, Int32(sel.count), b, &y, c, n)
                sp_linear_bwd_input_split_f32(Int32(i), Int32(o), dy, frozen, slice, sel, Int32(sel.count), &dx, c, n)
            }
            #expect(bits(y) == bits(yRef), "forward, \(cores) cores")
            #expect(bits(dx) == bits(dxRef), "input gradient, \(cores) cores")
        }
    }

    @Test func gatherCopiesTheSelectedChannels() {
        var rng = SplitMix64(seed: 960, "gather")
        let (p, c) = (13, 7)
        let x = rng.floats(p * c)
        let sel: [Int32] = [0, 3, 6]
        for cores in coreCounts {
            var out = [Float](repeating: .nan, count: p * 3)
            forEachCore(cores) { core, n in sp_gather_channels_f32(Int32(p), Int32(c), x, sel, 3, &out, core, n) }
            #expect(out == (0..<p).flatMap { row in sel.map { x[row * c + Int($0)] } })
        }
    }
}
