/// The ISA extensions a core implements (from the target's `-march`); encodings
/// of a disabled extension decode as illegal.
struct Extensions: OptionSet, Hashable, Sendable {
    let rawValue: UInt32
    static let m = Extensions(rawValue: 1 << 0)
    static let f = Extensions(rawValue: 1 << 1)
    static let c = Extensions(rawValue: 1 << 2)
    static let zfh = Extensions(rawValue: 1 << 3)
    // CORE-V custom extensions (see DecoderXcv.swift).
    static let xcvalu = Extensions(rawValue: 1 << 4)
    static let xcvmac = Extensions(rawValue: 1 << 5)
    static let xcvbi = Extensions(rawValue: 1 << 6)
    static let xcvmem = Extensions(rawValue: 1 << 7)
    static let xcvsimd = Extensions(rawValue: 1 << 8)
    // Packed FP16 SIMD, PULP smallFloat style (see DecoderFvec.swift).
    static let xfvec = Extensions(rawValue: 1 << 9)

    /// From a `-march` string such as `rv32imfc_zfh` (I and Zicsr are always there).
    init(march: String) {
        var e: Extensions = []
        let parts = march.lowercased().split(separator: "_")
        let base = parts.first.map { String($0.dropFirst(4)) } ?? ""
        for ch in base {
            switch ch {
            case "m": e.insert(.m)
            case "f": e.insert(.f)
            case "c": e.insert(.c)
            case "g": e.formUnion([.m, .f])
            default: break
            }
        }
        if parts.contains("zfh") { e.insert(.zfh) }
        e.formUnion(Extensions.coreV(parts))
        e.formUnion(Extensions.fvec(parts))
        self = e
    }

    init(rawValue: UInt32) { self.rawValue = rawValue }
}

/// Decodes one instruction from its first 32 bits (a compressed one uses the low 16).
func decode(_ word: UInt32, extensions: Extensions) -> Instruction {
    if word & 3 != 3 {
        guard extensions.contains(.c) else { return Instruction(op: .illegal, length: 2, raw: word & 0xFFFF) }
        var i = decodeCompressed(UInt16(truncatingIfNeeded: word), extensions: extensions)
        i.raw = word & 0xFFFF
        i.length = 2
        return i
    }
    var i = decode32(word, extensions: extensions)
    i.raw = word
    i.length = 4
    return i
}

private func bits(_ w: UInt32, _ hi: Int, _ lo: Int) -> UInt32 { (w >> UInt32(lo)) & ((1 << UInt32(hi - lo + 1)) - 1) }
private func signExtend(_ v: UInt32, bits n: Int) -> Int32 { Int32(bitPattern: v << UInt32(32 - n)) >> Int32(32 - n) }

