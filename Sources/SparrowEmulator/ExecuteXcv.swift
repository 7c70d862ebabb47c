/// Execution of the CORE-V (CV32E40P v2) custom instructions decoded by
/// DecoderXcv.swift (see there for how `Instruction` fields are reused).
/// Semantics follow the CV32E40P user manual and RTL: all arithmetic wraps at
/// the width of its result (32 bits, or the lane for SIMD), shifts of the N forms
/// use 5-bit amounts, and SIMD shift amounts use the low 4 (.h) or 3 (.b) bits.
extension Machine {
    /// Executes one CORE-V instruction on core `c`. Returns nil when it retired
    /// normally (`next` may have been redirected by a branch), or how the run stops:
    /// a fault (with `self.pc[c]` at the instruction), `.waiting` (a stalled
    /// platform read, not retired) or `.exited` (a store to the exit register: the
    /// caller retires it).
    func executeXcv(_ i: Instruction, core c: Int, x: UnsafeMutablePointer<UInt32>, pc: UInt32, next: inout UInt32) -> Outcome? {
        let a = x[Int(i.rs1)], b = x[Int(i.rs2)]
        let rd = Int(i.rd)
        switch i.op {
        // MARK: Xcvalu
        case .cvAbs: x[rd] = Int32(bitPattern: a) < 0 ? 0 &- a : a
        case .cvSle: x[rd] = Int32(bitPattern: a) <= Int32(bitPattern: b) ? 1 : 0
        case .cvSleu: x[rd] = a <= b ? 1 : 0
        case .cvMin: x[rd] = Int32(bitPattern: a) < Int32(bitPattern: b) ? a : b
        case .cvMinu: x[rd] = min(a, b)
        case .cvMax: x[rd] = Int32(bitPattern: a) > Int32(bitPattern: b) ? a : b
        case .cvMaxu: x[rd] = max(a, b)
        case .cvExths: x[rd] = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: a)))
        case .cvExthz: x[rd] = a & 0xFFFF
        case .cvExtbs: x[rd] = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: a)))
        case .cvExtbz: x[rd] = a & 0xFF
        case .cvClip, .cvClipu:
            // Bounds -2^(n-1) and 2^(n-1)-1; n = 0 behaves as -1 and 0.
            let n = i.imm
            let hi: Int32 = n == 0 ? 0 : (Int32(1) << (n - 1)) &- 1
            x[rd] = UInt32(bitPattern: clip(Int32(bitPattern: a), low: i.op == .cvClip ? -1 &- hi : 0, high: hi))
        case .cvClipr, .cvClipur:
            let hi = Int32(bitPattern: b & 0x7FFF_FFFF)
            x[rd] = UInt32(bitPattern: clip(Int32(bitPattern: a), low: i.op == .cvClipr ? -1 &- hi : 0, high: hi))
        case .cvAddN, .cvSubN:
            x[rd] = normalise(i.op == .cvAddN ? a &+ b : a &- b, shift: UInt32(i.imm), mode: i.rm)
        case .cvAddNR, .cvSubNR:
            let acc = x[rd]
            x[rd] = normalise(i.op == .cvAddNR ? acc &+ a : acc &- a, shift: b & 31, mode: i.rm)
        // MARK: Xcvmac
        case .cvMac: x[rd] = x[rd] &+ a &* b
        case .cvMsu: x[rd] = x[rd] &- a &* b
        case .cvMulN, .cvMacN:
            // 16x16 product of the low (or high) halves, plus rd for mac, plus the
            // rounding constant, wrapped to 32 bits, then shifted (arithmetic if signed).
            let high = i.rm & 1 != 0, round = i.rm & 2 != 0, unsigned = i.rm & 4 != 0
            let ha = high ? a >> 16 : a & 0xFFFF, hb = high ? b >> 16 : b & 0xFFFF
            let product = unsigned ? ha &* hb : UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: ha)) &* Int32(Int16(truncatingIfNeeded: hb)))
            let shift = UInt32(i.imm)
            var sum = product &+ (i.op == .cvMacN ? x[rd] : 0)
            if round { sum = sum &+ ((1 << shift) >> 1) }
            x[rd] = unsigned ? sum >> shift : UInt32(bitPattern: Int32(bitPattern: sum) >> Int32(shift))
        // MARK: Xcvbi
        case .cvBeqImm: if a == UInt32(bitPattern: Int32(Int8(bitPattern: i.rs3))) { next = pc &+ UInt32(bitPattern: i.imm) }
        case .cvBneImm: if a != UInt32(bitPattern: Int32(Int8(bitPattern: i.rs3))) { next = pc &+ UInt32(bitPattern: i.imm) }
        // MARK: Xcvmem
        case .cvLb, .cvLbu, .cvLh, .cvLhu, .cvLw:
            let n: UInt32 = i.op == .cvLw ? 4 : (i.op == .cvLh || i.op == .cvLhu) ? 2 : 1
            let address = i.rm == 2 ? a &+ b : a
            let (raw, stop) = xcvLoad(address, n, core: c, pc: pc, i)
            if let stop { return stop }
            let value: UInt32
            switch i.op {
            case .cvLb: value = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: raw)))
            case .cvLh: value = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: raw)))
            default: value = raw
            }
            // Base update first: with rd == rs1 the loaded value wins.
            if i.rm == 0 { x[Int(i.rs1)] = a &+ UInt32(bitPattern: i.imm) } else if i.rm == 1 { x[Int(i.rs1)] = a &+ b }
            x[rd] = value
        case .cvSb, .cvSh, .cvSw:
            let n: UInt32 = i.op == .cvSw ? 4 : i.op == .cvSh ? 2 : 1
            let offset = x[Int(i.rs3)]
            let stop = xcvStore(i.rm == 2 ? a &+ offset : a, n, b, core: c, pc: pc, i)
            if let stop, case .fault = stop { return stop }
            if i.rm == 0 { x[Int(i.rs1)] = a &+ UInt32(bitPattern: i.imm) } else if i.rm == 1 { x[Int(i.rs1)] = a &+ offset }
            if let stop { return stop }
        default:
            return executeXcvSimd(i, core: c, x: x, pc: pc, a: a, b: b)
        }
        return nil
    }

    @inline(__always) private func clip(_ v: Int32, low: Int32, high: Int32) -> Int32 { v <= low ? low : v >= high ? high : v }

    /// The N forms: optional rounding constant 2^(shift-1), then an arithmetic
    /// (signed, `mode` bit 0 clear) or logical shift. All in 32-bit wrapping arithmetic.
    @inline(__always) private func normalise(_ v: UInt32, shift: UInt32, mode: UInt8) -> UInt32 {
        let r = mode & 2 != 0 ? v &+ ((1 << shift) >> 1) : v
        return mode & 1 != 0 ? r >> shift : UInt32(bitPattern: Int32(bitPattern: r) >> Int32(shift))
    }

    /// A load of `n` bytes with the same checks as the base loads: alignment, memory
    /// regions, the watcher, and word-sized platform registers. Returns the raw
    /// (zero-extended) value, or how the run stops.
    private func xcvLoad(_ address: UInt32, _ n: UInt32, core c: Int, pc: UInt32, _ i: Instruction) -> (UInt32, Outcome?) {
        if address & (n - 1) != 0 {
            self.pc[c] = pc
            return (0, .fault(fault(.misaligned, core: c, instruction: i, address: address)))
        }
        if let (p, _) = host(address, n) {
            if let w = watcher, address &- w.base < w.size, let why = w.loaded(offset: Int(address &- w.base), count: Int(n), step: step) {
                self.pc[c] = pc
                return (0, .fault(fault(.planViolation(why), core: c, instruction: i, address: address)))
            }
            switch n {
            case 1: return (UInt32(p.load(as: UInt8.self)), nil)
            case 2: return (UInt32(p.load(as: UInt16.self)), nil)
            default: return (p.load(as: UInt32.self), nil)
            }
        }
        if address &- peripherals < Machine.peripheralBytes, n == 4, let r = platformLoad(address &- peripherals, core: c) {
            switch r {
            case .value(let v): return (v, nil)
            case .stall:
                self.pc[c] = pc
                return (0, .waiting)
            }
        }
        self.pc[c] = pc
        return (0, .fault(fault(.outOfBounds, core: c, instruction: i, address: address)))
    }

    /// A store of the low `n` bytes of `value` with the same checks as the base
    /// stores. Returns nil, a fault, or `.exited` after a write to the exit register.
    private func xcvStore(_ address: UInt32, _ n: UInt32, _ value: UInt32, core c: Int, pc: UInt32, _ i: Instruction) -> Outcome? {
        if address & (n - 1) != 0 {
            self.pc[c] = pc
            return .fault(fault(.misaligned, core: c, instruction: i, address: address))
        }
        if let (p, writable) = host(address, n) {
            guard writable else {
                self.pc[c] = pc
                return .fault(fault(.writeToFlash, core: c, instruction: i, address: address))
            }
            if let w = watcher, address &- w.base < w.size { w.stored(offset: Int(address &- w.base), count: Int(n), step: step) }
            switch n {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), as: UInt16.self)
            default: p.storeBytes(of: value, as: UInt32.self)
            }
            return nil
        }
        if address &- peripherals < Machine.peripheralBytes, n == 4, platformStore(address &- peripherals, value, core: c) {
            return exitCode != nil ? .exited : nil
        }
        self.pc[c] = pc
        return .fault(fault(.outOfBounds, core: c, instruction: i, address: address))
    }
}

