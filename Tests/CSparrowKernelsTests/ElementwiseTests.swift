import CSparrowKernels
import Testing

/// Runs a mask kernel over every core count with 0xAA-poisoned bytes and returns
/// the 1-core mask, expecting every other count to give the same bytes.
func maskOverCores(_ n: Int, _ what: String, _ kernel: (UnsafeMutablePointer<UInt8>, Int32, Int32) -> Void) -> [UInt8] {
    var reference: [UInt8] = []
    for cores in coreCounts {
        var mask = [UInt8](repeating: 0xAA, count: (n + 7) / 8)
        mask.withUnsafeMutableBufferPointer { buf in forEachCore(cores) { kernel(buf.baseAddress!, $0, $1) } }
        if cores == 1 { reference = mask } else { #expect(mask == reference, "\(what): \(cores) cores") }
    }
    return reference
}

func packBits(_ flags: [Bool]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: (flags.count + 7) / 8)
    for (i, on) in flags.enumerated() where on { out[i / 8] |= UInt8(1) << UInt8(i % 8) }
    return out
}

@Suite("elementwise kernels and masks")
struct ElementwiseTests {
    static let sizes = [1, 8, 37, 1000]

    /// Values around the ReLU/ReLU6 corners, plus random ones.
    static func inputs(_ n: Int, _ label: String) -> [Float] {
        var rng = SplitMix64(seed: stableSeed(label) &+ UInt64(n), "\(label) n=\(n)")
        let corners: [Float] = [0, -0.0, 6, 5.999_999_5, 6.000_000_5, -1e-30, 1e-30, 7, -7]
        return (0..<n).map { i in i % 3 == 0 ? corners[(i / 3) % corners.count] : rng.float(-8, 8) }
    }

    @Test(arguments: sizes)
    func addReluRelu6(_ n: Int) {
        let x = Self.inputs(n, "relu"), b = Self.inputs(n, "add").reversed().map { $0 }
        let relu = x.map { $0 < 0 ? 0 : $0 }, relu6 = x.map { $0 < 0 ? 0 : ($0 > 6 ? 6 : $0) }
        let n32 = Int32(n)
        expectSplitInvariant(count: n, "add") { sp_add_f32(n32, x, b, $0, $1, $2) }
        expectSplitInvariant(count: n, "relu") { sp_relu_f32(n32, x, $0, $1, $2) }
        expectSplitInvariant(count: n, "relu6") { sp_relu6_f32(n32, x, $0, $1, $2) }
        var y = [Float](repeating: .nan, count: n)
        sp_add_f32(n32, x, b, &y, 0, 1)
        #expect(bits(y) == bits(zip(x, b).map(+)))
        sp_relu_f32(n32, x, &y, 0, 1)
        #expect(bits(y) == bits(relu))
        sp_relu6_f32(n32, x, &y, 0, 1)
        #expect(bits(y) == bits(relu6))
        // In place, over several cores.
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { buf in
            forEachCore(3) { sp_relu_f32(n32, buf.baseAddress!, buf.baseAddress!, $0, $1) }
        }
        #expect(bits(inPlace) == bits(relu))
        inPlace = x
        inPlace.withUnsafeMutableBufferPointer { buf in
            forEachCore(3) { sp_add_f32(n32, buf.baseAddress!, b, buf.baseAddress!, $0, $1) }
        }
        #expect(bits(inPlace) == bits(zip(x, b).map(+)))
    }

    @Test func reluPropagatesNaN() {
        var y: [Float] = [0, 0]
        sp_relu_f32(2, [Float.nan, -.infinity], &y, 0, 1)
        #expect(y[0].isNaN && y[1] == 0)
        sp_relu6_f32(2, [Float.nan, .infinity], &y, 0, 1)
        #expect(y[0].isNaN && y[1] == 6)
    }

    @Test(arguments: sizes)
    func masksAndMaskGradient(_ n: Int) {
        let x = Self.inputs(n, "mask")
        let n32 = Int32(n)
        let reluMask = maskOverCores(n, "relu mask n=\(n)") { sp_relu_mask(n32, x, $0, $1, $2) }
        #expect(reluMask == packBits(x.map { $0 > 0 }), "relu mask n=\(n)")
        let relu6Mask = maskOverCores(n, "relu6 mask n=\(n)") { sp_relu6_mask(n32, x, $0, $1, $2) }
        #expect(relu6Mask == packBits(x.map { $0 > 0 && $0 < 6 }), "relu6 mask n=\(n)")

        var rng = SplitMix64(seed: stableSeed("mask dy") &+ UInt64(n), "mask grad n=\(n)")
        let dy = rng.floats(n)
        let want = (0..<n).map { x[$0] > 0 ? dy[$0] : 0 }
        expectSplitInvariant(count: n, "mask grad n=\(n)") { sp_mask_grad_f32(n32, dy, reluMask, $0, $1, $2) }
        var inPlace = dy
        inPlace.withUnsafeMutableBufferPointer { buf in
            forEachCore(3) { sp_mask_grad_f32(n32, buf.baseAddress!, reluMask, buf.baseAddress!, $0, $1) }
        }
        #expect(bits(inPlace) == bits(want), "mask grad in place n=\(n)")
    }

    /// d/dx of sum(r * relu(x)) by central differences equals the masked gradient
    /// (inputs kept away from the kinks at 0 and 6).
    @Test func maskGradientsMatchFiniteDifferences() {
        var rng = SplitMix64(seed: 0x4D41_534B, "mask fd")
        let x = (0..<50).map { _ in rng.float(-8, 8) }.map { abs($0) < 0.01 || abs($0 - 6) < 0.01 ? $0 + 0.5 : $0 }
        let r = rng.floats(50)
        let n = Int32(x.count)
        let relu: (Double) -> Double = { max(0, $0) }, relu6: (Double) -> Double = { min(6, max(0, $0)) }
        for (name, f, maskKernel) in [("relu", relu, sp_relu_mask), ("relu6", relu6, sp_relu6_mask)] {
            var mask = [UInt8](repeating: 0, count: (x.count + 7) / 8), dx = [Float](repeating: .nan, count: x.count)
            maskKernel(n, x, &mask, 0, 1)
            sp_mask_grad_f32(n, r, mask, &dx, 0, 1)
            let fd = finiteDifference(doubles(x)) { p in zip(doubles(r), p).reduce(0) { $0 + $1.0 * f($1.1) } }
            expectClose(dx, fd, rtol: 1e-4, "\(name) mask gradient vs fd")
        }
    }
}
