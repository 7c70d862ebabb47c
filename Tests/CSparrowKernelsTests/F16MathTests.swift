import CSparrowKernels
import Testing

/// The fp16 scalar core against the exact integer reference (F16Ref), bit for
/// bit; every NaN result must be the canonical 0x7E00.
@Suite("fp16 scalar core against the exact reference")
struct F16MathTests {
    /// Checks `got` against `want` for every input, reporting the first few failures.
    static func check<T>(_ what: String, _ inputs: [T], _ got: (T) -> UInt16, _ want: (T) -> UInt16,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        var failures = 0
        for input in inputs {
            let g = got(input), w = want(input)
            let ok = F16Ref.isNaN(w) ? g == F16Ref.nan : g == w
            if !ok {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(what)\(input): got 0x\(String(g, radix: 16)), want 0x\(String(w, radix: 16))",
                                 sourceLocation: sourceLocation)
                }
            }
        }
        #expect(failures == 0, "\(what): \(failures) of \(inputs.count) wrong", sourceLocation: sourceLocation)
    }

    @Test func widenEveryValueAndBack() {
        var wrong = 0
        for b in 0...UInt16.max {
            let f = sp_f16_to_f32(b)
            if F16Ref.isNaN(b) {
                // Quiet NaN with the payload kept; narrowing gives the canonical NaN.
                if !f.isNaN || f.bitPattern & 0x7F_FFFF != UInt32(b & 0x3FF) << 13 | 0x40_0000 { wrong += 1 }
                if sp_f16_from_f32(f) != F16Ref.nan { wrong += 1 }
                continue
            }
            if f.bitPattern != F16Ref.toFloat(b).bitPattern { wrong += 1 }
            if f.bitPattern != Float(Float16(bitPattern: b)).bitPattern { wrong += 1 }
            if sp_f16_from_f32(f) != b { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) wrong widenings or round trips")
    }

    /// Every fp32 binade; in each, every pattern of the bits fp16 keeps (up to
    /// 1024) with the dropped bits set to 0, 1, half - 1, half (the tie), half + 1,
    /// all ones and a random value; both signs. So every tie, the subnormal
    /// boundaries (2^-25, 2^-24, 2^-14) and the overflow boundary (65520) are hit.
    @Test func narrowDenseSweep() {
        var rng = SplitMix64(seed: 0xF16_C0DE, "fp16 narrowing sweep")
        var inputs: [Float] = [.infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
                               0, -0, .leastNonzeroMagnitude, 65504, 65519.996, 65520, 0x1p-24, 0x1p-25]
        for e in 0..<255 {
            let dropped = min(max(13, 13 + 113 - e), 23)  // bits below the fp16 quantum in this binade
            let kept = 23 - dropped
            let keptPatterns = e >= 90 && e <= 145 ? 1 << kept : 16
            let half = UInt32(1) << (dropped - 1), all = (UInt32(1) << dropped) - 1
            for t in 0..<keptPatterns {
                let top = keptPatterns == 1 << kept ? UInt32(t) : UInt32(truncatingIfNeeded: rng.next()) & ((1 << kept) - 1)
                for low in [0, 1, half - 1, half, half + 1, all, UInt32(truncatingIfNeeded: rng.next()) & all] {
                    let bits = UInt32(e) << 23 | top << dropped | low
                    inputs.append(Float(bitPattern: bits))
                    inputs.append(Float(bitPattern: bits | 0x8000_0000))
                }
            }
        }
        Self.check("from_f32", inputs, { sp_f16_from_f32($0) }, { F16Ref.fromFloat($0) })
        // The reference itself agrees with Swift's Float16 conversion.
        Self.check("Float16(Float)", inputs.filter { !$0.isNaN }, { Float16($0).bitPattern },
                   { F16Ref.fromFloat($0) })
    }

    @Test func sqrtEveryValue() {
        Self.check("sqrt", Array(0...UInt16.max), { sp_f16_sqrt($0) }, { F16Ref.sqrt($0) })
    }

    /// Edge pairs, then random pairs: a third uniformly random bits, the rest
    /// finite with the second operand's binade within 14 of the first (where
    /// sums round, cancel and tie).
    static func pairs(_ label: String, count: Int) -> [(UInt16, UInt16)] {
        var rng = SplitMix64(seed: stableSeed(label), label)
        var out: [(UInt16, UInt16)] = []
        for a in f16EdgeValues { for b in f16EdgeValues { out.append((a, b)) } }
        for i in 0..<count {
            if i % 3 == 0 {
                out.append((rng.f16Bits(), rng.f16Bits()))
            } else {
                let a = rng.f16Finite()
                out.append((a, rng.f16(exponent: f16Exponent(a) + Int(rng.next() % 29) - 14)))
            }
        }
        return out
    }

    static let pairCount = 1_000_000

    @Test func add() {
        let p = Self.pairs("fp16 add", count: Self.pairCount)
        Self.check("add", p, { sp_f16_add($0.0, $0.1) }, { F16Ref.add($0.0, $0.1) })
        Self.check("sub", p, { sp_f16_sub($0.0, $0.1) }, { F16Ref.sub($0.0, $0.1) })
    }

    @Test func mul() {
        let p = Self.pairs("fp16 mul", count: Self.pairCount)
        Self.check("mul", p, { sp_f16_mul($0.0, $0.1) }, { F16Ref.mul($0.0, $0.1) })
    }

    @Test func div() {
        let p = Self.pairs("fp16 div", count: Self.pairCount)
        Self.check("div", p, { sp_f16_div($0.0, $0.1) }, { F16Ref.div($0.0, $0.1) })
    }

    /// Edge triples, then random triples: a quarter random bits; the rest finite
    /// with c's binade within 16 of the product's, a quarter of all with
    /// c = -(a*b) rounded, a few ulps off (massive cancellation), and a quarter
    /// with c 10 to 14 binades above a*b (where a naive fp32 fma double-rounds).
    @Test func fma() {
        var rng = SplitMix64(seed: stableSeed("fp16 fma"), "fp16 fma")
        var t: [(UInt16, UInt16, UInt16)] = []
        for a in f16EdgeValues { for b in f16EdgeValues { for c in f16EdgeValues { t.append((a, b, c)) } } }
        for i in 0..<Self.pairCount {
            if i % 4 == 0 {
                t.append((rng.f16Bits(), rng.f16Bits(), rng.f16Bits()))
                continue
            }
            let a = rng.f16Finite(), b = rng.f16(exponent: Int(rng.next() % 31))
            let productExponent = f16Exponent(a) + f16Exponent(b) - 15
            // i % 4 == 2: c 10 to 14 binades above a*b, where the fp32 sum
            // rounds and can land on an fp16 tie (double rounding).
            let offset = i % 4 == 2 ? 10 + Int(rng.next() % 5) : Int(rng.next() % 33) - 16
            var c = rng.f16(exponent: productExponent + offset)
            if i % 4 == 1 {
                let negated = F16Ref.mul(a, b) ^ 0x8000
                if !F16Ref.isInf(negated) { c = negated &+ UInt16(rng.next() % 5) &- 2 }
            }
            t.append((a, b, c))
        }
        Self.check("fma", t, { sp_f16_fma($0.0, $0.1, $0.2) }, { F16Ref.fma($0.0, $0.1, $0.2) })
    }

    /// A case where rounding a*b + c to fp32 and then to fp16 is wrong: with
    /// a = 0x1014, b = 0x3BD9, 1 + a*b lies just above the fp16 tie 1 + 2^-11,
    /// by less than half an fp32 ulp, so fp32 rounds it onto the tie, which then
    /// rounds to even (1.0) instead of up.
    @Test func fmaAvoidsDoubleRounding() {
        let a: UInt16 = 0x1014, b: UInt16 = 0x3BD9
        let exact = F16Ref.fma(a, b, 0x3C00)
        #expect(sp_f16_fma(a, b, 0x3C00) == exact)
        let naive = sp_f16_from_f32(sp_f16_to_f32(a) * sp_f16_to_f32(b) + 1)
        #expect(naive != exact, "the example no longer shows double rounding")
    }
}
