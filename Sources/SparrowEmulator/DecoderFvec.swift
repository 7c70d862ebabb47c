/// Decoding of the packed-FP16 SIMD extension (`-march` part `xfvec`), modelled on
/// PULP's smallFloat extensions Xfvec (lane-wise operations) and Xfaux (expanding
/// dot products) with FLEN = 32: each FP register holds two binary16 lanes (lane 0
/// in bits 15:0, lane 1 in bits 31:16), not NaN-boxed.
///
/// Encodings are PULP's (as the PULP/GVSoC instruction-set description lists them):
/// major opcode OP (0x33), R-type, funct7 with bit 6 set (no base or M encoding
/// uses that space), funct3 = {R, fmt}: bit 2 = R (`.r`: lane 0 of rs2 replicated
/// to both lanes), bits 1:0 = the lane format (2 = binary16; 0 = binary32 for the
/// expanding dot products, whose destination format is binary32). Only the
/// binary16 forms listed below are implemented; every other word of the space is
/// illegal, as is the whole space when the target lacks `xfvec` (or F).
///
/// | funct7 | funct3 | instruction |
/// |---|---|---|
/// | 0x41 / 0x42 / 0x43 / 0x44 | 2, 6 | vfadd.h / vfsub.h / vfmul.h / vfdiv.h (and .r.h) |
/// | 0x45 / 0x46 | 2, 6 | vfmin.h / vfmax.h |
/// | 0x47, rs2 = 0 | 2 | vfsqrt.h |
/// | 0x48 | 2, 6 | vfmac.h (rd += rs1 · rs2 per lane, fused) |
/// | 0x4D / 0x4E / 0x4F | 2, 6 | vfsgnj.h / vfsgnjn.h / vfsgnjx.h |
/// | 0x50 / 0x51 / 0x52 / 0x53 / 0x54 / 0x55 | 2, 6 | vfeq.h / vfne.h / vflt.h / vfge.h / vfle.h / vfgt.h (rd is an x register) |
/// | 0x58 | 2 | vfcpka.h.s (two binary32 registers to two binary16 lanes) |
/// | 0x4B | 0, 4 | vfdotpex.s.h / vfdotpex.s.r.h |
/// | 0x5D | 0, 4 | vfndotpex.s.h / vfndotpex.s.r.h |
///
/// Reuse of `Instruction` fields: `imm` = 1 for the `.r` forms (else 0); `rm` = 7
/// (there is no rounding-mode field: the dynamic mode `frm` is used).
extension Opcode {
    /// The packed-FP16 operations (executed by `Machine.executeFvec`).
    @inline(__always) var isFvec: Bool { rawValue >= Opcode.vfAddH.rawValue && rawValue <= Opcode.vfNdotpexSH.rawValue }
}

extension Extensions {
    /// `xfvec` among the `-march` parts (optionally with a version such as `xfvec1p0`).
    static func fvec(_ parts: [Substring]) -> Extensions {
        for part in parts where part.hasPrefix("xfvec") {
            if part.dropFirst(5).allSatisfy({ $0.isNumber || $0 == "p" }) { return .xfvec }
        }
        return []
    }
}

/// Decodes an OP (0x33) word whose funct7 has bit 6 set, for a target with `xfvec`.
func decodeFvec(_ w: UInt32, extensions ext: Extensions) -> Instruction {
    guard ext.contains(.xfvec), ext.contains(.f) else { return .illegal }
    let rd = UInt8((w >> 7) & 31), rs1 = UInt8((w >> 15) & 31), rs2 = UInt8((w >> 20) & 31)
    let f3 = (w >> 12) & 7, f7 = w >> 25
    let replicate = f3 & 4 != 0, fmt = f3 & 3
    func r(_ op: Opcode) -> Instruction { Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2, rm: 7, imm: replicate ? 1 : 0) }
    if fmt == 0 {
        // Expanding dot products: binary16 lanes into a binary32 accumulator.
        switch f7 {
        case 0x4B: return r(.vfDotpexSH)
        case 0x5D: return r(.vfNdotpexSH)
        default: return .illegal
        }
    }
    guard fmt == 2 else { return .illegal }
    switch f7 {
    case 0x41: return r(.vfAddH)
    case 0x42: return r(.vfSubH)
    case 0x43: return r(.vfMulH)
    case 0x44: return r(.vfDivH)
    case 0x45: return r(.vfMinH)
    case 0x46: return r(.vfMaxH)
    case 0x47: return rs2 == 0 && !replicate ? r(.vfSqrtH) : .illegal
    case 0x48: return r(.vfMacH)
    case 0x4D: return r(.vfSgnjH)
    case 0x4E: return r(.vfSgnjnH)
    case 0x4F: return r(.vfSgnjxH)
    case 0x50: return r(.vfEqH)
    case 0x51: return r(.vfNeH)
    case 0x52: return r(.vfLtH)
    case 0x53: return r(.vfGeH)
    case 0x54: return r(.vfLeH)
    case 0x55: return r(.vfGtH)
    case 0x58: return replicate ? .illegal : r(.vfCpkaHS)  // funct3 6 is vfcpkb.h.s (FLEN 64 only)
    default: return .illegal
    }
}
