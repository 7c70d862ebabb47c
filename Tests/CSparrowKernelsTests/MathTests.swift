import CSparrowKernels
import Foundation
import Testing

/// Error of `got` in units in the last place of the fp32 result nearest `exact`
/// (subnormal spacing below the normal range). Correct overflow to +inf is 0.
func ulpError(_ got: Float, _ exact: Double) -> Double {
    if exact.isNaN { return got.isNaN ? 0 : .infinity }
    let overflow = 0x1.ffff_ffp127  // FLT_MAX + half an ulp: rounds to +inf from here on
    if abs(exact) >= overflow { return got == Float(exact) ? 0 : .infinity }
    if got.isInfinite || got.isNaN { return .infinity }
    let exponent = exact == 0 ? -126 : max(Int(exact.exponent), -126)
    let ulp = Foundation.pow(2.0, Double(exponent - 23))
    return abs(Double(got) - exact) / ulp
}

/// Every `stride`-th fp32 bit pattern in [from, to] (inclusive ends), as floats.
func floatSweep(from: UInt32, to: UInt32, stride: UInt32) -> [Float] {
    var out: [Float] = []
    var b = from
    while b <= to {
        out.append(Float(bitPattern: b))
        if to - b < stride { break }
        b += stride
    }
    out.append(Float(bitPattern: to))
    return out
}

@Suite("sp_expf and sp_logf")
struct MathTests {
    static func worst(_ inputs: [Float], _ f: (Float) -> Float, _ exact: (Double) -> Double) -> (Double, Float) {
        var worst = 0.0, at: Float = 0
        for x in inputs {
            let e = ulpError(f(x), exact(Double(x)))
            if e > worst || e.isNaN { worst = e; at = x }
        }
        return (worst, at)
    }

    @Test func expWithinTwoUlpOverItsRange() {
        var rng = SplitMix64(seed: 0x6578_70, "expf dense sweep")
        var inputs = floatSweep(from: 0, to: 0x42B2_0000, stride: 1_009)          // +0 ... 89
        inputs += floatSweep(from: 0x8000_0000, to: 0xC2D0_0000, stride: 1_013)   // -0 ... -104
        inputs += (0..<50_000).map { _ in rng.float(-1, 1) }
        inputs += (0..<50_000).map { _ in rng.float(-104, 89) }
        inputs += [88.72283, 88.722_84, 88.7228394, 88.8, -87.33654, -87.4, -103.2789, -103.9721, -103.99,
                   -104, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0x1p-126, 0.346_573_6, -0.346_573_6]
        let (err, at) = Self.worst(inputs, sp_expf, Foundation.exp)
        print("[CSparrowKernelsTests] sp_expf: max error \(err) ulp at \(at) over \(inputs.count) inputs")
        #expect(err <= 2, "sp_expf is \(err) ulp off at \(at)")
        #expect(err <= 1.03, "the header documents 1.03 ulp (exhaustive); this sweep found \(err) at \(at)")
    }

    @Test func logWithinTwoUlpOverItsRange() {
        var rng = SplitMix64(seed: 0x6C6F_67, "logf dense sweep")
        var inputs = floatSweep(from: 1, to: 0x7F7F_FFFF, stride: 2_003)         // subnormals ... FLT_MAX
        inputs += (0..<50_000).map { _ in rng.float(0.5, 2) }
        inputs += (0..<20_000).map { _ in 1 + rng.float(-1e-3, 1e-3) }
        inputs += [Float.leastNonzeroMagnitude, Float.leastNormalMagnitude, .greatestFiniteMagnitude,
                   Float(bitPattern: 0x007F_FFFF), 1, 2, 0.5, 1.414_213_5, 0.707_106_8, 1 + .ulpOfOne, 1 - .ulpOfOne / 2]
        let (err, at) = Self.worst(inputs, sp_logf, Foundation.log)
        print("[CSparrowKernelsTests] sp_logf: max error \(err) ulp at \(at) over \(inputs.count) inputs")
        #expect(err <= 2, "sp_logf is \(err) ulp off at \(at)")
        #expect(err <= 0.96, "the header documents 0.96 ulp (exhaustive); this sweep found \(err) at \(at)")
    }

    @Test func expEdgeCases() {
        #expect(sp_expf(0) == 1 && sp_expf(-0.0) == 1)
        #expect(sp_expf(.infinity) == .infinity && sp_expf(-.infinity) == 0)
        #expect(sp_expf(.nan).isNaN)
        #expect(sp_expf(89) == .infinity && sp_expf(1e30) == .infinity && sp_expf(.greatestFiniteMagnitude) == .infinity)
        #expect(sp_expf(-105) == 0 && sp_expf(-1e30) == 0 && sp_expf(-.greatestFiniteMagnitude) == 0)
        #expect(sp_expf(Float.leastNonzeroMagnitude) == 1 && sp_expf(-Float.leastNonzeroMagnitude) == 1)
        #expect(sp_expf(-103.2789) == Float.leastNonzeroMagnitude)  // e^x just above 2^-149
        #expect(sp_expf(1) == Float(M_E))
        #expect(sp_expf(88.72283).isFinite && sp_expf(88.7228394) == .infinity)
    }

    @Test func logEdgeCases() {
        #expect(sp_logf(0) == -.infinity && sp_logf(-0.0) == -.infinity)
        #expect(sp_logf(-1).isNaN && sp_logf(-.infinity).isNaN && sp_logf(-Float.leastNonzeroMagnitude).isNaN)
        #expect(sp_logf(.infinity) == .infinity && sp_logf(.nan).isNaN)
        #expect(sp_logf(1).bitPattern == Float(0).bitPattern)
        #expect(sp_logf(Float(M_E)) == 1 || abs(sp_logf(Float(M_E)) - 1) <= Float.ulpOfOne)
        #expect(sp_logf(Float.leastNonzeroMagnitude) == Float(-149 * M_LN2))
        #expect(sp_logf(.greatestFiniteMagnitude) == Float(Foundation.log(Double(Float.greatestFiniteMagnitude))))
    }
}
