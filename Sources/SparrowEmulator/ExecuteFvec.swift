/// Execution of the packed-FP16 SIMD instructions decoded by DecoderFvec.swift.
///
/// Lane-wise operations apply the scalar Zfh operation of `FloatUnit` to each
/// binary16 lane independently (the same results and NaN rules as fadd.h etc.:
/// a NaN result is the canonical NaN of its lane) and OR both lanes' exception
/// flags into fflags. Packed operands and results are the whole 32-bit FP register
/// (no NaN-boxing). Rounding is always the dynamic mode `frm` (the encodings have no
/// rm field); an invalid `frm` makes the instruction illegal, as for scalar ops.
extension Machine {
    /// Executes one packed-FP16 instruction on core `c`. Returns false for an
    /// invalid rounding mode in `frm` (the instruction is then illegal).
    func executeFvec(_ i: Instruction, core c: Int, x: UnsafeMutablePointer<UInt32>, f: UnsafeMutablePointer<UInt32>) -> Bool {
        let H = FloatFormat.half
        guard let mode = RoundingMode(rawValue: frm[c]) else { return false }
        let rd = Int(i.rd)
        let a = f[Int(i.rs1)], rawB = f[Int(i.rs2)]
        let b = i.imm != 0 ? (rawB & 0xFFFF) &* 0x0001_0001 : rawB  // .r: lane 0 of rs2 in both lanes
        var flags: UInt8 = 0
        /// Applies `op` to lane 0 and lane 1 of (a, b) and packs the results.
        @inline(__always) func lanes(_ op: (UInt32, UInt32) -> FloatUnit.Result) -> UInt32 {
            let lo = op(a & 0xFFFF, b & 0xFFFF), hi = op(a >> 16, b >> 16)
            flags |= lo.flags | hi.flags
            return (lo.bits & 0xFFFF) | (hi.bits & 0xFFFF) << 16
        }
        /// A lane mask: 0xFFFF in each lane where `test` (a FloatUnit comparison, 1 or 0) holds.
        @inline(__always) func mask(_ test: (UInt32, UInt32) -> FloatUnit.Result) -> UInt32 {
            let lo = test(a & 0xFFFF, b & 0xFFFF), hi = test(a >> 16, b >> 16)
            flags |= lo.flags | hi.flags
            return (lo.bits != 0 ? 0x0000_FFFF : 0) | (hi.bits != 0 ? 0xFFFF_0000 : 0)
        }
        switch i.op {
        case .vfAddH, .vfSubH:
            let subtract = i.op == .vfSubH
            f[rd] = lanes { FloatUnit.add($0, $1, subtract: subtract, H, mode) }
        case .vfMulH: f[rd] = lanes { FloatUnit.multiply($0, $1, H, mode) }
        case .vfDivH: f[rd] = lanes { FloatUnit.divide($0, $1, H, mode) }
        case .vfMinH, .vfMaxH:
            let max = i.op == .vfMaxH
            f[rd] = lanes { FloatUnit.minMax($0, $1, max: max, H) }
        case .vfSqrtH: f[rd] = lanes { v, _ in FloatUnit.squareRoot(v, H, mode) }
        case .vfMacH:
            let d = f[rd]
            let lo = FloatUnit.fusedMultiplyAdd(a & 0xFFFF, b & 0xFFFF, d & 0xFFFF, negateProduct: false, negateAddend: false, H, mode)
            let hi = FloatUnit.fusedMultiplyAdd(a >> 16, b >> 16, d >> 16, negateProduct: false, negateAddend: false, H, mode)
            flags = lo.flags | hi.flags
            f[rd] = (lo.bits & 0xFFFF) | (hi.bits & 0xFFFF) << 16
        case .vfSgnjH, .vfSgnjnH, .vfSgnjxH:
            let kind = i.op == .vfSgnjH ? 0 : i.op == .vfSgnjnH ? 1 : 2
            f[rd] = lanes { (FloatUnit.injectSign($0, $1, kind: kind, H), 0) }
        // Comparisons write a lane mask to the integer register rd: feq/fne quiet, the others signaling.
        case .vfEqH: x[rd] = mask { FloatUnit.compare($0, $1, H, equal: true, less: false, signaling: false) }
        case .vfNeH:
            x[rd] = ~mask { FloatUnit.compare($0, $1, H, equal: true, less: false, signaling: false) }
        case .vfLtH: x[rd] = mask { FloatUnit.compare($0, $1, H, equal: false, less: true, signaling: true) }
        case .vfLeH: x[rd] = mask { FloatUnit.compare($0, $1, H, equal: true, less: true, signaling: true) }
        case .vfGtH: x[rd] = mask { FloatUnit.compare($1, $0, H, equal: false, less: true, signaling: true) }
        case .vfGeH: x[rd] = mask { FloatUnit.compare($1, $0, H, equal: true, less: true, signaling: true) }
        case .vfCpkaHS:
            // Two binary32 registers (FLEN = 32: no boxing) rounded into lane 0 (rs1) and lane 1 (rs2).
            let lo = FloatUnit.convert(a, from: .single, to: H, mode), hi = FloatUnit.convert(rawB, from: .single, to: H, mode)
            flags = lo.flags | hi.flags
            f[rd] = (lo.bits & 0xFFFF) | (hi.bits & 0xFFFF) << 16
        case .vfDotpexSH, .vfNdotpexSH:
            let r = FloatUnit.expandingDotProduct(a, b, f[rd], negateProducts: i.op == .vfNdotpexSH, mode)
            flags = r.flags
            f[rd] = r.bits
        default:
            return false
        }
        fflags[c] |= flags
        if mstatus[c] & 0x6000 != 0 { mstatus[c] |= 0x6000 }  // FS = dirty
        return true
    }
}

