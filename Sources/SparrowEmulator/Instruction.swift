/// One decoded RV32 instruction: what the dispatch loop switches on. Compressed
/// (RVC) instructions decode to the base instruction they expand to, with
/// `length` 2. Decoding happens once per instruction address (`Program`).
struct Instruction: Sendable {
    var op: Opcode
    var rd: UInt8 = 0
    var rs1: UInt8 = 0
    var rs2: UInt8 = 0
    var rs3: UInt8 = 0
    /// Rounding mode field of FP instructions (7 = dynamic: use `frm`).
    var rm: UInt8 = 0
    /// 2 (compressed) or 4.
    var length: UInt8 = 4
    var imm: Int32 = 0
    /// The raw encoding (fault reports, disassembly).
    var raw: UInt32 = 0

    static let illegal = Instruction(op: .illegal)
}

/// Every operation the core executes. `illegal` covers unknown and disabled encodings.
enum Opcode: UInt8, Sendable, CaseIterable {
    case illegal
    // RV32I
    case lui, auipc, jal, jalr
    case beq, bne, blt, bge, bltu, bgeu
    case lb, lh, lw, lbu, lhu, sb, sh, sw
    case addi, slti, sltiu, xori, ori, andi, slli, srli, srai
    case add, sub, sll, slt, sltu, xor, srl, sra, or, and
    case fence, ecall, ebreak, mret, wfi
    // Zicsr
    case csrrw, csrrs, csrrc, csrrwi, csrrsi, csrrci
    // M
    case mul, mulh, mulhsu, mulhu, div, divu, rem, remu
    // F
    case flw, fsw
    case fmaddS, fmsubS, fnmsubS, fnmaddS
    case faddS, fsubS, fmulS, fdivS, fsqrtS
    case fsgnjS, fsgnjnS, fsgnjxS, fminS, fmaxS
    case fcvtWS, fcvtWUS, fcvtSW, fcvtSWU
    case fmvXW, fmvWX, fclassS
    case feqS, fltS, fleS
    // Zfh
    case flh, fsh
    case fmaddH, fmsubH, fnmsubH, fnmaddH
    case faddH, fsubH, fmulH, fdivH, fsqrtH
    case fsgnjH, fsgnjnH, fsgnjxH, fminH, fmaxH
    case fcvtWH, fcvtWUH, fcvtHW, fcvtHWU
    case fcvtSH, fcvtHS
    case fmvXH, fmvHX, fclassH
    case feqH, fltH, fleH
    // CORE-V (CV32E40P v2) custom extensions: decoded in DecoderXcv.swift, executed
    // in ExecuteXcv.swift. Keep `cvAbs` first and `cvPackloB` last (`Opcode.isCoreV`).
    // Xcvalu
    case cvAbs, cvSle, cvSleu, cvMin, cvMinu, cvMax, cvMaxu, cvExths, cvExthz, cvExtbs, cvExtbz
    case cvClip, cvClipu, cvClipr, cvClipur
    case cvAddN, cvSubN, cvAddNR, cvSubNR
    // Xcvmac
    case cvMac, cvMsu, cvMulN, cvMacN
    // Xcvbi
    case cvBeqImm, cvBneImm
    // Xcvmem
    case cvLb, cvLbu, cvLh, cvLhu, cvLw, cvSb, cvSh, cvSw
    // Xcvsimd
    case cvAddH, cvAddB, cvSubH, cvSubB, cvAvgH, cvAvgB, cvAvguH, cvAvguB
    case cvMinH, cvMinB, cvMinuH, cvMinuB, cvMaxH, cvMaxB, cvMaxuH, cvMaxuB
    case cvSrlH, cvSrlB, cvSraH, cvSraB, cvSllH, cvSllB
    case cvOrH, cvOrB, cvXorH, cvXorB, cvAndH, cvAndB, cvAbsH, cvAbsB
    case cvDotupH, cvDotupB, cvDotuspH, cvDotuspB, cvDotspH, cvDotspB
    case cvSdotupH, cvSdotupB, cvSdotuspH, cvSdotuspB, cvSdotspH, cvSdotspB
    case cvExtractH, cvExtractB, cvExtractuH, cvExtractuB, cvInsertH, cvInsertB
    case cvShuffleH, cvShuffleB, cvShuffle2H, cvShuffle2B
    case cvCmpH, cvCmpB
    case cvCplxmulR, cvCplxmulI, cvCplxconj, cvSubrotmj, cvAddDiv, cvSubDiv
    case cvPack, cvPackH, cvPackhiB, cvPackloB
    // MARK: Xfvec (packed FP16 SIMD, PULP smallFloat style): decoded in DecoderFvec.swift,
    // executed in ExecuteFvec.swift. Keep `vfAddH` first and `vfNdotpexSH` last (`Opcode.isFvec`).
    // The enum must stay within UInt8 (228 cases with this block, 256 at most).
    case vfAddH, vfSubH, vfMulH, vfDivH, vfMinH, vfMaxH, vfSqrtH, vfMacH
    case vfSgnjH, vfSgnjnH, vfSgnjxH
    case vfEqH, vfNeH, vfLtH, vfGeH, vfLeH, vfGtH
    case vfCpkaHS, vfDotpexSH, vfNdotpexSH
    // MARK: end of Xfvec
}