private func decode32(_ w: UInt32, extensions ext: Extensions) -> Instruction {
    let opcode = w & 0x7F
    let rd = UInt8(bits(w, 11, 7)), rs1 = UInt8(bits(w, 19, 15)), rs2 = UInt8(bits(w, 24, 20)), rs3 = UInt8(bits(w, 31, 27))
    let f3 = bits(w, 14, 12), f7 = bits(w, 31, 25)
    let immI = signExtend(bits(w, 31, 20), bits: 12)
    let immS = signExtend(bits(w, 31, 25) << 5 | bits(w, 11, 7), bits: 12)
    let immB = signExtend(bits(w, 31, 31) << 12 | bits(w, 7, 7) << 11 | bits(w, 30, 25) << 5 | bits(w, 11, 8) << 1, bits: 13)
    let immU = Int32(bitPattern: w & 0xFFFF_F000)
    let immJ = signExtend(bits(w, 31, 31) << 20 | bits(w, 19, 12) << 12 | bits(w, 20, 20) << 11 | bits(w, 30, 21) << 1, bits: 21)
    func r(_ op: Opcode) -> Instruction { Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2) }
    func i(_ op: Opcode, _ imm: Int32 = immI) -> Instruction { Instruction(op: op, rd: rd, rs1: rs1, imm: imm) }
    func fp(_ op: Opcode) -> Instruction { Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2, rs3: rs3, rm: UInt8(f3)) }
    switch opcode {
    case 0x37: return Instruction(op: .lui, rd: rd, imm: immU)
    case 0x17: return Instruction(op: .auipc, rd: rd, imm: immU)
    case 0x6F: return Instruction(op: .jal, rd: rd, imm: immJ)
    case 0x67: return f3 == 0 ? i(.jalr) : .illegal
    case 0x63:
        let ops: [UInt32: Opcode] = [0: .beq, 1: .bne, 4: .blt, 5: .bge, 6: .bltu, 7: .bgeu]
        guard let op = ops[f3] else { return .illegal }
        return Instruction(op: op, rs1: rs1, rs2: rs2, imm: immB)
    case 0x03:
        let ops: [UInt32: Opcode] = [0: .lb, 1: .lh, 2: .lw, 4: .lbu, 5: .lhu]
        return ops[f3].map { i($0) } ?? .illegal
    case 0x23:
        let ops: [UInt32: Opcode] = [0: .sb, 1: .sh, 2: .sw]
        guard let op = ops[f3] else { return .illegal }
        return Instruction(op: op, rs1: rs1, rs2: rs2, imm: immS)
    case 0x13:
        switch f3 {
        case 0: return i(.addi)
        case 2: return i(.slti)
        case 3: return i(.sltiu)
        case 4: return i(.xori)
        case 6: return i(.ori)
        case 7: return i(.andi)
        case 1: return f7 == 0 ? i(.slli, Int32(rs2)) : .illegal
        case 5: return f7 == 0 ? i(.srli, Int32(rs2)) : f7 == 0x20 ? i(.srai, Int32(rs2)) : .illegal
        default: return .illegal
        }
    case 0x33:
        // funct7 bit 6 set: no base or M encoding; PULP's Xfvec space (DecoderFvec.swift).
        if f7 & 0x40 != 0 { return ext.contains(.xfvec) ? decodeFvec(w, extensions: ext) : .illegal }
        switch (f7, f3) {
        case (0, 0): return r(.add)
        case (0x20, 0): return r(.sub)
        case (0, 1): return r(.sll)
        case (0, 2): return r(.slt)
        case (0, 3): return r(.sltu)
        case (0, 4): return r(.xor)
        case (0, 5): return r(.srl)
        case (0x20, 5): return r(.sra)
        case (0, 6): return r(.or)
        case (0, 7): return r(.and)
        case (1, _) where ext.contains(.m):
            return r([Opcode.mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu][Int(f3)])
        default: return .illegal
        }
    case 0x0F: return f3 <= 1 ? Instruction(op: .fence) : .illegal
    case 0x73:
        if f3 == 0 {
            guard rd == 0, rs1 == 0 else { return .illegal }
            switch w >> 20 {
            case 0: return Instruction(op: .ecall)
            case 1: return Instruction(op: .ebreak)
            case 0x302: return Instruction(op: .mret)
            case 0x105: return Instruction(op: .wfi)
            default: return .illegal
            }
        }
        guard f3 != 4 else { return .illegal }
        let ops: [Opcode] = [.illegal, .csrrw, .csrrs, .csrrc, .illegal, .csrrwi, .csrrsi, .csrrci]
        return Instruction(op: ops[Int(f3)], rd: rd, rs1: rs1, imm: Int32(w >> 20))
    case 0x07 where ext.contains(.f):
        if f3 == 2 { return i(.flw) }
        if f3 == 1 && ext.contains(.zfh) { return i(.flh) }
        return .illegal
    case 0x27 where ext.contains(.f):
        if f3 == 2 { return Instruction(op: .fsw, rs1: rs1, rs2: rs2, imm: immS) }
        if f3 == 1 && ext.contains(.zfh) { return Instruction(op: .fsh, rs1: rs1, rs2: rs2, imm: immS) }
        return .illegal
    case 0x43, 0x47, 0x4B, 0x4F:
        guard ext.contains(.f) else { return .illegal }
        let fmt = bits(w, 26, 25)
        let k = Int((opcode - 0x43) / 4)
        if fmt == 0 { return fp([Opcode.fmaddS, .fmsubS, .fnmsubS, .fnmaddS][k]) }
        if fmt == 2 && ext.contains(.zfh) { return fp([Opcode.fmaddH, .fmsubH, .fnmsubH, .fnmaddH][k]) }
        return .illegal
    case 0x53 where ext.contains(.f):
        return decodeOpFP(f7: f7, f3: f3, rs2: rs2, fp: fp, half: ext.contains(.zfh))
    case 0x0B, 0x2B, 0x5B, 0x7B:  // custom-0..3: CORE-V (DecoderXcv.swift)
        return decodeXcv(w, extensions: ext)
    default:
        return .illegal
    }
}

