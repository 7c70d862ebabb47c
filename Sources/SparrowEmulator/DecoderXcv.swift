/// Decoding of the CORE-V (CV32E40P v2) custom extensions, as LLVM encodes them:
/// Xcvalu, Xcvmac, Xcvbi, Xcvmem and Xcvsimd in the custom-0..3 major opcodes.
/// An encoding of an extension the target lacks (or an unassigned one) is illegal.
///
/// Reuse of the predecoded `Instruction` fields (the dispatch loop reads `x[rs1]`
/// and `x[rs2]` for every instruction, so `rs1`/`rs2` always hold register numbers):
/// - `rm`: a small mode field.
///   * `cvAddN`/`cvSubN`/`cvAddNR`/`cvSubNR`: bit 0 = unsigned (logical shift), bit 1 = rounding.
///   * `cvMulN`/`cvMacN`: bit 0 = high halves, bit 1 = rounding, bit 2 = unsigned.
///   * `cvLb`...`cvSw`: addressing, 0 = post-increment by `imm`, 1 = post-increment by a
///     register, 2 = register + register (no update).
///   * SIMD: second operand, 0 = vector `rs2`, 1 = `.sc` (low lane of `rs2` replicated),
///     2 = `.sci` (`imm` holds the operand, already replicated to every lane).
/// - `rs3`: `cvSb`/`cvSh`/`cvSw` offset register (instruction bits 11:7, rd's place);
///   `cvBeqImm`/`cvBneImm` the 5-bit compare constant, sign-extended, as a byte bit pattern;
///   `cvCmpH`/`cvCmpB` the predicate (0 eq, 1 ne, 2 gt, 3 ge, 4 lt, 5 le, 6 gtu, 7 geu, 8 ltu, 9 leu).
/// - `imm`: shift amounts (N forms), clip widths, lane indices (extract/insert), branch
///   offsets, post-increments, the `.sci` operands, and the .divN shift (0...3) of the
///   complex operations.
extension Opcode {
    /// The CORE-V operations (executed by `Machine.executeXcv`).
    @inline(__always) var isCoreV: Bool { rawValue >= Opcode.cvAbs.rawValue && rawValue <= Opcode.cvPackloB.rawValue }
}

extension Extensions {
    /// The CORE-V extensions named in `-march` parts (`xcvalu`, optionally with a version such as `xcvalu1p0`).
    static func coreV(_ parts: [Substring]) -> Extensions {
        var e: Extensions = []
        let names: [(String, Extensions)] = [("xcvalu", .xcvalu), ("xcvmac", .xcvmac), ("xcvbi", .xcvbi), ("xcvmem", .xcvmem),
                                             ("xcvsimd", .xcvsimd)]
        for part in parts {
            for (name, flag) in names where part.hasPrefix(name) {
                if part.dropFirst(name.count).allSatisfy({ $0.isNumber || $0 == "p" }) { e.insert(flag) }
            }
        }
        return e
    }
}

@inline(__always) private func field(_ w: UInt32, _ hi: Int, _ lo: Int) -> UInt32 { (w >> UInt32(lo)) & ((1 << UInt32(hi - lo + 1)) - 1) }
@inline(__always) private func sext(_ v: UInt32, bits n: Int) -> Int32 { Int32(bitPattern: v << UInt32(32 - n)) >> Int32(32 - n) }

