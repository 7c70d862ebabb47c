import CSparrowKernels
import Testing

/// Core counts the split-weight tests run: every one from 1 to 8.
let splitCoreCounts = Array(1...8)

/// The selections every split-weight test runs on `c` channels (ascending,
/// named): none (k = 0), all (k = C), the first, the last, the first and last,
/// a contiguous run, every other channel, one random channel and a random third.
func splitSelections(_ c: Int, _ rng: inout SplitMix64) -> [(name: String, sel: [Int32])] {
    func pick(_ k: Int) -> [Int32] {
        var all = Array(0..<c)
        for i in stride(from: c - 1, to: 0, by: -1) { all.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return all.prefix(k).sorted().map(Int32.init)
    }
    let run = Array(c / 4..<min(c, c / 4 + max(1, c / 3))).map(Int32.init)
    var out: [(name: String, sel: [Int32])] = [("none", []), ("all", (0..<c).map(Int32.init)), ("first", [0])]
    if c > 1 {
        out += [("last", [Int32(c - 1)]), ("first and last", [0, Int32(c - 1)]), ("contiguous run", run),
                ("every other", stride(from: 1, to: c, by: 2).map(Int32.init))]
    }
    out += [("one random", pick(1)), ("random third", pick(max(1, c / 3)))]
    return out
}

/// Calls `body(sel, w_sel)` with NULL for both when nothing is selected (the headers allow it).
func withSplitSelection<T, R>(_ sel: [Int32], _ slice: [T],
                              _ body: (UnsafePointer<Int32>?, UnsafePointer<T>?) -> R) -> R {
    if sel.isEmpty { return body(nil, nil) }
    return sel.withUnsafeBufferPointer { s in slice.withUnsafeBufferPointer { body(s.baseAddress, $0.baseAddress) } }
}

/// The FP32 split-weight kernels give exactly the plain kernels' bits on the
/// merged weight (forward and input gradient; ordinary, depthwise and linear;
/// every core count from 1 to 8; every selection of `splitSelections`, with and
/// without bias). The frozen weight holds NaN in the selected channels: a
/// kernel that let it reach a result would show it.
@Suite("split weights") struct SplitWeightTests {
    /// Shapes with a split layout (groups 1 or depthwise); names say what each covers.
    static let convCases: [ConvCase] = [
        ConvCase(name: "pointwise 1x1 5x5x64 -> 64 (DS-CNN)", inH: 5, inW: 5, inC: 64, outC: 64, kH: 1, kW: 1),
        ConvCase(name: "3x3 stride 2 pad 1, 9x8x20 -> 10", inH: 9, inW: 8, inC: 20, outC: 10, kH: 3, kW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "3x3 pad 1, 7x5x6 -> 4", inH: 7, inW: 5, inC: 6, outC: 4, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "3x3 stride 2, asymmetric padding, 8x8x10 -> 3", inH: 8, inW: 8, inC: 10, outC: 3, kH: 3, kW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1),
        ConvCase(name: "1x1 stride 2, 6x7x33 -> 17", inH: 6, inW: 7, inC: 33, outC: 17, kH: 1, kW: 1, strideH: 2, strideW: 2),
        ConvCase(name: "5x3 kernel stride (1, 2) pad (2, 1), 7x6x8 -> 6", inH: 7, inW: 6, inC: 8, outC: 6, kH: 5, kW: 3,
                 strideH: 1, strideW: 2, padTop: 2, padLeft: 1, padBottom: 2, padRight: 1),
        ConvCase(name: "wide pointwise 2x3x300 -> 5 (rows wider than a channel table)", inH: 2, inW: 3, inC: 300, outC: 5,
                 kH: 1, kW: 1),
        ConvCase(name: "in_c = out_c = 1", inH: 5, inW: 4, inC: 1, outC: 1, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "tiny 2x3, more cores than pixels, 4 -> 3", inH: 2, inW: 3, inC: 4, outC: 3, kH: 3, kW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "depthwise 3x3 pad 1, 6x5x20", inH: 6, inW: 5, inC: 20, outC: 20, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 20),
        ConvCase(name: "depthwise 3x3 stride 2 pad 1, 7x6x9", inH: 7, inW: 6, inC: 9, outC: 9, kH: 3, kW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 9),
        ConvCase(name: "depthwise 5x3, no padding, 7x6x8", inH: 7, inW: 6, inC: 8, outC: 8, kH: 5, kW: 3, groups: 8),
    ]

    static let linearCases: [(inF: Int, outF: Int)] = [(37, 9), (1, 1), (64, 12), (13, 29), (300, 5)]

    /// (slice, frozen copy with NaN in the selected channels) of a weight whose last dimension has `c` channels.
    static func split(_ w: [Float], c: Int, sel: [Int32]) -> (slice: [Float], frozen: [Float]) {
        let rows = w.count / c
        var slice = [Float](), frozen = w
        for r in 0..<rows {
            for ch in sel {
                slice.append(w[r * c + Int(ch)])
                frozen[r * c + Int(ch)] = .nan  // must never reach a result
            }
        }
        return (slice, frozen)
    }

    @Test(arguments: 0..<convCases.count)
    func convMatchesMergedWeight(_ n: Int) {
        let c = Self.convCases[n]
        var rng = SplitMix64(seed: 900 + UInt64(n), "split conv \(c.name)")
        var s = c.shape
        let x = rng.floats(c.xCount), w = rng.floats(c.wCount), b = rng.floats(c.outC), dy = rng.floats(c.yCount)
        var yRef = [Float](repeating: .nan, count: c.yCount), yRefNoBias = yRef, dxRef = [Float](repeating: .nan, count: c.xCount)
        sp_conv2d_fwd_f32(&s, x, w, b, &yRef, nil, 0, 1)
        sp_conv2d_fwd_f32(&s, x, w, nil, &yRefNoBias, nil, 0, 1)
        sp_conv2d_bwd_input_f32(&s, dy, w, &dxRef, nil, 0, 1)
        #expect(!(yRef + yRefNoBias + dxRef).contains { $0.isNaN })
        for (name, sel) in splitSelections(c.inC, &rng) {
            let (slice, frozen) = Self.split(w, c: c.inC, sel: sel)
            let k = Int32(sel.count)
            for cores in splitCoreCounts {
                var y = [Float](repeating: .nan, count: c.yCount), yNoBias = y, dx = [Float](repeating: .nan, count: c.xCount)
                withSplitSelection(sel, slice) { sp, wsp in
                    forEachCore(cores) { core, m in
                        sp_conv2d_fwd_split_f32(&s, x, frozen, wsp, sp, k, b, &y, core, m)
                        sp_conv2d_fwd_split_f32(&s, x, frozen, wsp, sp, k, nil, &yNoBias, core, m)
                        sp_conv2d_bwd_input_split_f32(&s, dy, frozen, wsp, sp, k, &dx, core, m)
                    }
                }
                #expect(bits(y) == bits(yRef), "\(c.name), sel \(name) \(sel): forward, \(cores) cores")
                #expect(bits(yNoBias) == bits(yRefNoBias), "\(c.name), sel \(name): forward without bias, \(cores) cores")
                #expect(bits(dx) == bits(dxRef), "\(c.name), sel \(name) \(sel): input gradient, \(cores) cores")
            }
        }
    }

    @Test(arguments: 0..<linearCases.count)
    func linearMatchesMergedWeight(_ n: Int) {
        let (i, o) = Self.linearCases[n]
        var rng = SplitMix64(seed: 950 + UInt64(n), "split linear \(i) -> \(o)")
        let x = rng.floats(i), w = rng.floats(o * i), b = rng.floats(o), dy = rng.floats(o)
        var yRef = [Float](repeating: 0, count: o), yRefNoBias = yRef, dxRef = [Float](repeating: 0, count: i)
        sp_linear_fwd_f32(Int32(i), Int32(o), x, w, b, &yRef, 0, 1)
        sp_linear_fwd_f32(Int32(i), Int32(o), x, w, nil, &yRefNoBias, 0, 1)
        sp_linear_bwd_input_f32(Int32(i), Int32(o), dy, w, &dxRef, 0, 1)
        for (name, sel) in splitSelections(i, &rng) {
            let (slice, frozen) = Self.split(w, c: i, sel: sel)
            let k = Int32(sel.count)
            for cores in splitCoreCounts {
                var y = [Float](repeating: .nan, count: o), yNoBias = y, dx = [Float](repeating: .nan, count: i)
                withSplitSelection(sel, slice) { sp, wsp in
                    forEachCore(cores) { c, m in
                        sp_linear_fwd_split_f32(Int32(i), Int32(o), x, frozen, wsp, sp, k, b, &y, c, m)
                        sp_linear_fwd_split_f32(Int32(i), Int32(o), x, frozen, wsp, sp, k, nil, &yNoBias, c, m)
                        sp_linear_bwd_input_split_f32(Int32(i), Int32(o), dy, frozen, wsp, sp, k, &dx, c, m)
                    }
                }
                #expect(bits(y) == bits(yRef), "linear \(i) -> \(o), sel \(name) \(sel): forward, \(cores) cores")
                #expect(bits(yNoBias) == bits(yRefNoBias), "linear \(i) -> \(o), sel \(name): forward without bias, \(cores) cores")
                #expect(bits(dx) == bits(dxRef), "linear \(i) -> \(o), sel \(name) \(sel): input gradient, \(cores) cores")
            }
        }
    }

    /// A grouped (not depthwise) conv has no split layout: the kernels write nothing.
    @Test func groupedConvWritesNothing() {
        let c = ConvCase(name: "grouped", inH: 4, inW: 4, inC: 6, outC: 4, kH: 1, kW: 1, groups: 2)
        var s = c.shape
        let x = [Float](repeating: 1, count: c.xCount), w = [Float](repeating: 1, count: c.wCount)
        let dy = [Float](repeating: 1, count: c.yCount), slice = [Float](repeating: 1, count: 4)
        var y = [Float](repeating: .nan, count: c.yCount), dx = [Float](repeating: .nan, count: c.xCount)
        sp_conv2d_fwd_split_f32(&s, x, w, slice, [1], 1, nil, &y, 0, 1)
        sp_conv2d_bwd_input_split_f32(&s, dy, w, slice, [1], 1, &dx, 0, 1)
        #expect(y.allSatisfy(\.isNaN) && dx.allSatisfy(\.isNaN))
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