extension FloatUnit {
    /// vfdotpex.s.h / vfndotpex.s.h: acc ± (a0·b0 + a1·b1), where a0, a1, b0, b1 are the
    /// binary16 lanes of `a` and `b` and `acc` is binary32, computed exactly and rounded
    /// once to binary32 (no intermediate rounding of the products or of their sum).
    ///
    /// NaN rules as the fused multiply-add: any NaN operand gives the canonical NaN
    /// (invalid if one is signaling, or a product is ∞·0); ∞·0, and infinities of
    /// opposite signs among the products and the accumulator, are invalid. An exact
    /// zero is −0 when every term is −0, or when rounding down unless every term is +0.
    ///
    /// Exactness: every term is a dyadic rational that Double holds exactly (products
    /// of binary16 values have at most 22 significant bits, the accumulator 24), and
    /// all are integer multiples of 2^-149 below 2^129. They are summed exactly in a
    /// 320-bit fixed-point accumulator (`WideFixed`), then reduced to its leading 53
    /// bits (truncated, hence a Double neighbour of the exact sum) plus the sign of the
    /// discarded remainder, which `FloatFormat.round` turns into the correctly rounded
    /// binary32 result and flags for every rounding mode.
    static func expandingDotProduct(_ a: UInt32, _ b: UInt32, _ acc: UInt32, negateProducts: Bool, _ rm: RoundingMode) -> Result {
        let H = FloatFormat.half, S = FloatFormat.single
        let a0 = a & 0xFFFF, a1 = a >> 16, b0 = b & 0xFFFF, b1 = b >> 16
        let (x0, y0, x1, y1) = (H.double(a0), H.double(b0), H.double(a1), H.double(b1))
        let invalidProduct = (x0.isInfinite && y0 == 0) || (x0 == 0 && y0.isInfinite) || (x1.isInfinite && y1 == 0) || (x1 == 0 && y1.isInfinite)
        if H.isNaN(a0) || H.isNaN(a1) || H.isNaN(b0) || H.isNaN(b1) || S.isNaN(acc) {
            let signaling = H.isSignalingNaN(a0) || H.isSignalingNaN(a1) || H.isSignalingNaN(b0) || H.isSignalingNaN(b1) || S.isSignalingNaN(acc)
            return (S.canonicalNaN, invalidProduct || signaling ? FPFlag.invalid : 0)
        }
        if invalidProduct { return (S.canonicalNaN, FPFlag.invalid) }
        var p0 = x0 * y0, p1 = x1 * y1  // exact (or infinite)
        if negateProducts { p0 = -p0; p1 = -p1 }
        let z = S.double(acc)
        let positiveInfinity = p0 == .infinity || p1 == .infinity || z == .infinity
        let negativeInfinity = p0 == -.infinity || p1 == -.infinity || z == -.infinity
        if positiveInfinity && negativeInfinity { return (S.canonicalNaN, FPFlag.invalid) }
        if positiveInfinity { return (S.infinity, 0) }
        if negativeInfinity { return (S.signBit | S.infinity, 0) }
        var positive = WideFixed(), negative = WideFixed()
        @inline(__always) func accumulate(_ t: Double) {
            if t > 0 { positive.add(t) } else if t < 0 { negative.add(-t) }
        }
        accumulate(p0)
        accumulate(p1)
        accumulate(z)
        let order = positive.compare(negative)
        if order == 0 {
            let allNegativeZero = p0 == 0 && p1 == 0 && z == 0 && p0.sign == .minus && p1.sign == .minus && z.sign == .minus
            let allPositiveZero = p0 == 0 && p1 == 0 && z == 0 && p0.sign == .plus && p1.sign == .plus && z.sign == .plus
            return ((allNegativeZero || (rm == .down && !allPositiveZero)) ? S.signBit : 0, 0)
        }
        var magnitude = order > 0 ? positive : negative
        magnitude.subtract(order > 0 ? negative : positive)
        let (value, inexact) = magnitude.leadingDouble()
        let signed = order > 0 ? value : -value
        return S.round(signed, errorSign: inexact ? (order > 0 ? 1 : -1) : 0, mode: rm)
    }
}

