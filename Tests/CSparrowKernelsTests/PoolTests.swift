import CSparrowKernels
import Testing

struct PoolData {
    var x: [Float], dy: [Float]
    init(_ p: PoolCase, _ label: String) {
        var rng = SplitMix64(seed: stableSeed(label + p.name), "\(label) \(p.name)")
        x = rng.floats(p.xCount)
        dy = rng.floats(p.yCount)
    }
}

@Suite("max and average pooling")
struct PoolTests {
    @Test(arguments: poolCases)
    func maxPoolMatchesReference(_ p: PoolCase) {
        let d = PoolData(p, "maxpool reference")
        let (y, arg) = CPool.maxForward(p, x: d.x)
        let ref = p.maxForward(doubles(d.x))
        #expect(y.map(Double.init) == ref.y, "\(p): max values")
        #expect(arg.map(Int.init) == ref.argmax, "\(p): argmax taps")
        expectClose(CPool.maxBackward(p, dy: d.dy, argmax: arg), p.maxBackward(doubles(d.dy), argmax: ref.argmax),
                    "\(p): max backward")
    }

    @Test(arguments: poolCases)
    func avgPoolMatchesReference(_ p: PoolCase) {
        let d = PoolData(p, "avgpool reference")
        expectClose(CPool.avgForward(p, x: d.x), p.avgForward(doubles(d.x)), "\(p): avg forward")
        expectClose(CPool.avgBackward(p, dy: d.dy), p.avgBackward(doubles(d.dy)), "\(p): avg backward")
    }

    @Test(arguments: poolCases)
    func gradientsMatchFiniteDifferences(_ p: PoolCase) {
        let d = PoolData(p, "pool fd")
        let r = doubles(d.dy)
        // A small step keeps every perturbation inside the region where the argmax does not change.
        let maxFD = finiteDifference(doubles(d.x), step: 1e-6) { dot(r, p.maxForward($0).y) }
        let arg = CPool.maxForward(p, x: d.x).argmax
        expectClose(CPool.maxBackward(p, dy: d.dy, argmax: arg), maxFD, rtol: 1e-4, "\(p): max dx vs fd")
        let avgFD = finiteDifference(doubles(d.x)) { dot(r, p.avgForward($0)) }
        expectClose(CPool.avgBackward(p, dy: d.dy), avgFD, rtol: 1e-4, "\(p): avg dx vs fd")
    }

    @Test(arguments: poolCases)
    func everyCoreCountGivesTheSameBits(_ p: PoolCase) {
        let d = PoolData(p, "pool split")
        var s = p.shape
        let arg = CPool.maxForward(p, x: d.x).argmax
        expectSplitInvariant(count: p.yCount, "\(p) max forward") { sp_maxpool_fwd_f32(&s, d.x, $0, nil, $1, $2) }
        expectSplitInvariant(count: p.xCount, "\(p) max backward") { sp_maxpool_bwd_f32(&s, d.dy, arg, $0, $1, $2) }
        expectSplitInvariant(count: p.yCount, "\(p) avg forward") { sp_avgpool_fwd_f32(&s, d.x, $0, $1, $2) }
        expectSplitInvariant(count: p.xCount, "\(p) avg backward") { sp_avgpool_bwd_f32(&s, d.dy, $0, $1, $2) }
        for cores in coreCounts {
            let (y, a) = CPool.maxForward(p, x: d.x, cores: cores)
            #expect(a == arg && !y.contains { $0.isNaN }, "\(p): argmax with \(cores) cores")
        }
    }

    @Test func windowWithoutInBoundsTapGivesMinusInfinityAndNoGradient() {
        // pad_top 2 with a 2x2 window: output row 0 only covers padding.
        let p = PoolCase(name: "padding-only row", inH: 4, inW: 4, c: 3, kH: 2, kW: 2, strideH: 2, strideW: 2,
                         padTop: 2)
        var rng = SplitMix64(seed: 7, "maxpool padding-only window")
        let x = rng.floats(p.xCount), dy = rng.floats(p.yCount)
        let (y, arg) = CPool.maxForward(p, x: x)
        let rowCount = p.outW * p.c
        #expect(y.prefix(rowCount).allSatisfy { $0 == -.infinity })
        #expect(arg.prefix(rowCount).allSatisfy { $0 == 255 })
        expectClose(CPool.maxBackward(p, dy: dy, argmax: arg), p.maxBackward(doubles(dy), argmax: arg.map(Int.init)),
                    "padding-only max backward")
        #expect(CPool.avgForward(p, x: x).prefix(rowCount).allSatisfy { $0 == 0 })
    }

    @Test func maxPoolTakesTheFirstMaximumAndTheFirstNaN() {
        let p = PoolCase(name: "2x2", inH: 2, inW: 2, c: 3, kH: 2, kW: 2, strideH: 2, strideW: 2)
        // HWC, taps in row-major order: channel 0 has a tie at taps 1 and 3, channel 1
        // NaNs at taps 2 and 3, channel 2 ties +0 and -0.
        let x: [Float] = [0.5, 1, -0.0, /* tap 1 */ 2, 5, 0.0, /* tap 2 */ 1, .nan, 0, /* tap 3 */ 2, .nan, 0]
        let (y, arg) = CPool.maxForward(p, x: x)
        #expect(arg == [1, 2, 0])
        #expect(y[0] == 2 && y[1].isNaN && y[2].bitPattern == (-0.0 as Float).bitPattern)
    }
}

@Suite("global average pooling")
struct GlobalAvgPoolTests {
    let positions = 13, channels = 20

    @Test func matchesReferenceAndFiniteDifferences() {
        var rng = SplitMix64(seed: 0x61_7667, "global avgpool")
        let x = rng.floats(positions * channels), dy = rng.floats(channels)
        func reference(_ x: [Double]) -> [Double] {
            (0..<channels).map { c in (0..<positions).reduce(0) { $0 + x[$1 * channels + c] } / Double(positions) }
        }
        var y = [Float](repeating: .nan, count: channels), dx = [Float](repeating: .nan, count: positions * channels)
        sp_global_avgpool_fwd_f32(Int32(positions), Int32(channels), x, &y, 0, 1)
        sp_global_avgpool_bwd_f32(Int32(positions), Int32(channels), dy, &dx, 0, 1)
        expectClose(y, reference(doubles(x)), "global avgpool forward")
        let r = doubles(dy)
        expectClose(dx, finiteDifference(doubles(x)) { dot(r, reference($0)) }, rtol: 1e-4, "global avgpool dx vs fd")
        let (p, c) = (Int32(positions), Int32(channels))
        expectSplitInvariant(count: channels, "global avgpool forward") { sp_global_avgpool_fwd_f32(p, c, x, $0, $1, $2) }
        expectSplitInvariant(count: positions * channels, "global avgpool backward") {
            sp_global_avgpool_bwd_f32(p, c, dy, $0, $1, $2)
        }
    }
}
