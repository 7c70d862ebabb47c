import CSparrowKernels
import Testing

/// FNV-1a over bytes, for golden digests shared with SparrowIRTests.
struct Int8Digest {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ v: Int64) {
        var u = UInt64(bitPattern: v)
        for _ in 0..<8 { value = (value ^ (u & 0xFF)) &* 0x0100_0000_01B3; u >>= 8 }
    }
}

/// The deterministic grid of (acc, mult, shift, zero point) whose requantization
/// digest SparrowIRTests' `FixedPointMultiplier` must reproduce (the two test
/// targets cannot import each other's module; the shared constant ties them).
func requantGrid(_ body: (Int32, Int32, Int32, Int32) -> Void) {
    var rng = SplitMix64(seed: 0x5EED_1A7E, "requant golden grid")
    for _ in 0..<20_000 {
        let acc = Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> (32 + rng.next() % 32))
        let mult = Int32(rng.next() >> 33)
        let shift = Int32(rng.next() % 63) - 31
        let zp = Int32(rng.next() % 256) - 128
        body(acc, mult, shift, zp)
    }
}

/// Golden digests (raw Int64 results, then the int8 results) of `requantGrid`.
let requantGridDigest: UInt64 = 13_860_121_200_171_629_243
let quantizeGridDigest: UInt64 = 6_873_436_902_756_434_083

@Suite("int8 requantization")
struct Int8RequantTests {
    /// Multipliers with every kind of low-bit pattern (exact ties need factors of 2).
    static let mults: [Int32] = [
        0, 1, 2, 3, 0x4000_0000, 0x4000_0001, 0x5555_5555, 0x6000_0000, 0x7FFF_FFFF, 0x7FFF_FFFE,
        0x4CCC_CCCD, 0x7000_0000, 0x4000_8000, 0x5A82_7999, 0x4000_0000 | 0x100,
    ]

    @Test func halfWayPointsAgainstInt128() {
        var rng = SplitMix64(seed: 0x1A1F_0001, "requant half-way points")
        var mults = Self.mults
        for _ in 0..<10 { mults.append(Int32(0x4000_0000 + rng.next() % 0x4000_0000) & ~Int32(rng.next() % 16)) }
        var checked = 0, ties = 0
        for mult in mults where mult > 0 {
            for shift in Int32(-31)...31 {
                let n = 31 + Int(shift)
                // Half-way accumulators: acc ≈ (k + 1/2) · 2^n / mult, for outputs k across int8 and beyond.
                for k: Int128 in [-300, -129, -128, -100, -3, -2, -1, 0, 1, 2, 50, 126, 127, 128, 1000] {
                    let centre = Int8Ref.floorDiv((2 * k + 1) << n, 2 * Int128(mult))
                    for d: Int128 in -2...2 {
                        let a = centre + d
                        guard a >= Int128(Int32.min) && a <= Int128(Int32.max) else { continue }
                        let acc = Int32(a)
                        if (Int128(acc) * Int128(mult) * 2) % (Int128(1) << (n + 1)) == Int128(1) << n { ties += 1 }
                        for zp: Int32 in [-128, -7, 0, 127] {
                            let want = Int8Ref.requantize(acc, mult, shift, zp)
                            let got = sp_requantize(acc, mult, shift, zp)
                            if got != want {
                                Issue.record("sp_requantize(\(acc), \(mult), \(shift), \(zp)) = \(got), want \(want)")
                                return
                            }
                            checked += 1
                        }
                        #expect(Int128(sp_requantize_raw(acc, mult, shift)) == Int8Ref.raw(acc, mult, shift))
                    }
                }
            }
        }
        print("[CSparrowKernelsTests] requant half-way points: \(checked) checks, \(ties) exact ties")
        #expect(ties > 1000, "the grid must hit exact ties")
    }