/// Decodes a 32-bit instruction of major opcode custom-0 (0x0B), custom-1 (0x2B),
/// custom-2 (0x5B) or custom-3 (0x7B).
func decodeXcv(_ w: UInt32, extensions ext: Extensions) -> Instruction {
    let rd = UInt8(field(w, 11, 7)), rs1 = UInt8(field(w, 19, 15)), rs2 = UInt8(field(w, 24, 20))
    let f3 = field(w, 14, 12), f7 = field(w, 31, 25)
    switch w & 0x7F {
    case 0x0B:  // custom-0: post-increment loads (immediate), immediate branches
        switch f3 {
        case 0, 1, 2, 4, 5:
            guard ext.contains(.xcvmem) else { return .illegal }
            let op: Opcode = [.cvLb, .cvLh, .cvLw, .illegal, .cvLbu, .cvLhu][Int(f3)]
            return Instruction(op: op, rd: rd, rs1: rs1, rm: 0, imm: sext(field(w, 31, 20), bits: 12))
        case 6, 7:
            guard ext.contains(.xcvbi) else { return .illegal }
            let offset = sext(field(w, 31, 31) << 12 | field(w, 7, 7) << 11 | field(w, 30, 25) << 5 | field(w, 11, 8) << 1, bits: 13)
            return Instruction(op: f3 == 6 ? .cvBeqImm : .cvBneImm, rs1: rs1,
                               rs3: UInt8(bitPattern: Int8(sext(UInt32(rs2), bits: 5))), imm: offset)
        default:  // 3: cv.elw (Xcvelw), not implemented
            return .illegal
        }
    case 0x2B:  // custom-1: post-increment stores (immediate), register-form memory, ALU and MAC
        if f3 <= 2 {
            guard ext.contains(.xcvmem) else { return .illegal }
            let op: Opcode = [.cvSb, .cvSh, .cvSw][Int(f3)]
            return Instruction(op: op, rs1: rs1, rs2: rs2, rm: 0, imm: sext(f7 << 5 | UInt32(rd), bits: 12))
        }
        guard f3 == 3 else { return .illegal }
        switch f7 {
        case 0x00, 0x01, 0x02, 0x08, 0x09, 0x04, 0x05, 0x06, 0x0C, 0x0D:
            guard ext.contains(.xcvmem) else { return .illegal }
            let op: Opcode = [.cvLb, .cvLh, .cvLw, .illegal, .illegal, .illegal, .illegal, .illegal, .cvLbu, .cvLhu][Int(f7 & 0x0B)]
            return Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2, rm: f7 & 4 == 0 ? 1 : 2)
        case 0x10, 0x11, 0x12, 0x14, 0x15, 0x16:
            guard ext.contains(.xcvmem) else { return .illegal }
            let op: Opcode = [.cvSb, .cvSh, .cvSw][Int(f7 & 3)]
            return Instruction(op: op, rs1: rs1, rs2: rs2, rs3: rd, rm: f7 & 4 == 0 ? 1 : 2)
        case 0x28...0x3B, 0x40...0x47:
            guard ext.contains(.xcvalu) else { return .illegal }
            return decodeXcvAlu(f7: f7, rd: rd, rs1: rs1, rs2: rs2)
        case 0x48, 0x49:
            guard ext.contains(.xcvmac) else { return .illegal }
            return Instruction(op: f7 == 0x48 ? .cvMac : .cvMsu, rd: rd, rs1: rs1, rs2: rs2)
        default:  // 0x18...0x24: Xcvbitmanip, not implemented
            return .illegal
        }
    case 0x5B:  // custom-2: add/sub with normalisation (Xcvalu), 16x16 multiplies (Xcvmac)
        let funct2 = UInt8(field(w, 31, 30)), shift = Int32(field(w, 29, 25))
        switch f3 {
        case 2, 3:
            guard ext.contains(.xcvalu) else { return .illegal }
            // funct2: bit 0 unsigned, bit 1 rounding, the same as `rm`.
            return Instruction(op: f3 == 2 ? .cvAddN : .cvSubN, rd: rd, rs1: rs1, rs2: rs2, rm: funct2, imm: shift)
        case 4, 5, 6, 7:
            guard ext.contains(.xcvmac) else { return .illegal }
            // funct2: bit 0 high halves, bit 1 rounding; funct3 bit 0: unsigned.
            return Instruction(op: f3 >= 6 ? .cvMacN : .cvMulN, rd: rd, rs1: rs1, rs2: rs2, rm: funct2 | UInt8(f3 & 1) << 2, imm: shift)
        default:  // 0, 1: Xcvbitmanip, not implemented
            return .illegal
        }
    case 0x7B:
        guard ext.contains(.xcvsimd) else { return .illegal }
        return decodeXcvSimd(w, rd: rd, rs1: rs1, rs2: rs2, f3: f3)
    default:
        return .illegal
    }
}