// MARK: - Xcvsimd

/// Lane helpers: lane `k` of a packed register as a signed or unsigned value.
@inline(__always) private func h(_ v: UInt32, _ k: UInt32) -> Int32 { Int32(Int16(truncatingIfNeeded: v >> (16 * k))) }
@inline(__always) private func hu(_ v: UInt32, _ k: UInt32) -> Int32 { Int32(v >> (16 * k) & 0xFFFF) }
@inline(__always) private func b8(_ v: UInt32, _ k: UInt32) -> Int32 { Int32(Int8(truncatingIfNeeded: v >> (8 * k))) }
@inline(__always) private func bu(_ v: UInt32, _ k: UInt32) -> Int32 { Int32(v >> (8 * k) & 0xFF) }

/// Applies `f` lane by lane (2 halfword or 4 byte lanes); `f` gets the lane values
/// (as `get` extracts them) and returns the lane's bits (truncated to the lane).
@inline(__always) private func lanesH(_ a: UInt32, _ b: UInt32, _ get: (UInt32, UInt32) -> Int32, _ f: (Int32, Int32) -> Int32) -> UInt32 {
    UInt32(bitPattern: f(get(a, 0), get(b, 0))) & 0xFFFF | (UInt32(bitPattern: f(get(a, 1), get(b, 1))) & 0xFFFF) << 16
}
@inline(__always) private func lanesB(_ a: UInt32, _ b: UInt32, _ get: (UInt32, UInt32) -> Int32, _ f: (Int32, Int32) -> Int32) -> UInt32 {
    UInt32(bitPattern: f(get(a, 0), get(b, 0))) & 0xFF | (UInt32(bitPattern: f(get(a, 1), get(b, 1))) & 0xFF) << 8
        | (UInt32(bitPattern: f(get(a, 2), get(b, 2))) & 0xFF) << 16 | (UInt32(bitPattern: f(get(a, 3), get(b, 3))) & 0xFF) << 24
}

