extension Machine {
    /// Executes an F or Zfh arithmetic instruction. Returns false for an invalid
    /// rounding mode (the instruction is then illegal). Half-precision operands are
    /// read NaN-boxed (an improperly boxed value reads as the canonical NaN) and
    /// results are written NaN-boxed.
    func executeFloat(_ i: Instruction, core c: Int, x: UnsafeMutablePointer<UInt32>, f: UnsafeMutablePointer<UInt32>) -> Bool {
        let S = FloatFormat.single, H = FloatFormat.half
        let rmField = i.rm == 7 ? frm[c] : i.rm
        let mode = RoundingMode(rawValue: rmField)
        let rd = Int(i.rd)
        @inline(__always) func h(_ r: UInt8) -> UInt32 {
            let v = f[Int(r)]
            return v >> 16 == 0xFFFF ? v & 0xFFFF : 0x7E00
        }
        @inline(__always) func s(_ r: UInt8) -> UInt32 { f[Int(r)] }
        @inline(__always) func setS(_ r: FloatUnit.Result) { f[rd] = r.bits; fflags[c] |= r.flags }
        @inline(__always) func setH(_ r: FloatUnit.Result) { f[rd] = 0xFFFF_0000 | r.bits; fflags[c] |= r.flags }
        @inline(__always) func setX(_ r: FloatUnit.Result) { x[rd] = r.bits; fflags[c] |= r.flags }
        func rounding() -> RoundingMode? { mode }
        // Fast path: single precision, round to nearest even, a normal result. The
        // host's IEEE arithmetic gives the same correctly rounded bits; only
        // exactness decides the flags (overflow, underflow and NaN take the slow path).
        if rmField == 0 {
            let a = Float(bitPattern: s(i.rs1)), b = Float(bitPattern: s(i.rs2))
            switch i.op {
            case .faddS, .fsubS:
                let b2 = i.op == .fsubS ? -b : b
                let r = a + b2
                if r.isNormal {
                    let (sum, e) = exactSum(Double(a), Double(b2))
                    f[rd] = r.bitPattern
                    if e != 0 || Double(r) != sum { fflags[c] |= FPFlag.inexact }
                    return true
                }
            case .fmulS:
                let r = a * b
                if r.isNormal {
                    f[rd] = r.bitPattern
                    if Double(r) != Double(a) * Double(b) { fflags[c] |= FPFlag.inexact }
                    return true
                }
            case .fdivS:
                let r = a / b
                if r.isNormal {
                    f[rd] = r.bitPattern
                    if Double(r) * Double(b) != Double(a) { fflags[c] |= FPFlag.inexact }
                    return true
                }
            default: break
            }
        }
        switch i.op {
        // Single precision
        case .faddS, .fsubS:
            guard let m = rounding() else { return false }
            setS(FloatUnit.add(s(i.rs1), s(i.rs2), subtract: i.op == .fsubS, S, m))
        case .fmulS:
            guard let m = rounding() else { return false }
            setS(FloatUnit.multiply(s(i.rs1), s(i.rs2), S, m))
        case .fdivS:
            guard let m = rounding() else { return false }
            setS(FloatUnit.divide(s(i.rs1), s(i.rs2), S, m))
        case .fsqrtS:
            guard let m = rounding() else { return false }
            setS(FloatUnit.squareRoot(s(i.rs1), S, m))
        case .fmaddS, .fmsubS, .fnmsubS, .fnmaddS:
            guard let m = rounding() else { return false }
            setS(FloatUnit.fusedMultiplyAdd(s(i.rs1), s(i.rs2), s(i.rs3), negateProduct: i.op == .fnmsubS || i.op == .fnmaddS,
                                            negateAddend: i.op == .fmsubS || i.op == .fnmaddS, S, m))
        case .fsgnjS, .fsgnjnS, .fsgnjxS:
            f[rd] = FloatUnit.injectSign(s(i.rs1), s(i.rs2), kind: i.op == .fsgnjS ? 0 : i.op == .fsgnjnS ? 1 : 2, S)
        case .fminS, .fmaxS: setS(FloatUnit.minMax(s(i.rs1), s(i.rs2), max: i.op == .fmaxS, S))
        case .fcvtWS, .fcvtWUS:
            guard let m = rounding() else { return false }
            setX(FloatUnit.toInteger(s(i.rs1), signed: i.op == .fcvtWS, S, m))
        case .fcvtSW, .fcvtSWU:
            guard let m = rounding() else { return false }
            setS(FloatUnit.fromInteger(x[Int(i.rs1)], signed: i.op == .fcvtSW, S, m))
        case .fmvXW: x[rd] = s(i.rs1)
        case .fmvWX: f[rd] = x[Int(i.rs1)]
        case .fclassS: x[rd] = FloatUnit.classify(s(i.rs1), S)
        case .feqS: setX(FloatUnit.compare(s(i.rs1), s(i.rs2), S, equal: true, less: false, signaling: false))
        case .fltS: setX(FloatUnit.compare(s(i.rs1), s(i.rs2), S, equal: false, less: true, signaling: true))
        case .fleS: setX(FloatUnit.compare(s(i.rs1), s(i.rs2), S, equal: true, less: true, signaling: true))
        // Half precision
        case .faddH, .fsubH:
            guard let m = rounding() else { return false }
            setH(FloatUnit.add(h(i.rs1), h(i.rs2), subtract: i.op == .fsubH, H, m))
        case .fmulH:
            guard let m = rounding() else { return false }
            setH(FloatUnit.multiply(h(i.rs1), h(i.rs2), H, m))
        case .fdivH:
            guard let m = rounding() else { return false }
            setH(FloatUnit.divide(h(i.rs1), h(i.rs2), H, m))
        case .fsqrtH:
            guard let m = rounding() else { return false }
            setH(FloatUnit.squareRoot(h(i.rs1), H, m))
        case .fmaddH, .fmsubH, .fnmsubH, .fnmaddH:
            guard let m = rounding() else { return false }
            setH(FloatUnit.fusedMultiplyAdd(h(i.rs1), h(i.rs2), h(i.rs3), negateProduct: i.op == .fnmsubH || i.op == .fnmaddH,
                                            negateAddend: i.op == .fmsubH || i.op == .fnmaddH, H, m))
        case .fsgnjH, .fsgnjnH, .fsgnjxH:
            f[rd] = 0xFFFF_0000 | FloatUnit.injectSign(h(i.rs1), h(i.rs2), kind: i.op == .fsgnjH ? 0 : i.op == .fsgnjnH ? 1 : 2, H)
        case .fminH, .fmaxH: setH(FloatUnit.minMax(h(i.rs1), h(i.rs2), max: i.op == .fmaxH, H))
        case .fcvtWH, .fcvtWUH:
            guard let m = rounding() else { return false }
            setX(FloatUnit.toInteger(h(i.rs1), signed: i.op == .fcvtWH, H, m))
        case .fcvtHW, .fcvtHWU:
            guard let m = rounding() else { return false }
            setH(FloatUnit.fromInteger(x[Int(i.rs1)], signed: i.op == .fcvtHW, H, m))
        case .fcvtSH:
            guard let m = rounding() else { return false }
            setS(FloatUnit.convert(h(i.rs1), from: H, to: S, m))
        case .fcvtHS:
            guard let m = rounding() else { return false }
            setH(FloatUnit.convert(s(i.rs1), from: S, to: H, m))
        case .fmvXH:
            let v = f[Int(i.rs1)] & 0xFFFF
            x[rd] = v & 0x8000 != 0 ? v | 0xFFFF_0000 : v  // sign-extended bits, boxing not checked
        case .fmvHX: f[rd] = 0xFFFF_0000 | (x[Int(i.rs1)] & 0xFFFF)
        case .fclassH: x[rd] = FloatUnit.classify(h(i.rs1), H)
        case .feqH: setX(FloatUnit.compare(h(i.rs1), h(i.rs2), H, equal: true, less: false, signaling: false))
        case .fltH: setX(FloatUnit.compare(h(i.rs1), h(i.rs2), H, equal: false, less: true, signaling: true))
        case .fleH: setX(FloatUnit.compare(h(i.rs1), h(i.rs2), H, equal: true, less: true, signaling: true))
        default:
            return false
        }
        if mstatus[c] & 0x6000 != 0 { mstatus[c] |= 0x6000 }  // FS = dirty
        return true
    }
}