/// Xcvalu register forms (custom-1, funct3 3), by funct7.
private func decodeXcvAlu(f7: UInt32, rd: UInt8, rs1: UInt8, rs2: UInt8) -> Instruction {
    func r(_ op: Opcode) -> Instruction { Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2) }
    func unary(_ op: Opcode) -> Instruction { rs2 == 0 ? Instruction(op: op, rd: rd, rs1: rs1) : .illegal }
    switch f7 {
    case 0x28: return unary(.cvAbs)
    case 0x29: return r(.cvSle)
    case 0x2A: return r(.cvSleu)
    case 0x2B: return r(.cvMin)
    case 0x2C: return r(.cvMinu)
    case 0x2D: return r(.cvMax)
    case 0x2E: return r(.cvMaxu)
    case 0x30: return unary(.cvExths)
    case 0x31: return unary(.cvExthz)
    case 0x32: return unary(.cvExtbs)
    case 0x33: return unary(.cvExtbz)
    case 0x38: return Instruction(op: .cvClip, rd: rd, rs1: rs1, imm: Int32(rs2))
    case 0x39: return Instruction(op: .cvClipu, rd: rd, rs1: rs1, imm: Int32(rs2))
    case 0x3A: return r(.cvClipr)
    case 0x3B: return r(.cvClipur)
    case 0x40...0x47:
        // funct7 bit 0 unsigned, bit 1 rounding (as `rm`), bit 2 subtract.
        return Instruction(op: f7 & 4 == 0 ? .cvAddNR : .cvSubNR, rd: rd, rs1: rs1, rs2: rs2, rm: UInt8(f7 & 3))
    default: return .illegal
    }
}

