import CSparrowKernels
import Testing

/// Conv shapes with a split layout (groups 1 or depthwise); names say what each covers.
private let f16SplitConvCases: [ConvCase] = [
    ConvCase(name: "3x3 pad 1, non-square 7x5 input, 6 -> 4", inH: 7, inW: 5, inC: 6, outC: 4, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "stride 2, asymmetric padding, 10 -> 3", inH: 9, inW: 8, inC: 10, outC: 3, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1),
    ConvCase(name: "depthwise 3x3 pad 1, 5 channels", inH: 6, inW: 7, inC: 5, outC: 5, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 5),
    ConvCase(name: "depthwise stride 2, 20 channels", inH: 9, inW: 6, inC: 20, outC: 20, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 0, padRight: 1, groups: 20),
    ConvCase(name: "depthwise 5x3 kernel, no padding, 8 channels", inH: 7, inW: 6, inC: 8, outC: 8, kH: 5, kW: 3,
             groups: 8),
    ConvCase(name: "pointwise 1x1, 12 -> 7", inH: 4, inW: 5, inC: 12, outC: 7, kH: 1, kW: 1),
    ConvCase(name: "3x1 kernel, stride (2, 1), 5 -> 6", inH: 8, inW: 5, inC: 5, outC: 6, kH: 3, kW: 1,
             strideH: 2, strideW: 1, padTop: 1, padLeft: 0, padBottom: 1, padRight: 0),
    ConvCase(name: "5x5 kernel, pad 2, 3 -> 9", inH: 5, inW: 6, inC: 3, outC: 9, kH: 5, kW: 5,
             padTop: 2, padLeft: 2, padBottom: 2, padRight: 2),
    ConvCase(name: "in_c = out_c = 1", inH: 5, inW: 4, inC: 1, outC: 1, kH: 3, kW: 3,
             padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "tiny 2x3, more cores than rows, 4 -> 3", inH: 2, inW: 3, inC: 4, outC: 3, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "pointwise 1x1 4x5x64 -> 40 (DS-CNN-like)", inH: 4, inW: 5, inC: 64, outC: 40, kH: 1, kW: 1),
    ConvCase(name: "3x3 stride 2 pad 1, 7x6x18 -> 9", inH: 7, inW: 6, inC: 18, outC: 9, kH: 3, kW: 3,
             strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
    ConvCase(name: "wide pointwise 2x2x300 -> 3 (rows wider than a channel table)", inH: 2, inW: 2, inC: 300, outC: 3,
             kH: 1, kW: 1),
]

private let f16SplitLinearCases = [LinearCase(inFeatures: 1, outFeatures: 1), LinearCase(inFeatures: 37, outFeatures: 9),
                                   LinearCase(inFeatures: 13, outFeatures: 29), LinearCase(inFeatures: 64, outFeatures: 3),
                                   LinearCase(inFeatures: 300, outFeatures: 4)]

/// A NaN the kernels never produce (theirs is 0x7E00), put where the frozen
/// weight holds a selected channel: reading it would show in the output.
private let frozenGarbage: UInt16 = 0x7D5A

/// (slice, frozen copy with garbage in the selected channels) of a weight
/// whose last dimension has `c` channels.
private func f16Split(_ w: [UInt16], c: Int, sel: [Int32]) -> (slice: [UInt16], frozen: [UInt16]) {
    var slice = [UInt16](), frozen = w
    for r in 0..<(w.count / c) {
        for ch in sel {
            slice.append(w[r * c + Int(ch)])
            frozen[r * c + Int(ch)] = frozenGarbage
        }
    }
    return (slice, frozen)
}

/// Expects `run(cores)` to give `want` for every core count from 1 to 8.
private func expectSplitBits(_ want: [UInt16], _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                             _ run: (Int) -> [UInt16]) {
    for cores in splitCoreCounts {
        let got = run(cores)
        #expect(got == want, "\(what), \(cores) cores", sourceLocation: sourceLocation)
    }
}

/// Runs `kernel(out, core, cores)` over `cores` cores into an output poisoned with CF16.poison.
private func runF16(count: Int, cores: Int, _ kernel: (UnsafeMutablePointer<UInt16>, Int32, Int32) -> Void) -> [UInt16] {
    var out = [UInt16](repeating: CF16.poison, count: count)
    out.withUnsafeMutableBufferPointer { buf in forEachCore(cores) { core, n in kernel(buf.baseAddress!, core, n) } }
    return out
}

/// The fp16 split-weight kernels give exactly the plain fp16 kernels' bits on
/// the merged weight (both accumulation modes, every core count from 1 to 8,
/// every selection of `splitSelections`, with and without bias), and the fp16
/// gather copies the selected channels.
@Suite("fp16 split weights and gather")
struct F16SplitTests {
    @Test(arguments: f16SplitConvCases)
    func convSplitMatchesThePlainKernelOnTheMergedWeight(_ c: ConvCase) {
        let d = F16ConvData(c, "f16 split conv")
        var rng = SplitMix64(seed: stableSeed("f16 split sel" + c.name), "f16 split selections \(c.name)")
        var s = c.shape
        for (name, sel) in splitSelections(c.inC, &rng) {
            let (slice, frozen) = f16Split(d.w, c: c.inC, sel: sel)
            let k = Int32(sel.count)
            for mode in F16KernelRef.modes {
                let m = "\(c) \(F16KernelRef.name(mode)) sel \(name) \(sel)"
                let yRef = CF16.forward(c, mode, x: d.x, w: d.w, b: d.b)
                let yRefNoBias = CF16.forward(c, mode, x: d.x, w: d.w, b: nil)
                let dxRef = CF16.inputGradient(c, mode, dy: d.dy, w: d.w)
                #expect(!(yRef + yRefNoBias + dxRef).contains { F16Ref.isNaN($0) }, "\(m): NaN in the plain result")
                expectSplitBits(yRef, "\(m) forward") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: c.yCount, cores: cores) { y, core, n in
                            sp_conv2d_fwd_split_f16(&s, d.x, frozen, wsp, sp, k, d.b, y, mode, core, n)
                        }
                    }
                }
                expectSplitBits(yRefNoBias, "\(m) forward, no bias") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: c.yCount, cores: cores) { y, core, n in
                            sp_conv2d_fwd_split_f16(&s, d.x, frozen, wsp, sp, k, nil, y, mode, core, n)
                        }
                    }
                }
                expectSplitBits(dxRef, "\(m) input grad") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: c.xCount, cores: cores) { dx, core, n in
                            sp_conv2d_bwd_input_split_f16(&s, d.dy, frozen, wsp, sp, k, dx, mode, core, n)
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: f16SplitLinearCases)
    func linearSplitMatchesThePlainKernelOnTheMergedWeight(_ l: LinearCase) {
        var rng = SplitMix64(seed: stableSeed("f16 split " + l.description), "f16 split \(l)")
        let x = rng.f16Values(l.inFeatures), w = rng.f16Values(l.inFeatures * l.outFeatures)
        let b = rng.f16Values(l.outFeatures), dy = rng.f16Values(l.outFeatures)
        let (i, o) = (Int32(l.inFeatures), Int32(l.outFeatures))
        for (name, sel) in splitSelections(l.inFeatures, &rng) {
            let (slice, frozen) = f16Split(w, c: l.inFeatures, sel: sel)
            let k = Int32(sel.count)
            for mode in F16KernelRef.modes {
                let m = "\(l) \(F16KernelRef.name(mode)) sel \(name) \(sel)"
                let yRef = CF16.linearForward(l, mode, x: x, w: w, b: b)
                let yRefNoBias = CF16.linearForward(l, mode, x: x, w: w, b: nil)
                let dxRef = CF16.linearInputGradient(l, mode, dy: dy, w: w)
                #expect(!(yRef + yRefNoBias + dxRef).contains { F16Ref.isNaN($0) }, "\(m): NaN in the plain result")
                expectSplitBits(yRef, "\(m) forward") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: l.outFeatures, cores: cores) { y, core, n in
                            sp_linear_fwd_split_f16(i, o, x, frozen, wsp, sp, k, b, y, mode, core, n)
                        }
                    }
                }
                expectSplitBits(yRefNoBias, "\(m) forward, no bias") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: l.outFeatures, cores: cores) { y, core, n in
                            sp_linear_fwd_split_f16(i, o, x, frozen, wsp, sp, k, nil, y, mode, core, n)
                        }
                    }
                }
                expectSplitBits(dxRef, "\(m) input grad") { cores in
                    withSplitSelection(sel, slice) { sp, wsp in
                        runF16(count: l.inFeatures, cores: cores) { dx, core, n in
                            sp_linear_bwd_input_split_f16(i, o, dy, frozen, wsp, sp, k, dx, mode, core, n)
                        }
                    }
                }
            }
        }
    }

    /// Bit copies: random bits (NaN payloads, -0, subnormals) come through unchanged.
    @Test(arguments: [(13, 7), (1, 1), (20, 16), (5, 33)])
    func gatherCopiesTheSelectedChannels(_ shape: (Int, Int)) {
        let (p, c) = shape
        var rng = SplitMix64(seed: stableSeed("f16 gather \(p)x\(c)"), "f16 gather \(p)x\(c)")
        let x = (0..<(p * c)).map { _ in rng.f16Bits() }
        for (_, sel) in splitSelections(c, &rng) where !sel.isEmpty {
            let want = (0..<p).flatMap { row in sel.map { x[row * c + Int($0)] } }
            expectF16Bits(want, "gather \(p)x\(c) sel \(sel)") { cores in
                runF16(count: p * sel.count, cores: cores) { out, core, n in
                    sp_gather_channels_f16(Int32(p), Int32(c), x, sel, Int32(sel.count), out, core, n)
                }
            }
        }
    }

    /// An unknown mode, a grouped (not depthwise) conv, bad core ids and k = 0
    /// gathers write nothing.
    @Test func unsupportedCallsDoNothing() {
        let c = f16SplitConvCases[0]
        let d = F16ConvData(c, "f16 split no-op")
        let sel: [Int32] = [1, 4], (slice, frozen) = f16Split(d.w, c: c.inC, sel: sel)
        var s = c.shape
        let poisoned = [UInt16](repeating: CF16.poison, count: max(c.xCount, c.yCount))
        var y = poisoned
        sp_conv2d_fwd_split_f16(&s, d.x, frozen, slice, sel, 2, d.b, &y, sp_f16_acc(rawValue: 7), 0, 1)
        sp_conv2d_bwd_input_split_f16(&s, d.dy, frozen, slice, sel, 2, &y, sp_f16_acc(rawValue: 7), 0, 1)
        sp_linear_fwd_split_f16(6, 4, d.x, frozen, slice, sel, 2, d.b, &y, sp_f16_acc(rawValue: 7), 0, 1)
        sp_linear_bwd_input_split_f16(6, 4, d.dy, frozen, slice, sel, 2, &y, sp_f16_acc(rawValue: 7), 0, 1)
        sp_conv2d_fwd_split_f16(&s, d.x, frozen, slice, sel, 2, d.b, &y, SP_F16_ACC_F16, 1, 1)
        sp_conv2d_fwd_split_f16(&s, d.x, frozen, slice, sel, 2, d.b, &y, SP_F16_ACC_F32, 0, 0)
        sp_gather_channels_f16(4, 6, d.x, sel, 0, &y, 0, 1)
        var grouped = s
        grouped.in_c = 6; grouped.out_c = 4; grouped.groups = 2
        sp_conv2d_fwd_split_f16(&grouped, d.x, frozen, slice, sel, 2, d.b, &y, SP_F16_ACC_F32, 0, 1)
        sp_conv2d_bwd_input_split_f16(&grouped, d.dy, frozen, slice, sel, 2, &y, SP_F16_ACC_F32, 0, 1)
        #expect(y == poisoned)
    }
}
