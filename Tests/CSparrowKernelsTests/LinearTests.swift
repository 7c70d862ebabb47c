import CSparrowKernels
import Testing

/// fp64 reference of y = W x + b with W [out][in], from the definition.
struct LinearCase: CustomStringConvertible, Sendable {
    var inFeatures: Int, outFeatures: Int
    var description: String { "linear \(inFeatures) -> \(outFeatures)" }

    func forward(x: [Double], w: [Double], b: [Double]?) -> [Double] {
        (0..<outFeatures).map { o -> Double in
            var acc = b?[o] ?? 0
            for i in 0..<inFeatures { acc += w[o * inFeatures + i] * x[i] }
            return acc
        }
    }

    func inputGradient(dy: [Double], w: [Double]) -> [Double] {
        (0..<inFeatures).map { i -> Double in
            var acc = 0.0
            for o in 0..<outFeatures { acc += dy[o] * w[o * inFeatures + i] }
            return acc
        }
    }

    func weightGradient(x: [Double], dy: [Double]) -> [Double] {
        (0..<(outFeatures * inFeatures)).map { dy[$0 / inFeatures] * x[$0 % inFeatures] }
    }

    /// The same layer as a 1x1 conv on a 1x1 x in_features input.
    var asConv: ConvCase {
        ConvCase(name: "1x1 conv of \(self)", inH: 1, inW: 1, inC: inFeatures, outC: outFeatures, kH: 1, kW: 1)
    }
}

enum CLinear {
    static func forward(_ l: LinearCase, x: [Float], w: [Float], b: [Float]?, cores: Int = 1) -> [Float] {
        var y = [Float](repeating: .nan, count: l.outFeatures)
        withOptionalPointer(b) { bp in
            forEachCore(cores) { sp_linear_fwd_f32(Int32(l.inFeatures), Int32(l.outFeatures), x, w, bp, &y, $0, $1) }
        }
        return y
    }

    static func inputGradient(_ l: LinearCase, dy: [Float], w: [Float], cores: Int = 1) -> [Float] {
        var dx = [Float](repeating: .nan, count: l.inFeatures)
        forEachCore(cores) { sp_linear_bwd_input_f32(Int32(l.inFeatures), Int32(l.outFeatures), dy, w, &dx, $0, $1) }
        return dx
    }

    static func weightGradient(_ l: LinearCase, x: [Float], dy: [Float], into initial: [Float]? = nil,
                               cores: Int = 1) -> [Float] {
        var dw = initial ?? [Float](repeating: .nan, count: l.inFeatures * l.outFeatures)
        let acc: Int32 = initial == nil ? 0 : 1
        forEachCore(cores) {
            sp_linear_bwd_weight_f32(Int32(l.inFeatures), Int32(l.outFeatures), x, dy, &dw, acc, $0, $1)
        }
        return dw
    }
}

let linearCases = [LinearCase(inFeatures: 37, outFeatures: 10), LinearCase(inFeatures: 200, outFeatures: 7),
                   LinearCase(inFeatures: 5, outFeatures: 1), LinearCase(inFeatures: 3, outFeatures: 13)]

struct LinearData {
    var x: [Float], w: [Float], b: [Float], dy: [Float]
    init(_ l: LinearCase, _ label: String) {
        var rng = SplitMix64(seed: stableSeed(label + l.description), "\(label) \(l)")
        x = rng.floats(l.inFeatures)
        w = rng.floats(l.inFeatures * l.outFeatures)
        b = rng.floats(l.outFeatures)
        dy = rng.floats(l.outFeatures)
    }
}