/// Xcvsimd (custom-3): funct5 = bits 31:27, F = bit 26, bit 25 = funct1 (register
/// forms) or imm6[0] (`.sci` forms, imm6[5:1] in bits 24:20), funct3 = mode/width.
private func decodeXcvSimd(_ w: UInt32, rd: UInt8, rs1: UInt8, rs2: UInt8, f3: UInt32) -> Instruction {
    let funct5 = field(w, 31, 27), F = field(w, 26, 26), bit25 = field(w, 25, 25)
    let imm6 = field(w, 24, 20) << 1 | bit25
    let half = f3 & 1 == 0
    /// A binary operation in one of the six forms .h .b .sc.h .sc.b .sci.h .sci.b.
    func binary(_ h: Opcode, _ b: Opcode, signedImm: Bool, mask: UInt32 = 0x3F) -> Instruction {
        let op = half ? h : b
        switch f3 {
        case 0, 1: return bit25 == 0 ? Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2, rm: 0) : .illegal
        case 4, 5: return bit25 == 0 ? Instruction(op: op, rd: rd, rs1: rs1, rs2: rs2, rm: 1) : .illegal
        case 6, 7:
            let v = UInt32(bitPattern: signedImm ? sext(imm6, bits: 6) : Int32(imm6 & mask))
            let replicated = half ? (v & 0xFFFF) &* 0x0001_0001 : (v & 0xFF) &* 0x0101_0101
            return Instruction(op: op, rd: rd, rs1: rs1, rm: 2, imm: Int32(bitPattern: replicated))
        default: return .illegal
        }
    }
    if F == 1 {
        switch funct5 {
        case 0...9:
            var i = binary(.cvCmpH, .cvCmpB, signedImm: funct5 < 6)
            i.rs3 = UInt8(funct5)
            return i
        // Complex (halfword pairs {re, im}): funct3 = 2 x the extra right shift (.div2/.div4/.div8), kept in `imm`.
        case 10:
            guard f3 & 1 == 0 else { return .illegal }
            return Instruction(op: bit25 == 0 ? .cvCplxmulR : .cvCplxmulI, rd: rd, rs1: rs1, rs2: rs2, imm: Int32(f3 >> 1))
        case 11:
            guard f3 == 0, bit25 == 0, rs2 == 0 else { return .illegal }
            return Instruction(op: .cvCplxconj, rd: rd, rs1: rs1)
        case 12:
            guard f3 & 1 == 0, bit25 == 0 else { return .illegal }
            return Instruction(op: .cvSubrotmj, rd: rd, rs1: rs1, rs2: rs2, imm: Int32(f3 >> 1))
        case 13, 14:
            guard f3 & 1 == 0, f3 != 0, bit25 == 0 else { return .illegal }
            return Instruction(op: funct5 == 13 ? .cvAddDiv : .cvSubDiv, rd: rd, rs1: rs1, rs2: rs2, imm: Int32(f3 >> 1))
        default:
            return .illegal
        }
    }
    switch funct5 {
    case 0: return binary(.cvAddH, .cvAddB, signedImm: true)
    case 1: return binary(.cvSubH, .cvSubB, signedImm: true)
    case 2: return binary(.cvAvgH, .cvAvgB, signedImm: true)
    case 3: return binary(.cvAvguH, .cvAvguB, signedImm: false)
    case 4: return binary(.cvMinH, .cvMinB, signedImm: true)
    case 5: return binary(.cvMinuH, .cvMinuB, signedImm: false)
    case 6: return binary(.cvMaxH, .cvMaxB, signedImm: true)
    case 7: return binary(.cvMaxuH, .cvMaxuB, signedImm: false)
    // Shifts use the low 4 (.h) or 3 (.b) bits of each amount.
    case 8: return binary(.cvSrlH, .cvSrlB, signedImm: false, mask: half ? 15 : 7)
    case 9: return binary(.cvSraH, .cvSraB, signedImm: false, mask: half ? 15 : 7)
    case 10: return binary(.cvSllH, .cvSllB, signedImm: false, mask: half ? 15 : 7)
    case 11: return binary(.cvOrH, .cvOrB, signedImm: true)
    case 12: return binary(.cvXorH, .cvXorB, signedImm: true)
    case 13: return binary(.cvAndH, .cvAndB, signedImm: true)
    case 14:
        guard f3 <= 1, bit25 == 0, rs2 == 0 else { return .illegal }
        return Instruction(op: half ? .cvAbsH : .cvAbsB, rd: rd, rs1: rs1)
    case 16: return binary(.cvDotupH, .cvDotupB, signedImm: false)
    case 17: return binary(.cvDotuspH, .cvDotuspB, signedImm: true)
    case 18: return binary(.cvDotspH, .cvDotspB, signedImm: true)
    case 19: return binary(.cvSdotupH, .cvSdotupB, signedImm: false)
    case 20: return binary(.cvSdotuspH, .cvSdotuspB, signedImm: true)
    case 21: return binary(.cvSdotspH, .cvSdotspB, signedImm: true)
    case 23:
        // extract(u)/insert: imm6 (unsigned) selects the lane; only its low 1 (.h) or 2 (.b) bits are used.
        guard f3 <= 5 else { return .illegal }
        let op: Opcode = [.cvExtractH, .cvExtractB, .cvExtractuH, .cvExtractuB, .cvInsertH, .cvInsertB][Int(f3)]
        return Instruction(op: op, rd: rd, rs1: rs1, imm: Int32(imm6 & (half ? 1 : 3)))
    case 24...27:
        // shuffle.h/.b take lane selectors from rs2; the .sci forms become a constant selector vector.
        if funct5 == 24 && f3 <= 1 {
            return bit25 == 0 ? Instruction(op: half ? .cvShuffleH : .cvShuffleB, rd: rd, rs1: rs1, rs2: rs2, rm: 0) : .illegal
        }
        if funct5 == 24 && f3 == 6 {
            return Instruction(op: .cvShuffleH, rd: rd, rs1: rs1, rm: 2, imm: Int32(bitPattern: (imm6 & 1) | (imm6 >> 1 & 1) << 16))
        }
        guard f3 == 7 else { return .illegal }
        // shuffleIk.sci.b: lanes 0..2 from imm6 (2 bits each), lane 3 takes byte k of rs1.
        let sel = (imm6 & 3) | (imm6 >> 2 & 3) << 8 | (imm6 >> 4 & 3) << 16 | (funct5 - 24) << 24
        return Instruction(op: .cvShuffleB, rd: rd, rs1: rs1, rm: 2, imm: Int32(bitPattern: sel))
    case 28:
        guard f3 <= 1, bit25 == 0 else { return .illegal }
        return Instruction(op: half ? .cvShuffle2H : .cvShuffle2B, rd: rd, rs1: rs1, rs2: rs2)
    case 30:
        guard f3 == 0 else { return .illegal }
        return Instruction(op: bit25 == 0 ? .cvPack : .cvPackH, rd: rd, rs1: rs1, rs2: rs2)
    case 31:
        guard f3 == 1 else { return .illegal }
        return Instruction(op: bit25 == 0 ? .cvPackloB : .cvPackhiB, rd: rd, rs1: rs1, rs2: rs2)
    default:
        return .illegal
    }
}
