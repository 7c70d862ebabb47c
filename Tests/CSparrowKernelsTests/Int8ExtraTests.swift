import CSparrowKernels
import Testing

// Int8 split-weight kernels (int8_split.c), channel gather (int8_gather.c),
// residual add (int8_add.c), average pool (int8_avgpool.c) and the fp32-logit
// classifier (int8_linear_f32.c): bit-identity with the plain kernels on the
// merged weight, wider-integer / Swift references, splits over 1, 2, 3, 8 cores
// (the split weights: every core count from 1 to 8 and every selection of
// `splitSelections`).

/// Random selection of `k` of `c` channels, ascending.
private func channelSelection(_ c: Int, _ k: Int, _ rng: inout SplitMix64) -> [Int32] {
    var all = Array(0..<c)
    for i in stride(from: c - 1, to: 0, by: -1) { all.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    return all.prefix(k).sorted().map(Int32.init)
}

/// Selections tried on `c` channels: none, the first, the last, a random third, all.
private func selections(_ c: Int, _ rng: inout SplitMix64) -> [[Int32]] {
    [[], [0], [Int32(c - 1)], channelSelection(c, max(1, c / 3), &rng), (0..<c).map(Int32.init)]
}

/// Garbage written over the selected channels of the frozen weight: 0x55, or
/// -0x56 where the true weight is 0x55, so reading it always changes the term.
private func garbage(_ v: Int8) -> Int8 { v == 0x55 ? -0x56 : 0x55 }

/// (slice, frozen copy with garbage in the selected channels) of an int8 weight
/// whose last dimension has `c` channels.
private func splitInt8(_ w: [Int8], channels c: Int, sel: [Int32]) -> (slice: [Int8], frozen: [Int8]) {
    var slice: [Int8] = [], frozen = w
    for r in 0..<(w.count / c) {
        for ch in sel {
            let i = r * c + Int(ch)
            slice.append(w[i])
            frozen[i] = garbage(w[i])
        }
    }
    return (slice, frozen)
}

@Suite("int8 split weights, gather, add, average pool, fp32 logits")
struct Int8ExtraTests {
    static let convCases: [ConvCase] = [
        ConvCase(name: "7x5x6->4 k3 s1 p1", inH: 7, inW: 5, inC: 6, outC: 4, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "8x8x10->3 k3 s2 p1", inH: 8, inW: 8, inC: 10, outC: 3, kH: 3, kW: 3, strideH: 2, strideW: 2,
                 padTop: 1, padLeft: 1, padBottom: 0, padRight: 0),
        ConvCase(name: "4x4x12->7 1x1", inH: 4, inW: 4, inC: 12, outC: 7, kH: 1, kW: 1),
        ConvCase(name: "6x9x5->3 k3x2 s21 p1001", inH: 6, inW: 9, inC: 5, outC: 3, kH: 3, kW: 2, strideH: 2, strideW: 1,
                 padTop: 1, padLeft: 0, padBottom: 0, padRight: 1),
        ConvCase(name: "1x1x1->2 k1", inH: 1, inW: 1, inC: 1, outC: 2, kH: 1, kW: 1),
        ConvCase(name: "dw 5x6x5 k3 s2 p1", inH: 5, inW: 6, inC: 5, outC: 5, kH: 3, kW: 3, strideH: 2, strideW: 2,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 5),
        ConvCase(name: "dw 6x5x8 k3 s1 p0", inH: 6, inW: 5, inC: 8, outC: 8, kH: 3, kW: 3, groups: 8),
        ConvCase(name: "dw 5x4x37 k3 s1 p1", inH: 5, inW: 4, inC: 37, outC: 37, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 37),
        ConvCase(name: "dw 4x7x20 k2x3 s12 p0110", inH: 4, inW: 7, inC: 20, outC: 20, kH: 2, kW: 3, strideH: 1,
                 strideW: 2, padTop: 0, padLeft: 1, padBottom: 1, padRight: 0, groups: 20),
        ConvCase(name: "dw 3x3x1 k3 p1 (groups 1)", inH: 3, inW: 3, inC: 1, outC: 1, kH: 3, kW: 3,
                 padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "5x5x64->64 1x1 (DS-CNN pointwise: windows buffered)", inH: 5, inW: 5, inC: 64, outC: 64, kH: 1, kW: 1),
        ConvCase(name: "9x8x20->10 k3 s2 p1 (windows too large to buffer)", inH: 9, inW: 8, inC: 20, outC: 10, kH: 3, kW: 3,
                 strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvCase(name: "2x3x300->5 1x1 (wide)", inH: 2, inW: 3, inC: 300, outC: 5, kH: 1, kW: 1),
    ]

    // MARK: split weights

    @Test("int8 split conv = plain kernels on the merged weight", arguments: 0..<convCases.count)
    func splitConvMatchesMergedWeight(_ n: Int) {
        let c = Self.convCases[n]
        var rng = SplitMix64(seed: stableSeed("int8 split conv " + c.name), "int8 split conv \(c.name)")
        var s = c.shape
        let x = randomInt8s(c.xCount, &rng), w = randomInt8s(c.wCount, &rng, symmetric: true)
        var layer = Int8Layer.random(channels: c.outC, accMagnitude: Int8ConvTests.accMagnitude(terms: c.kH * c.kW * c.icg),
                                     rng: &rng)
        let ws = (0..<c.outC).map { _ in rng.float(0.001, 0.05) }
        let dy = rng.floats(c.yCount)
        var wantDX = [Float](repeating: .nan, count: c.xCount)
        sp_conv2d_bwd_input_int8w_f32(&s, dy, w, ws, &wantDX, 0, 1)
        #expect(!wantDX.contains { $0.isNaN })
        var garbageVisible = 0  // selections whose garbage changes the plain forward
        for (round, (name, sel)) in splitSelections(c.inC, &rng).enumerated() {
            if round == 1 { layer.bias = nil }
            if round == 2 { layer.actMin = layer.outZero }  // fused ReLU
            let want = CInt8.conv(c, x: x, w: w, layer: layer)
            let (slice, frozen) = splitInt8(w, channels: c.inC, sel: sel)
            let k = Int32(sel.count)
            if !sel.isEmpty {
                // The garbage is visible to a kernel that reads it.
                var wrongDX = [Float](repeating: .nan, count: c.xCount)
                sp_conv2d_bwd_input_int8w_f32(&s, dy, frozen, ws, &wrongDX, 0, 1)
                #expect(bits(wrongDX) != bits(wantDX), "\(c.name) sel \(sel): garbage invisible to dx")
                if CInt8.conv(c, x: x, w: frozen, layer: layer) != want { garbageVisible += 1 }
            }
            for cores in splitCoreCounts {
                var y = [Int8](repeating: 0x5A, count: c.yCount)
                var dx = [Float](repeating: .nan, count: c.xCount)
                layer.withC { rq, b in
                    forEachCore(cores) { core, m in
                        sp_conv2d_fwd_split_int8(&s, x, frozen, slice, sel, k, b, rq, &y, core, m)
                        sp_conv2d_bwd_input_split_int8w_f32(&s, dy, frozen, slice, sel, k, ws, &dx, core, m)
                    }
                }
                #expect(y == want, "\(c.name) sel \(name) \(sel) round \(round): forward, \(cores) cores")
                #expect(bits(dx) == bits(wantDX), "\(c.name) sel \(name) \(sel): input gradient, \(cores) cores")
            }
            if sel.isEmpty {
                // k = 0 is the plain kernel; sel and w_sel may be NULL.
                var y = [Int8](repeating: 0x5A, count: c.yCount)
                var dx = [Float](repeating: .nan, count: c.xCount)
                layer.withC { rq, b in
                    forEachCore(3) { core, m in
                        sp_conv2d_fwd_split_int8(&s, x, w, nil, nil, 0, b, rq, &y, core, m)
                        sp_conv2d_bwd_input_split_int8w_f32(&s, dy, w, nil, nil, 0, ws, &dx, core, m)
                    }
                }
                #expect(y == want && bits(dx) == bits(wantDX), "\(c.name): k = 0 with NULL selection")
            }
        }
        #expect(garbageVisible > 0, "\(c.name): the garbage never reaches the plain forward's output")
    }

    @Test("int8 split linear = plain kernels on the merged weight")
    func splitLinearMatchesMergedWeight() {
        var rng = SplitMix64(seed: 0x1A8_1001, "int8 split linear")
        for inF in [1, 2, 7, 37, 70, 300] {
            for outF in [1, 3, 17] {
                let x = randomInt8s(inF, &rng), w = randomInt8s(inF * outF, &rng, symmetric: true)
                var layer = Int8Layer.random(channels: outF, accMagnitude: Int8ConvTests.accMagnitude(terms: inF), rng: &rng)
                let ws = (0..<outF).map { _ in rng.float(0.001, 0.05) }
                let dy = rng.floats(outF)
                var wantDX = [Float](repeating: .nan, count: inF)
                sp_linear_bwd_input_int8w_f32(Int32(inF), Int32(outF), dy, w, ws, &wantDX, 0, 1)
                for (round, (name, sel)) in splitSelections(inF, &rng).enumerated() {
                    if round == 1 { layer.bias = nil }
                    let want = CInt8.linear(inFeatures: inF, outFeatures: outF, x: x, w: w, layer: layer)
                    let (slice, frozen) = splitInt8(w, channels: inF, sel: sel)
                    let k = Int32(sel.count)
                    if !sel.isEmpty {
                        var wrongDX = [Float](repeating: .nan, count: inF)
                        sp_linear_bwd_input_int8w_f32(Int32(inF), Int32(outF), dy, frozen, ws, &wrongDX, 0, 1)
                        #expect(bits(wrongDX) != bits(wantDX), "linear \(inF)->\(outF) sel \(name): garbage invisible")
                    }
                    for cores in splitCoreCounts {
                        var y = [Int8](repeating: 0x5A, count: outF)
                        var dx = [Float](repeating: .nan, count: inF)
                        layer.withC { rq, b in
                            forEachCore(cores) { core, m in
                                sp_linear_fwd_split_int8(Int32(inF), Int32(outF), x, frozen, slice, sel, k, b, rq, &y, core, m)
                                sp_linear_bwd_input_split_int8w_f32(Int32(inF), Int32(outF), dy, frozen, slice, sel, k, ws,
                                                                    &dx, core, m)
                            }
                        }
                        #expect(y == want, "linear \(inF)->\(outF) sel \(name) \(sel): forward, \(cores) cores")
                        #expect(bits(dx) == bits(wantDX), "linear \(inF)->\(outF) sel \(name) \(sel): input gradient, \(cores) cores")
                    }
                }
            }
        }
    }

    @Test("int8 split kernels: invalid selections and groupings write nothing")
    func splitInvalidArgumentsDoNothing() {
        let c = ConvCase(name: "bad", inH: 3, inW: 3, inC: 4, outC: 6, kH: 1, kW: 1, groups: 2)
        let layer = Int8Layer(inZero: 0, outZero: 0, mult: [Int32](repeating: 1 << 30, count: 6),
                              shift: [Int32](repeating: 0, count: 6), bias: nil)
        let x = [Int8](repeating: 1, count: c.xCount), w = [Int8](repeating: 1, count: 6 * 4)
        let ws = [Float](repeating: 1, count: 6), dy = [Float](repeating: 1, count: c.yCount)
        let slice = [Int8](repeating: 1, count: 6 * 4)
        var s = c.shape
        var y = [Int8](repeating: 0x5A, count: c.yCount)
        var dx = [Float](repeating: .nan, count: c.xCount)
        var ly = [Int8](repeating: 0x5A, count: 6)
        var ldx = [Float](repeating: .nan, count: 4)
        let badSelections: [([Int32], Int32)] = [([2, 1], 2), ([1, 1], 2), ([4], 1), ([-1], 1), ([0], -1), ([0, 1, 2, 3, 3], 5)]
        layer.withC { rq, b in
            sp_conv2d_fwd_split_int8(&s, x, w, slice, [0], 1, b, rq, &y, 0, 1)  // grouped
            sp_conv2d_bwd_input_split_int8w_f32(&s, dy, w, slice, [0], 1, ws, &dx, 0, 1)
            s.groups = 1
            for (sel, k) in badSelections {
                sp_conv2d_fwd_split_int8(&s, x, w, slice, sel, k, b, rq, &y, 0, 1)
                sp_conv2d_bwd_input_split_int8w_f32(&s, dy, w, slice, sel, k, ws, &dx, 0, 1)
                sp_linear_fwd_split_int8(4, 6, x, w, slice, sel, k, b, rq, &ly, 0, 1)
                sp_linear_bwd_input_split_int8w_f32(4, 6, dy, w, slice, sel, k, ws, &ldx, 0, 1)
            }
            sp_conv2d_fwd_split_int8(&s, x, w, nil, [0], 1, b, rq, &y, 0, 1)        // no slice
            sp_linear_fwd_split_int8(4, 6, x, w, slice, nil, 1, b, rq, &ly, 0, 1)   // no selection
            sp_conv2d_fwd_split_int8(&s, x, w, slice, [0], 1, b, rq, &y, 1, 1)      // core out of range
            sp_linear_bwd_input_split_int8w_f32(4, 6, dy, w, slice, [0], 1, ws, &ldx, 0, 0)  // no cores
        }
        #expect(y.allSatisfy { $0 == 0x5A } && ly.allSatisfy { $0 == 0x5A })
        #expect(dx.allSatisfy { $0.isNaN } && ldx.allSatisfy { $0.isNaN })
    }

    // MARK: gather

    @Test("int8 gather copies the selected channels")
    func gatherCopiesTheSelectedChannels() {
        var rng = SplitMix64(seed: 0x1A8_1002, "int8 gather")
        for (p, c) in [(1, 1), (13, 7), (6, 20), (49, 3)] {
            let x = randomInt8s(p * c, &rng)
            for sel in selections(c, &rng) where !sel.isEmpty {
                let want = (0..<p).flatMap { row in sel.map { x[row * c + Int($0)] } }
                for cores in coreCounts {
                    var out = [Int8](repeating: 0x5A, count: p * sel.count)
                    forEachCore(cores) { core, m in
                        sp_gather_channels_int8(Int32(p), Int32(c), x, sel, Int32(sel.count), &out, core, m)
                    }
                    #expect(out == want, "gather \(p)x\(c) sel \(sel), \(cores) cores")
                }
            }
        }
    }

    // MARK: add

    /// sp_add_int8 from the header, in Swift fp32: two multiplies, one add, one
    /// division, ties to even, saturation (Swift does not contract a*b+c).
    static func addRef(_ a: Int8, _ sa: Float, _ za: Int32, _ b: Int8, _ sb: Float, _ zb: Int32,
                       _ sy: Float, _ zy: Int32) -> Int8 {
        let ra = Float(Int32(a) - za) * sa
        let rb = Float(Int32(b) - zb) * sb
        let v = (ra + rb) / sy
        let r: Int64 = v.isNaN ? 0 : v <= -512 ? -512 : v >= 512 ? 512 : Int64(v.rounded(.toNearestOrEven))
        return Int8(max(-128, min(127, r + Int64(zy))))
    }

    /// (a_scale, a_zero, b_scale, b_zero, y_scale, y_zero)
    static let addParams: [(Float, Int32, Float, Int32, Float, Int32)] = [
        (0.5, 0, 0.5, 0, 1, 0),              // half-integer sums: ties everywhere
        (0.5, 3, 1.5, -7, 2, 11),            // quarter steps: ties of the division
        (1, 0, 1, 0, 1, 0),                  // saturates both ways
        (0.02, -3, 0.035, 17, 0.05, -10),
        (0.1, 127, 0.1, -128, 0.1, 0),
        (0.0173, 5, 0.0091, -20, 0.0123, 100),
        (3e-3, -128, 7e-2, 127, 1e-4, -128), // mostly saturated
    ]

    @Test("int8 add: every (a, b) pair against the Swift fp32 reference, splits")
    func addExhaustive() {
        var a = [Int8](), b = [Int8]()
        for va in -128...127 { for vb in -128...127 { a.append(Int8(va)); b.append(Int8(vb)) } }
        let n = a.count
        for (sa, za, sb, zb, sy, zy) in Self.addParams {
            let want = (0..<n).map { Self.addRef(a[$0], sa, za, b[$0], sb, zb, sy, zy) }
            for cores in [1, 3, 8] {
                var y = [Int8](repeating: 0x5A, count: n)
                forEachCore(cores) { core, m in sp_add_int8(Int32(n), a, sa, za, b, sb, zb, sy, zy, &y, core, m) }
                #expect(y == want, "add (\(sa), \(za)) + (\(sb), \(zb)) -> (\(sy), \(zy)), \(cores) cores")
            }
        }
    }

    @Test("int8 add: ties to even, saturation at -128 and 127")
    func addBoundaries() {
        // (a, b, y_zero, expected) with scales 0.5, 0.5 -> 1, zero points 0: r = (a + b) / 2.
        let cases: [(Int8, Int8, Int32, Int8)] = [
            (1, 0, 0, 0), (3, 0, 0, 2), (5, 0, 0, 2), (7, 0, 0, 4), (-1, 0, 0, 0), (-3, 0, 0, -2), (-5, 0, 0, -2),
            (1, 2, 0, 2), (2, 3, 0, 2), (-2, -3, 0, -2), (1, 0, 10, 10), (3, 0, -10, -8),
            (127, 127, 0, 127), (-128, -128, 0, -128), (127, 126, 0, 126), (127, 127, 1, 127),
            (-128, -127, 0, -128), (-128, -128, 1, -127), (127, 127, -128, -1), (0, 0, 127, 127), (0, 0, -128, -128),
            (127, 127, 100, 127), (-128, -128, -100, -128),
        ]
        let a = cases.map(\.0), b = cases.map(\.1)
        for (i, c) in cases.enumerated() {
            var y: Int8 = 0x5A
            sp_add_int8(1, [a[i]], 0.5, 0, [b[i]], 0.5, 0, 1, c.2, &y, 0, 1)
            #expect(y == c.3, "(\(c.0) + \(c.1)) / 2 + \(c.2)")
            #expect(Self.addRef(c.0, 0.5, 0, c.1, 0.5, 0, 1, c.2) == c.3)
        }
        // Unit scales: the sum itself saturates.
        var y = [Int8](repeating: 0, count: 4)
        sp_add_int8(4, [127, -128, 100, -100], 1, 0, [127, -128, 27, -28], 1, 0, 1, 0, &y, 0, 1)
        #expect(y == [127, -128, 127, -128])
    }

    @Test("int8 add: y aliasing a or b, chunk and split boundaries")
    func addInPlace() {
        var rng = SplitMix64(seed: 0x1A8_1003, "int8 add in place")
        for n in [0, 1, 31, 32, 33, 65, 1001] {
            let a = randomInt8s(n, &rng), b = randomInt8s(n, &rng)
            let (sa, za, sb, zb, sy, zy) = Self.addParams[3]
            let want = (0..<n).map { Self.addRef(a[$0], sa, za, b[$0], sb, zb, sy, zy) }
            for cores in coreCounts {
                let pa = UnsafeMutablePointer<Int8>.allocate(capacity: max(n, 1))
                let pb = UnsafeMutablePointer<Int8>.allocate(capacity: max(n, 1))
                defer { pa.deallocate(); pb.deallocate() }
                pa.initialize(from: a, count: n)
                pb.initialize(from: b, count: n)
                forEachCore(cores) { core, m in sp_add_int8(Int32(n), pa, sa, za, pb, sb, zb, sy, zy, pa, core, m) }
                #expect(Array(UnsafeBufferPointer(start: pa, count: n)) == want, "y == a, n \(n), \(cores) cores")
                pa.update(from: a, count: n)
                forEachCore(cores) { core, m in sp_add_int8(Int32(n), pa, sa, za, pb, sb, zb, sy, zy, pb, core, m) }
                #expect(Array(UnsafeBufferPointer(start: pb, count: n)) == want, "y == b, n \(n), \(cores) cores")
                pb.update(from: b, count: n)
                forEachCore(cores) { core, m in sp_add_int8(Int32(n), pa, sa, za, pa, sa, za, sy, zy, pa, core, m) }
                let twice = (0..<n).map { Self.addRef(a[$0], sa, za, a[$0], sa, za, sy, zy) }
                #expect(Array(UnsafeBufferPointer(start: pa, count: n)) == twice, "y == a == b, n \(n), \(cores) cores")
            }
        }
    }

    // MARK: average pool

    static func poolShapes(channels: [Int]) -> [sp_pool_shape] {
        var out: [sp_pool_shape] = []
        for (h, w) in [(1, 1), (3, 3), (4, 5), (5, 2)] {
            for (kh, kw) in [(1, 1), (2, 2), (3, 3), (2, 3)] {
                for st in 1...2 { for pad in 0...1 { for c in channels {
                    let oh = (h + 2 * pad - kh) / st + 1, ow = (w + 2 * pad - kw) / st + 1
                    guard h + 2 * pad >= kh, w + 2 * pad >= kw, oh > 0, ow > 0 else { continue }
                    out.append(sp_pool_shape(in_h: Int32(h), in_w: Int32(w), c: Int32(c), out_h: Int32(oh),
                                             out_w: Int32(ow), k_h: Int32(kh), k_w: Int32(kw), stride_h: Int32(st),
                                             stride_w: Int32(st), pad_top: Int32(pad), pad_left: Int32(pad)))
                } } }
            }
        }
        return out
    }

    /// Int64 window sums of (x - zx), then the reference requantization.
    static func avgPoolRef(_ s: sp_pool_shape, _ x: [Int8], _ zx: Int32, _ mult: Int32, _ shift: Int32,
                           _ zy: Int32) -> [Int8] {
        let (h, w, c) = (Int(s.in_h), Int(s.in_w), Int(s.c))
        let (oh, ow) = (Int(s.out_h), Int(s.out_w))
        var y = [Int8](repeating: 0, count: oh * ow * c)
        for p in 0..<(oh * ow) {
            for ch in 0..<c {
                var sum: Int64 = 0
                for kh in 0..<Int(s.k_h) { for kw in 0..<Int(s.k_w) {
                    let ih = (p / ow) * Int(s.stride_h) - Int(s.pad_top) + kh
                    let iw = (p % ow) * Int(s.stride_w) - Int(s.pad_left) + kw
                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                    sum += Int64(x[(ih * w + iw) * c + ch]) - Int64(zx)
                } }
                y[p * c + ch] = Int8Ref.requantize(Int32(sum), mult, shift, zy)
            }
        }
        return y
    }

    static func avgPool(_ shape: sp_pool_shape, _ x: [Int8], _ zx: Int32, _ mult: Int32, _ shift: Int32,
                        _ zy: Int32, cores: Int) -> [Int8] {
        var s = shape
        var y = [Int8](repeating: 0x5A, count: Int(s.out_h * s.out_w * s.c))
        forEachCore(cores) { core, m in sp_avgpool_fwd_int8(&s, x, zx, mult, shift, zy, &y, core, m) }
        return y
    }

    @Test("int8 average pool: exact window sums, one sp_requantize, splits")
    func avgPoolAgainstReference() {
        var rng = SplitMix64(seed: 0x1A8_1004, "int8 avg pool")
        let shapes = Self.poolShapes(channels: [1, 3, 17, 33])
        for s in shapes {
            for _ in 0..<2 {
                let x = randomInt8s(Int(s.in_h * s.in_w * s.c), &rng)
                let zx = Int32(Int(rng.next() % 256) - 128), zy = Int32(Int(rng.next() % 256) - 128)
                let mult = Int32(1 << 30) + Int32(rng.next() % (1 << 30)), shift = Int32(Int(rng.next() % 5)) - 1
                let want = Self.avgPoolRef(s, x, zx, mult, shift, zy)
                for cores in coreCounts {
                    #expect(Self.avgPool(s, x, zx, mult, shift, zy, cores: cores) == want, "avg pool \(s), \(cores) cores")
                }
            }
        }
        print("[CSparrowKernelsTests] int8 avg pool: \(shapes.count) shapes")
    }

    @Test("int8 average pool: ties round up, padding counts, saturation, empty windows")
    func avgPoolBoundaries() {
        // 2x2 windows, stride 2, M = 2^30 * 2^-32 = 1/4 exactly: window sums ±2, ±6 are ties.
        let s = sp_pool_shape(in_h: 2, in_w: 4, c: 1, out_h: 1, out_w: 2, k_h: 2, k_w: 2, stride_h: 2, stride_w: 2,
                              pad_top: 0, pad_left: 0)
        let ties: [([Int8], [Int8])] = [
            ([1, 1, 0, 0, 0, 0, 1, 1], [1, 1]),          // 2/4 = 0.5 -> 1
            ([-1, -1, 0, 0, 0, 0, -1, -1], [0, 0]),      // -0.5 -> 0
            ([2, 1, 2, 2, 1, 2, 0, 1], [2, 1]),          // 6/4 = 1.5 -> 2, 5/4 -> 1
            ([-2, -1, -2, -2, -1, -2, 0, -1], [-1, -1]), // -1.5 -> -1, -1.25 -> -1
        ]
        for (x, want) in ties {  // HWC with c = 1: two rows of 4
            let got = Self.avgPool(s, x, 0, 1 << 30, 1, 0, cores: 2)
            #expect(got == want, "ties \(x)")
            #expect(Self.avgPoolRef(s, x, 0, 1 << 30, 1, 0) == want)
        }
        // Padding counts in the divisor: a 3x3 window over a 1x1 input (pad 1) is x / 9.
        let padded = sp_pool_shape(in_h: 1, in_w: 1, c: 2, out_h: 1, out_w: 1, k_h: 3, k_w: 3, stride_h: 1,
                                   stride_w: 1, pad_top: 1, pad_left: 1)
        // 1/9 ≈ 0x38E38E39 * 2^-(31+2).
        #expect(Self.avgPool(padded, [90, -90], 0, 0x38E3_8E39, 2, 0, cores: 1) == [10, -10])
        #expect(Self.avgPool(padded, [4, 5], 0, 0x38E3_8E39, 2, 0, cores: 1) == [0, 1])  // 0.44 -> 0, 0.56 -> 1
        // Saturation with M = 1: sums of ±255 per tap.
        let full = sp_pool_shape(in_h: 2, in_w: 2, c: 2, out_h: 1, out_w: 1, k_h: 2, k_w: 2, stride_h: 1, stride_w: 1,
                                 pad_top: 0, pad_left: 0)
        #expect(Self.avgPool(full, [127, 127, 127, 127, 127, 127, 127, 127], -128, 1 << 30, -1, 0, cores: 1) == [127, 127])
        #expect(Self.avgPool(full, [-128, -128, -128, -128, -128, -128, -128, -128], 127, 1 << 30, -1, 0, cores: 1)
                == [-128, -128])
        #expect(Self.avgPool(full, [1, -1, 0, 0, 0, 0, 0, 0], 0, 1 << 30, -1, 120, cores: 1) == [121, 119])
        // Windows entirely in the padding give the output zero point.
        let sparse = sp_pool_shape(in_h: 3, in_w: 3, c: 1, out_h: 3, out_w: 3, k_h: 1, k_w: 1, stride_h: 2, stride_w: 2,
                                   pad_top: 1, pad_left: 1)
        let x: [Int8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let got = Self.avgPool(sparse, x, 3, 1 << 30, -1, -7, cores: 3)
        #expect(got == [-7, -7, -7, -7, -5, -7, -7, -7, -7])
        #expect(got == Self.avgPoolRef(sparse, x, 3, 1 << 30, -1, -7))
    }

    // MARK: fp32 logits

    /// Int64 sums wrapped to int32 (mod 2^32), one conversion, one multiply.
    static func logitsRef(_ inF: Int, _ outF: Int, _ x: [Int8], _ zx: Int32, _ w: [Int8], _ b: [Int32]?,
                          _ scale: [Float]) -> [Float] {
        (0..<outF).map { o in
            var acc = Int64(b?[o] ?? 0)
            for i in 0..<inF { acc += (Int64(x[i]) - Int64(zx)) * Int64(w[o * inF + i]) }
            return Float(Int32(truncatingIfNeeded: acc)) * scale[o]
        }
    }

    static func logits(_ inF: Int, _ outF: Int, _ x: [Int8], _ zx: Int32, _ w: [Int8], _ b: [Int32]?,
                       _ scale: [Float], cores: Int = 1) -> [Float] {
        var y = [Float](repeating: .nan, count: outF)
        b.withOptional { pb in
            forEachCore(cores) { core, m in
                sp_linear_fwd_int8_f32(Int32(inF), Int32(outF), x, zx, w, pb, scale, &y, core, m)
            }
        }
        return y
    }

    @Test("int8 linear with fp32 logits against the Int64 reference, splits")
    func logitsAgainstReference() {
        var rng = SplitMix64(seed: 0x1A8_1005, "int8 fp32 logits")
        for inF in [1, 2, 7, 16, 33, 70] {
            for outF in [1, 3, 10, 17] {
                for withBias in [true, false] {
                    let x = randomInt8s(inF, &rng), w = randomInt8s(inF * outF, &rng, symmetric: true)
                    let zx = Int32(Int(rng.next() % 256) - 128)
                    let b: [Int32]? = withBias ? (0..<outF).map { _ in Int32(Int(rng.next() % 200_001) - 100_000) } : nil
                    let scale = (0..<outF).map { _ in rng.float(1e-5, 1e-3) }
                    let want = Self.logitsRef(inF, outF, x, zx, w, b, scale)
                    for cores in coreCounts {
                        #expect(bits(Self.logits(inF, outF, x, zx, w, b, scale, cores: cores)) == bits(want),
                                "logits \(inF)->\(outF) bias \(withBias), \(cores) cores")
                    }
                }
            }
        }
    }

    @Test("int8 fp32 logits: int32 -> fp32 rounds to even, accumulator wraps mod 2^32")
    func logitsBoundaries() {
        // x == zero point: acc is the bias, converted once (2^24 + 1 is a tie -> 2^24).
        let biases: [Int32] = [16_777_217, 16_777_219, -16_777_217, Int32.max, Int32.min, 0, -1]
        let wantUnit: [Float] = [16_777_216, 16_777_220, -16_777_216, 2_147_483_648, -2_147_483_648, 0, -1]
        let outF = biases.count
        let x: [Int8] = [-7, -7, -7], w = [Int8](repeating: 127, count: 3 * outF)
        let unit = [Float](repeating: 1, count: outF)
        #expect(Self.logits(3, outF, x, -7, w, biases, unit, cores: 3) == wantUnit)
        let tenth = [Float](repeating: 0.1, count: outF)
        #expect(bits(Self.logits(3, outF, x, -7, w, biases, tenth, cores: 2)) == bits(wantUnit.map { $0 * 0.1 }))
        // 140k terms of 255 * 127 plus Int32.max wrap around, as in sp_linear_fwd_int8.
        let n = 140_000
        let xs = [Int8](repeating: 127, count: n), ws = [Int8](repeating: 127, count: n)
        let wrapped = Self.logits(n, 1, xs, -128, ws, [Int32.max], [1])
        let acc = Int32(truncatingIfNeeded: Int64(Int32.max) + Int64(n) * 255 * 127)
        #expect(wrapped == [Float(acc)])
        #expect(wrapped == Self.logitsRef(n, 1, xs, -128, ws, [Int32.max], [1]))
        // The logits are the un-requantized accumulator of sp_linear_fwd_int8 times s_x * s_w.
        var none = [Float](repeating: .nan, count: 2)
        sp_linear_fwd_int8_f32(1, 2, nil, 0, [1, 1], nil, [1, 1], &none, 0, 1)
        #expect(none.allSatisfy { $0.isNaN })
    }
}

private extension Optional where Wrapped == [Int32] {
    /// A pointer to the array's elements for the duration of `body`, or nil.
    func withOptional<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        guard let values = self else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