private func decodeOpFP(f7: UInt32, f3: UInt32, rs2: UInt8, fp: (Opcode) -> Instruction, half: Bool) -> Instruction {
    let isHalf = f7 & 3 == 2
    guard f7 & 3 == 0 || (isHalf && half) else { return .illegal }
    let S = !isHalf
    switch f7 & ~3 {
    case 0x00: return fp(S ? .faddS : .faddH)
    case 0x04: return fp(S ? .fsubS : .fsubH)
    case 0x08: return fp(S ? .fmulS : .fmulH)
    case 0x0C: return fp(S ? .fdivS : .fdivH)
    case 0x2C: return rs2 == 0 ? fp(S ? .fsqrtS : .fsqrtH) : .illegal
    case 0x10:
        switch f3 {
        case 0: return fp(S ? .fsgnjS : .fsgnjH)
        case 1: return fp(S ? .fsgnjnS : .fsgnjnH)
        case 2: return fp(S ? .fsgnjxS : .fsgnjxH)
        default: return .illegal
        }
    case 0x14:
        switch f3 {
        case 0: return fp(S ? .fminS : .fminH)
        case 1: return fp(S ? .fmaxS : .fmaxH)
        default: return .illegal
        }
    case 0x60:
        switch rs2 {
        case 0: return fp(S ? .fcvtWS : .fcvtWH)
        case 1: return fp(S ? .fcvtWUS : .fcvtWUH)
        default: return .illegal
        }
    case 0x68:
        switch rs2 {
        case 0: return fp(S ? .fcvtSW : .fcvtHW)
        case 1: return fp(S ? .fcvtSWU : .fcvtHWU)
        default: return .illegal
        }
    case 0x70:
        guard rs2 == 0 else { return .illegal }
        switch f3 {
        case 0: return fp(S ? .fmvXW : .fmvXH)
        case 1: return fp(S ? .fclassS : .fclassH)
        default: return .illegal
        }
    case 0x78:
        return rs2 == 0 && f3 == 0 ? fp(S ? .fmvWX : .fmvHX) : .illegal
    case 0x50:
        switch f3 {
        case 2: return fp(S ? .feqS : .feqH)
        case 1: return fp(S ? .fltS : .fltH)
        case 0: return fp(S ? .fleS : .fleH)
        default: return .illegal
        }
    case 0x20:
        // fcvt.s.h: funct7 0x20 (destination S), rs2 = 2 (source H); fcvt.h.s: funct7 0x22, rs2 = 0.
        if S && rs2 == 2 && half { return fp(.fcvtSH) }
        if isHalf && rs2 == 0 { return fp(.fcvtHS) }
        return .illegal
    default:
        return .illegal
    }
}