extension Machine {
    /// Xcvsimd; `a` = x[rs1], `b` = x[rs2] as read by the caller.
    fileprivate func executeXcvSimd(_ i: Instruction, core c: Int, x: UnsafeMutablePointer<UInt32>, pc: UInt32, a: UInt32, b rs2: UInt32) -> Outcome? {
        let rd = Int(i.rd)
        let isHalf: Bool
        switch i.op {
        case .cvAddH, .cvSubH, .cvAvgH, .cvAvguH, .cvMinH, .cvMinuH, .cvMaxH, .cvMaxuH, .cvSrlH, .cvSraH, .cvSllH, .cvOrH, .cvXorH, .cvAndH,
             .cvDotupH, .cvDotuspH, .cvDotspH, .cvSdotupH, .cvSdotuspH, .cvSdotspH, .cvShuffleH, .cvCmpH:
            isHalf = true
        default:
            isHalf = false
        }
        // The second operand: vector, replicated scalar (.sc) or replicated immediate (.sci).
        let b: UInt32
        switch i.rm {
        case 0: b = rs2
        case 1: b = isHalf ? (rs2 & 0xFFFF) &* 0x0001_0001 : (rs2 & 0xFF) &* 0x0101_0101
        default: b = UInt32(bitPattern: i.imm)
        }
        switch i.op {
        case .cvAddH: x[rd] = lanesH(a, b, hu) { $0 &+ $1 }
        case .cvAddB: x[rd] = lanesB(a, b, bu) { $0 &+ $1 }
        case .cvSubH: x[rd] = lanesH(a, b, hu) { $0 &- $1 }
        case .cvSubB: x[rd] = lanesB(a, b, bu) { $0 &- $1 }
        // avg: the lane sum wraps to the lane width before the 1-bit shift (as the RTL).
        case .cvAvgH: x[rd] = lanesH(a, b, hu) { Int32(Int16(truncatingIfNeeded: $0 &+ $1)) >> 1 }
        case .cvAvgB: x[rd] = lanesB(a, b, bu) { Int32(Int8(truncatingIfNeeded: $0 &+ $1)) >> 1 }
        case .cvAvguH: x[rd] = lanesH(a, b, hu) { (($0 &+ $1) & 0xFFFF) >> 1 }
        case .cvAvguB: x[rd] = lanesB(a, b, bu) { (($0 &+ $1) & 0xFF) >> 1 }
        case .cvMinH: x[rd] = lanesH(a, b, h) { min($0, $1) }
        case .cvMinB: x[rd] = lanesB(a, b, b8) { min($0, $1) }
        case .cvMinuH: x[rd] = lanesH(a, b, hu) { min($0, $1) }
        case .cvMinuB: x[rd] = lanesB(a, b, bu) { min($0, $1) }
        case .cvMaxH: x[rd] = lanesH(a, b, h) { max($0, $1) }
        case .cvMaxB: x[rd] = lanesB(a, b, b8) { max($0, $1) }
        case .cvMaxuH: x[rd] = lanesH(a, b, hu) { max($0, $1) }
        case .cvMaxuB: x[rd] = lanesB(a, b, bu) { max($0, $1) }
        case .cvSrlH: x[rd] = lanesH(a, b, hu) { $0 >> ($1 & 15) }
        case .cvSrlB: x[rd] = lanesB(a, b, bu) { $0 >> ($1 & 7) }
        case .cvSraH: x[rd] = lanesH(a, b, h) { $0 >> ($1 & 15) }
        case .cvSraB: x[rd] = lanesB(a, b, b8) { $0 >> ($1 & 7) }
        case .cvSllH: x[rd] = lanesH(a, b, hu) { $0 << ($1 & 15) }
        case .cvSllB: x[rd] = lanesB(a, b, bu) { $0 << ($1 & 7) }
        case .cvOrH, .cvOrB: x[rd] = a | b
        case .cvXorH, .cvXorB: x[rd] = a ^ b
        case .cvAndH, .cvAndB: x[rd] = a & b
        case .cvAbsH: x[rd] = lanesH(a, 0, h) { v, _ in v < 0 ? -v : v }
        case .cvAbsB: x[rd] = lanesB(a, 0, b8) { v, _ in v < 0 ? -v : v }
        // Dot products: rs1 lanes unsigned for up/usp, signed for sp; second operand
        // unsigned for up, signed otherwise. The sum wraps to 32 bits.
        case .cvDotupH, .cvDotuspH, .cvDotspH, .cvSdotupH, .cvSdotuspH, .cvSdotspH:
            let sa = i.op == .cvDotspH || i.op == .cvSdotspH, sb = !(i.op == .cvDotupH || i.op == .cvSdotupH)
            let acc = (i.op == .cvSdotupH || i.op == .cvSdotuspH || i.op == .cvSdotspH) ? x[rd] : 0
            let p0 = Int64(sa ? h(a, 0) : hu(a, 0)) * Int64(sb ? h(b, 0) : hu(b, 0))
            let p1 = Int64(sa ? h(a, 1) : hu(a, 1)) * Int64(sb ? h(b, 1) : hu(b, 1))
            x[rd] = acc &+ UInt32(truncatingIfNeeded: p0 &+ p1)
        case .cvDotspB, .cvSdotspB:
            let acc = i.op == .cvSdotspB ? x[rd] : 0
            let s = b8(a, 0) * b8(b, 0) + b8(a, 1) * b8(b, 1) + b8(a, 2) * b8(b, 2) + b8(a, 3) * b8(b, 3)
            x[rd] = acc &+ UInt32(bitPattern: s)
        case .cvDotupB, .cvSdotupB:
            let acc = i.op == .cvSdotupB ? x[rd] : 0
            let s = bu(a, 0) * bu(b, 0) + bu(a, 1) * bu(b, 1) + bu(a, 2) * bu(b, 2) + bu(a, 3) * bu(b, 3)
            x[rd] = acc &+ UInt32(bitPattern: s)
        case .cvDotuspB, .cvSdotuspB:
            let acc = i.op == .cvSdotuspB ? x[rd] : 0
            let s = bu(a, 0) * b8(b, 0) + bu(a, 1) * b8(b, 1) + bu(a, 2) * b8(b, 2) + bu(a, 3) * b8(b, 3)
            x[rd] = acc &+ UInt32(bitPattern: s)
        case .cvExtractH: x[rd] = UInt32(bitPattern: h(a, UInt32(i.imm)))
        case .cvExtractB: x[rd] = UInt32(bitPattern: b8(a, UInt32(i.imm)))
        case .cvExtractuH: x[rd] = UInt32(bitPattern: hu(a, UInt32(i.imm)))
        case .cvExtractuB: x[rd] = UInt32(bitPattern: bu(a, UInt32(i.imm)))
        case .cvInsertH:
            let s = 16 * UInt32(i.imm)
            x[rd] = x[rd] & ~(0xFFFF << s) | (a & 0xFFFF) << s
        case .cvInsertB:
            let s = 8 * UInt32(i.imm)
            x[rd] = x[rd] & ~(0xFF << s) | (a & 0xFF) << s
        case .cvShuffleH: x[rd] = lanesH(a, b, hu) { _, sel in hu(a, UInt32(sel & 1)) }
        case .cvShuffleB: x[rd] = lanesB(a, b, bu) { _, sel in bu(a, UInt32(sel & 3)) }
        case .cvShuffle2H:
            let old = x[rd]
            x[rd] = lanesH(a, b, hu) { _, sel in hu(sel & 2 != 0 ? a : old, UInt32(sel & 1)) }
        case .cvShuffle2B:
            let old = x[rd]
            x[rd] = lanesB(a, b, bu) { _, sel in bu(sel & 4 != 0 ? a : old, UInt32(sel & 3)) }
        case .cvCmpH:
            let p = i.rs3
            x[rd] = lanesH(a, b, p >= 6 ? hu : h) { compare($0, $1, p) ? -1 : 0 }
        case .cvCmpB:
            let p = i.rs3
            x[rd] = lanesB(a, b, p >= 6 ? bu : b8) { compare($0, $1, p) ? -1 : 0 }
        // Complex numbers {re = lane 0, im = lane 1}, Q15: products summed in 32 bits,
        // then bits 31:15 shifted right arithmetically by the .divN amount.
        case .cvCplxmulR:
            let re = h(a, 0) &* h(rs2, 0) &- h(a, 1) &* h(rs2, 1)
            x[rd] = x[rd] & 0xFFFF_0000 | UInt32(bitPattern: re >> (15 + i.imm)) & 0xFFFF
        case .cvCplxmulI:
            let im = h(a, 0) &* h(rs2, 1) &+ h(a, 1) &* h(rs2, 0)
            x[rd] = x[rd] & 0x0000_FFFF | (UInt32(bitPattern: im >> (15 + i.imm)) & 0xFFFF) << 16
        case .cvCplxconj: x[rd] = a & 0xFFFF | (0 &- (a >> 16)) << 16
        case .cvSubrotmj:
            // (a - b) * -j: re = a.im - b.im, im = b.re - a.re; lane-wrapped, then shifted.
            let re = Int32(Int16(truncatingIfNeeded: h(a, 1) &- h(rs2, 1))) >> i.imm
            let im = Int32(Int16(truncatingIfNeeded: h(rs2, 0) &- h(a, 0))) >> i.imm
            x[rd] = UInt32(bitPattern: re) & 0xFFFF | (UInt32(bitPattern: im) & 0xFFFF) << 16
        case .cvAddDiv: x[rd] = lanesH(a, rs2, h) { Int32(Int16(truncatingIfNeeded: $0 &+ $1)) >> i.imm }
        case .cvSubDiv: x[rd] = lanesH(a, rs2, h) { Int32(Int16(truncatingIfNeeded: $0 &- $1)) >> i.imm }
        case .cvPack: x[rd] = (a & 0xFFFF) << 16 | b & 0xFFFF
        case .cvPackH: x[rd] = a & 0xFFFF_0000 | b >> 16
        case .cvPackhiB: x[rd] = x[rd] & 0x0000_FFFF | (a & 0xFF) << 24 | (b & 0xFF) << 16
        case .cvPackloB: x[rd] = x[rd] & 0xFFFF_0000 | (a & 0xFF) << 8 | b & 0xFF
        default:
            self.pc[c] = pc
            return .fault(fault(.illegalInstruction, core: c, instruction: i))
        }
        return nil
    }
}

/// The SIMD comparison predicates (lanes already extracted signed or unsigned).
@inline(__always) private func compare(_ a: Int32, _ b: Int32, _ p: UInt8) -> Bool {
    switch p {
    case 0: return a == b
    case 1: return a != b
    case 2, 6: return a > b
    case 3, 7: return a >= b
    case 4, 8: return a < b
    default: return a <= b
    }
}