@Suite("linear")
struct LinearTests {
    @Test(arguments: linearCases)
    func matchesReference(_ l: LinearCase) {
        let d = LinearData(l, "linear reference")
        expectClose(CLinear.forward(l, x: d.x, w: d.w, b: d.b),
                    l.forward(x: doubles(d.x), w: doubles(d.w), b: doubles(d.b)),
                    scale: l.forward(x: absolute(d.x), w: absolute(d.w), b: absolute(d.b)), "\(l) forward")
        expectClose(CLinear.forward(l, x: d.x, w: d.w, b: nil),
                    l.forward(x: doubles(d.x), w: doubles(d.w), b: nil),
                    scale: l.forward(x: absolute(d.x), w: absolute(d.w), b: nil), "\(l) forward, no bias")
        expectClose(CLinear.inputGradient(l, dy: d.dy, w: d.w), l.inputGradient(dy: doubles(d.dy), w: doubles(d.w)),
                    scale: l.inputGradient(dy: absolute(d.dy), w: absolute(d.w)), "\(l) input grad")
        expectClose(CLinear.weightGradient(l, x: d.x, dy: d.dy), l.weightGradient(x: doubles(d.x), dy: doubles(d.dy)),
                    "\(l) weight grad")
    }

    @Test(arguments: linearCases)
    func gradientsMatchFiniteDifferences(_ l: LinearCase) {
        let d = LinearData(l, "linear fd")
        let r = doubles(d.dy), x = doubles(d.x), w = doubles(d.w), b = doubles(d.b)
        expectClose(CLinear.inputGradient(l, dy: d.dy, w: d.w),
                    finiteDifference(x) { dot(r, l.forward(x: $0, w: w, b: b)) }, rtol: 1e-4, "\(l) dx vs fd")
        expectClose(CLinear.weightGradient(l, x: d.x, dy: d.dy),
                    finiteDifference(w) { dot(r, l.forward(x: x, w: $0, b: b)) }, rtol: 1e-4, "\(l) dw vs fd")
        expectClose(CConv.biasGradient(positions: 1, channels: l.outFeatures, dy: d.dy),
                    finiteDifference(b) { dot(r, l.forward(x: x, w: w, b: $0)) }, rtol: 1e-4, "\(l) db vs fd")
    }

    @Test(arguments: linearCases)
    func splitAndAccumulate(_ l: LinearCase) {
        let d = LinearData(l, "linear split")
        let (i, o) = (Int32(l.inFeatures), Int32(l.outFeatures))
        expectSplitInvariant(count: l.outFeatures, "\(l) forward") { sp_linear_fwd_f32(i, o, d.x, d.w, d.b, $0, $1, $2) }
        expectSplitInvariant(count: l.inFeatures, "\(l) input grad") { sp_linear_bwd_input_f32(i, o, d.dy, d.w, $0, $1, $2) }
        expectSplitInvariant(count: l.inFeatures * l.outFeatures, "\(l) weight grad") {
            sp_linear_bwd_weight_f32(i, o, d.x, d.dy, $0, 0, $1, $2)
        }
        var rng = SplitMix64(seed: stableSeed("linear old" + l.description), "linear old grad \(l)")
        let old = rng.floats(l.inFeatures * l.outFeatures)
        let fresh = CLinear.weightGradient(l, x: d.x, dy: d.dy)
        for cores in coreCounts {
            let acc = CLinear.weightGradient(l, x: d.x, dy: d.dy, into: old, cores: cores)
            #expect(bits(acc) == bits(zip(old, fresh).map(+)), "\(l): accumulate, \(cores) cores")
        }
    }

    /// A flattened linear layer and the equivalent 1x1 conv must agree bit for bit,
    /// so a planner may lower either to the other.
    @Test(arguments: linearCases)
    func equalsOneByOneConv(_ l: LinearCase) {
        let d = LinearData(l, "linear as conv")
        let c = l.asConv
        #expect(bits(CLinear.forward(l, x: d.x, w: d.w, b: d.b)) == bits(CConv.forward(c, x: d.x, w: d.w, b: d.b)))
        #expect(bits(CLinear.inputGradient(l, dy: d.dy, w: d.w)) == bits(CConv.inputGradient(c, dy: d.dy, w: d.w)))
        #expect(bits(CLinear.weightGradient(l, x: d.x, dy: d.dy)) == bits(CConv.weightGradient(c, x: d.x, dy: d.dy)))
    }
}