private func decodeCompressed(_ h: UInt16, extensions ext: Extensions) -> Instruction {
    let w = UInt32(h)
    let quadrant = w & 3, f3 = bits(w, 15, 13)
    let rdp = UInt8(bits(w, 4, 2) + 8), rs1p = UInt8(bits(w, 9, 7) + 8)
    let rd = UInt8(bits(w, 11, 7)), rs2 = UInt8(bits(w, 6, 2))
    let ciImm = signExtend(bits(w, 12, 12) << 5 | bits(w, 6, 2), bits: 6)
    let cjImm = signExtend(bits(w, 12, 12) << 11 | bits(w, 11, 11) << 4 | bits(w, 10, 9) << 8 | bits(w, 8, 8) << 10
                           | bits(w, 7, 7) << 6 | bits(w, 6, 6) << 7 | bits(w, 5, 3) << 1 | bits(w, 2, 2) << 5, bits: 12)
    let cbImm = signExtend(bits(w, 12, 12) << 8 | bits(w, 11, 10) << 3 | bits(w, 6, 5) << 6 | bits(w, 4, 3) << 1 | bits(w, 2, 2) << 5,
                           bits: 9)
    let clImm = Int32(bits(w, 12, 10) << 3 | bits(w, 6, 6) << 2 | bits(w, 5, 5) << 6)
    guard h != 0 else { return .illegal }  // the all-zero halfword is defined illegal
    switch (quadrant, f3) {
    case (0, 0):
        let imm = Int32(bits(w, 12, 11) << 4 | bits(w, 10, 7) << 6 | bits(w, 6, 6) << 2 | bits(w, 5, 5) << 3)
        return imm == 0 ? .illegal : Instruction(op: .addi, rd: rdp, rs1: 2, imm: imm)
    case (0, 2): return Instruction(op: .lw, rd: rdp, rs1: rs1p, imm: clImm)
    case (0, 3): return ext.contains(.f) ? Instruction(op: .flw, rd: rdp, rs1: rs1p, imm: clImm) : .illegal
    case (0, 6): return Instruction(op: .sw, rs1: rs1p, rs2: rdp, imm: clImm)
    case (0, 7): return ext.contains(.f) ? Instruction(op: .fsw, rs1: rs1p, rs2: rdp, imm: clImm) : .illegal
    case (1, 0): return Instruction(op: .addi, rd: rd, rs1: rd, imm: ciImm)
    case (1, 1): return Instruction(op: .jal, rd: 1, imm: cjImm)
    case (1, 2): return Instruction(op: .addi, rd: rd, rs1: 0, imm: ciImm)
    case (1, 3):
        if rd == 2 {
            let imm = signExtend(bits(w, 12, 12) << 9 | bits(w, 6, 6) << 4 | bits(w, 5, 5) << 6 | bits(w, 4, 3) << 7 | bits(w, 2, 2) << 5, bits: 10)
            return imm == 0 ? .illegal : Instruction(op: .addi, rd: 2, rs1: 2, imm: imm)
        }
        let imm = signExtend(bits(w, 12, 12) << 17 | bits(w, 6, 2) << 12, bits: 18)
        return imm == 0 ? .illegal : Instruction(op: .lui, rd: rd, imm: imm)
    case (1, 4):
        switch bits(w, 11, 10) {
        case 0: return bits(w, 12, 12) == 0 ? Instruction(op: .srli, rd: rs1p, rs1: rs1p, imm: Int32(bits(w, 6, 2))) : .illegal
        case 1: return bits(w, 12, 12) == 0 ? Instruction(op: .srai, rd: rs1p, rs1: rs1p, imm: Int32(bits(w, 6, 2))) : .illegal
        case 2: return Instruction(op: .andi, rd: rs1p, rs1: rs1p, imm: ciImm)
        default:
            guard bits(w, 12, 12) == 0 else { return .illegal }
            let op = [Opcode.sub, .xor, .or, .and][Int(bits(w, 6, 5))]
            return Instruction(op: op, rd: rs1p, rs1: rs1p, rs2: rdp)
        }
    case (1, 5): return Instruction(op: .jal, rd: 0, imm: cjImm)
    case (1, 6): return Instruction(op: .beq, rs1: rs1p, rs2: 0, imm: cbImm)
    case (1, 7): return Instruction(op: .bne, rs1: rs1p, rs2: 0, imm: cbImm)
    case (2, 0): return bits(w, 12, 12) == 0 ? Instruction(op: .slli, rd: rd, rs1: rd, imm: Int32(bits(w, 6, 2))) : .illegal
    case (2, 2):
        let imm = Int32(bits(w, 12, 12) << 5 | bits(w, 6, 4) << 2 | bits(w, 3, 2) << 6)
        return rd == 0 ? .illegal : Instruction(op: .lw, rd: rd, rs1: 2, imm: imm)
    case (2, 3):
        let imm = Int32(bits(w, 12, 12) << 5 | bits(w, 6, 4) << 2 | bits(w, 3, 2) << 6)
        return ext.contains(.f) ? Instruction(op: .flw, rd: rd, rs1: 2, imm: imm) : .illegal
    case (2, 4):
        if bits(w, 12, 12) == 0 {
            if rs2 == 0 { return rd == 0 ? .illegal : Instruction(op: .jalr, rd: 0, rs1: rd, imm: 0) }
            return Instruction(op: .add, rd: rd, rs1: 0, rs2: rs2)
        }
        if rd == 0 && rs2 == 0 { return Instruction(op: .ebreak) }
        if rs2 == 0 { return Instruction(op: .jalr, rd: 1, rs1: rd, imm: 0) }
        return Instruction(op: .add, rd: rd, rs1: rd, rs2: rs2)
    case (2, 6):
        return Instruction(op: .sw, rs1: 2, rs2: rs2, imm: Int32(bits(w, 12, 9) << 2 | bits(w, 8, 7) << 6))
    case (2, 7):
        return ext.contains(.f) ? Instruction(op: .fsw, rs1: 2, rs2: rs2, imm: Int32(bits(w, 12, 9) << 2 | bits(w, 8, 7) << 6)) : .illegal
    default:
        return .illegal
    }
}