    @Test func extremesAndSaturation() {
        let accs: [Int32] = [.min, .min + 1, -65536, -1, 0, 1, 65535, .max - 1, .max]
        for mult in Self.mults {
            for shift in Int32(-31)...31 {
                for acc in accs {
                    #expect(Int128(sp_requantize_raw(acc, mult, shift)) == Int8Ref.raw(acc, mult, shift),
                            "raw(\(acc), \(mult), \(shift))")
                    for zp: Int32 in [-128, -1, 0, 1, 127] {
                        let got = sp_requantize(acc, mult, shift, zp)
                        #expect(got == Int8Ref.requantize(acc, mult, shift, zp), "(\(acc), \(mult), \(shift), \(zp))")
                    }
                }
            }
        }
        // Identity multiplier 2^31 - 1 at shift -31 (M = 2^31 - 1, no rounding) saturates.
        #expect(sp_requantize(1, .max, -31, 0) == 127)
        #expect(sp_requantize(-1, .max, -31, 0) == -128)
        // M = 1/2 exactly: ties go up.
        #expect(sp_requantize(1, 0x4000_0000, 0, 0) == 1)
        #expect(sp_requantize(-1, 0x4000_0000, 0, 0) == 0)
        #expect(sp_requantize(-3, 0x4000_0000, 0, 0) == -1)
        #expect(sp_requantize(3, 0x4000_0000, 0, 0) == 2)
        // Out-of-range arguments are clamped, not undefined.
        #expect(sp_requantize_raw(100, -5, 0) == 0)
        #expect(sp_requantize_raw(1 << 20, 0x4000_0000, 40) == sp_requantize_raw(1 << 20, 0x4000_0000, 31))
        #expect(sp_requantize_raw(3, 0x4000_0000, -40) == sp_requantize_raw(3, 0x4000_0000, -31))
    }

    @Test func randomAgainstInt128AndClampedVariant() {
        var rng = SplitMix64(seed: 0x1A1F_0002, "requant random")
        for _ in 0..<100_000 {
            let acc = Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> (32 + rng.next() % 32))
            let mult = Int32(rng.next() >> 33)
            let shift = Int32(rng.next() % 63) - 31
            let zp = Int32(rng.next() % 256) - 128
            let lo = Int32(rng.next() % 300) - 150, hi = Int32(rng.next() % 300) - 150
            let want = Int8Ref.requantize(acc, mult, shift, zp)
            let got = sp_requantize(acc, mult, shift, zp)
            let l = max(-128, min(127, lo)), h = max(-128, min(127, hi))
            let wantClamped = Int8(max(min(l, h), min(h, Int32(want)))) // lo > hi collapses to hi
            let gotClamped = sp_requantize_clamped(acc, mult, shift, zp, lo, hi)
            if got != want || gotClamped != wantClamped {
                Issue.record("(\(acc), \(mult), \(shift), \(zp), [\(lo), \(hi)]): \(got)/\(gotClamped), want \(want)/\(wantClamped)")
                return
            }
        }
    }

    @Test func goldenDigestSharedWithSwift() {
        var raw = Int8Digest(), q = Int8Digest()
        requantGrid { acc, mult, shift, zp in
            raw.add(sp_requantize_raw(acc, mult, shift))
            q.add(Int64(sp_requantize(acc, mult, shift, zp)))
        }
        var fq = Int8Digest()
        quantizeGrid { x, scale, zp in
            var out: Int8 = 0
            var v = x
            sp_quantize_f32_to_int8(1, &v, scale, zp, &out, 0, 1)
            fq.add(Int64(out))
        }
        print("[CSparrowKernelsTests] requant digests: raw \(raw.value), int8 \(q.value), quantize \(fq.value)")
        #expect(raw.value ^ q.value == requantGridDigest)
        #expect(fq.value == quantizeGridDigest)
    }
}

/// Grid of (x, scale, zero point) for the quantize digest: ties, saturation, NaN, ±0.
func quantizeGrid(_ body: (Float, Float, Int32) -> Void) {
    var rng = SplitMix64(seed: 0x5EED_0F32, "quantize golden grid")
    let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 127.5, -128.5, 1e30, -1e30]
    for x in specials { for zp: Int32 in [-128, 0, 3, 127] { body(x, 1, zp) } }
    for _ in 0..<20_000 {
        let scale = Float(Double(rng.next() % 1000 + 1) * 0.001)
        // Half-integer multiples of the scale hit ties after the division.
        let x = rng.next() % 2 == 0 ? rng.float(-200, 200) * scale : Float(Int(rng.next() % 600) - 300) / 2 * scale
        body(x, scale, Int32(rng.next() % 256) - 128)
    }
}