/// A non-negative fixed-point number in units of 2^-149 with 320 bits (five 64-bit
/// limbs, least significant first): holds every sum of a few binary32 values and
/// products of binary16 values exactly. A value type on the stack: no allocation.
struct WideFixed {
    private var limbs = SIMD8<UInt64>()  // limbs 0...4 used
    private static let count = 5

    /// Adds |t| (finite, non-zero, a multiple of 2^-149, below 2^129).
    mutating func add(_ t: Double) {
        var m = t.significandBitPattern | (1 << 52)
        var shift = Int(t.exponent) - 52 + 149
        if shift < 0 {  // t is a multiple of 2^-149: the bits shifted out are zeros
            m >>= UInt64(-shift)
            shift = 0
        }
        let k = shift >> 6, offset = UInt64(shift & 63)
        var carry = m << offset
        var high = offset == 0 ? 0 : m >> (64 - offset)
        var j = k
        while j < Self.count && (carry != 0 || high != 0) {
            let (s, o) = limbs[j].addingReportingOverflow(carry)
            limbs[j] = s
            carry = high &+ (o ? 1 : 0)  // high < 2^63, so this cannot wrap
            high = 0
            j += 1
        }
    }

    /// self -= other (other ≤ self).
    mutating func subtract(_ other: WideFixed) {
        var borrow: UInt64 = 0
        for j in 0..<Self.count {
            let (d1, o1) = limbs[j].subtractingReportingOverflow(other.limbs[j])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            limbs[j] = d2
            borrow = (o1 || o2) ? 1 : 0
        }
    }

    /// -1, 0 or 1 as self <, =, > other.
    func compare(_ other: WideFixed) -> Int {
        var j = Self.count - 1
        while j >= 0 {
            if limbs[j] != other.limbs[j] { return limbs[j] > other.limbs[j] ? 1 : -1 }
            j -= 1
        }
        return 0
    }

    /// The value truncated to its leading 53 bits (exact in Double), and whether any
    /// non-zero bit was discarded. Self must be non-zero.
    func leadingDouble() -> (Double, inexact: Bool) {
        var top = Self.count - 1
        while limbs[top] == 0 { top -= 1 }
        let msb = top * 64 + 63 - limbs[top].leadingZeroBitCount  // bit index of the leading one
        let start = max(0, msb - 52)  // lowest kept bit
        // Bits start ..< start + 53 (they span at most two limbs).
        let k = start >> 6, offset = UInt64(start & 63)
        var m = limbs[k] >> offset
        if offset != 0 && k + 1 < Self.count { m |= limbs[k + 1] << (64 - offset) }
        m &= (1 << 53) - 1
        var inexact = offset != 0 && limbs[k] & ((1 << offset) - 1) != 0
        var j = 0
        while !inexact && j < k {
            inexact = limbs[j] != 0
            j += 1
        }
        return (Double(sign: .plus, exponent: start - 149, significand: Double(m)), inexact)
    }
}
