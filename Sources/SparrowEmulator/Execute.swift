extension Machine {
    /// How a core's run of instructions ended.
    enum Outcome {
        /// Its clock reached the cycle it ran until.
        case budget
        /// Executed `wfi` (parked until a fork), or stalls on a join.
        case waiting
        /// The program wrote the exit register.
        case exited
        case fault(EmulatorFault)
    }

    /// Runs `core` until its clock reaches cycle `until` (or it waits, exits or faults).
    func run(core c: Int, until: UInt64) -> Outcome {
        let x = self.x + c * 32, f = self.f + c * 32
        var pc = self.pc[c]
        defer { self.pc[c] = pc }
        let flashBase = self.flashBase, flashSize = self.flashSize
        let clock = count + c * Counter.stride
        while clock.pointee < until {
            let offset = pc &- flashBase
            guard offset < flashSize, offset & 1 == 0 else {
                self.pc[c] = pc
                return .fault(fault(.fetchOutsideFlash, core: c, instruction: .illegal))
            }
            let slot = Int(offset >> 1)
            if !decodedFlags[slot] {
                let word = UInt32(flash.load(fromByteOffset: Int(offset), as: UInt16.self))
                    | (offset + 2 < flashSize ? UInt32(flash.load(fromByteOffset: Int(offset) + 2, as: UInt16.self)) << 16 : 0)
                program[slot] = decode(word, extensions: extensions)
                decodedFlags[slot] = true
            }
            let i = program[slot]
            var next = pc &+ UInt32(i.length)
            let rs1 = x[Int(i.rs1)], rs2 = x[Int(i.rs2)]
            let rd = Int(i.rd)
            switch i.op {
            case .illegal:
                self.pc[c] = pc
                return .fault(fault(.illegalInstruction, core: c, instruction: i))
            case .lui: x[rd] = UInt32(bitPattern: i.imm)
            case .auipc: x[rd] = pc &+ UInt32(bitPattern: i.imm)
            case .jal:
                x[rd] = next
                next = pc &+ UInt32(bitPattern: i.imm)
            case .jalr:
                let target = (rs1 &+ UInt32(bitPattern: i.imm)) & ~1
                x[rd] = next
                next = target
            case .beq: if rs1 == rs2 { next = pc &+ UInt32(bitPattern: i.imm) }
            case .bne: if rs1 != rs2 { next = pc &+ UInt32(bitPattern: i.imm) }
            case .blt: if Int32(bitPattern: rs1) < Int32(bitPattern: rs2) { next = pc &+ UInt32(bitPattern: i.imm) }
            case .bge: if Int32(bitPattern: rs1) >= Int32(bitPattern: rs2) { next = pc &+ UInt32(bitPattern: i.imm) }
            case .bltu: if rs1 < rs2 { next = pc &+ UInt32(bitPattern: i.imm) }
            case .bgeu: if rs1 >= rs2 { next = pc &+ UInt32(bitPattern: i.imm) }
            case .lb, .lh, .lw, .lbu, .lhu, .flw, .flh:
                let a = rs1 &+ UInt32(bitPattern: i.imm)
                let n: UInt32 = (i.op == .lw || i.op == .flw) ? 4 : (i.op == .lh || i.op == .lhu || i.op == .flh) ? 2 : 1
                if a & (n - 1) != 0 { self.pc[c] = pc; return .fault(fault(.misaligned, core: c, instruction: i, address: a)) }
                let value: UInt32
                if let (p, _) = host(a, n) {
                    if let w = watcher, a &- w.base < w.size, let why = w.loaded(offset: Int(a &- w.base), count: Int(n), step: step) {
                        self.pc[c] = pc
                        return .fault(fault(.planViolation(why), core: c, instruction: i, address: a))
                    }
                    switch i.op {
                    case .lb: value = UInt32(bitPattern: Int32(p.load(as: Int8.self)))
                    case .lbu: value = UInt32(p.load(as: UInt8.self))
                    case .lh: value = UInt32(bitPattern: Int32(p.load(as: Int16.self)))
                    case .lhu, .flh: value = UInt32(p.load(as: UInt16.self))
                    default: value = p.load(as: UInt32.self)
                    }
                } else if a &- peripherals < Machine.peripheralBytes, n == 4, let r = platformLoad(a &- peripherals, core: c) {
                    switch r {
                    case .value(let v): value = v
                    case .stall:
                        self.pc[c] = pc
                        return .waiting
                    }
                } else {
                    self.pc[c] = pc
                    return .fault(fault(.outOfBounds, core: c, instruction: i, address: a))
                }
                switch i.op {
                case .flw: guard fpEnabled(c) else { return illegal(c, pc, i) }; f[rd] = value
                case .flh: guard fpEnabled(c) else { return illegal(c, pc, i) }; f[rd] = 0xFFFF_0000 | value
                default: x[rd] = value
                }
            case .sb, .sh, .sw, .fsw, .fsh:
                let a = rs1 &+ UInt32(bitPattern: i.imm)
                let n: UInt32 = (i.op == .sw || i.op == .fsw) ? 4 : (i.op == .sh || i.op == .fsh) ? 2 : 1
                if a & (n - 1) != 0 { self.pc[c] = pc; return .fault(fault(.misaligned, core: c, instruction: i, address: a)) }
                let value: UInt32
                switch i.op {
                case .fsw, .fsh:
                    guard fpEnabled(c) else { return illegal(c, pc, i) }
                    value = f[Int(i.rs2)]
                default: value = rs2
                }
                if let (p, writable) = host(a, n) {
                    guard writable else { self.pc[c] = pc; return .fault(fault(.writeToFlash, core: c, instruction: i, address: a)) }
                    if let w = watcher, a &- w.base < w.size { w.stored(offset: Int(a &- w.base), count: Int(n), step: step) }
                    switch n {
                    case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
                    case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), as: UInt16.self)
                    default: p.storeBytes(of: value, as: UInt32.self)
                    }
                } else if a &- peripherals < Machine.peripheralBytes, n == 4, platformStore(a &- peripherals, value, core: c) {
                    if exitCode != nil {
                        self.pc[c] = next
                        account(c, i, pc: pc, next: next, a: rs1, b: rs2)
                        x[0] = 0
                        pc = next
                        return .exited
                    }
                } else {
                    self.pc[c] = pc
                    return .fault(fault(.outOfBounds, core: c, instruction: i, address: a))
                }
            case .addi: x[rd] = rs1 &+ UInt32(bitPattern: i.imm)
            case .slti: x[rd] = Int32(bitPattern: rs1) < i.imm ? 1 : 0
            case .sltiu: x[rd] = rs1 < UInt32(bitPattern: i.imm) ? 1 : 0
            case .xori: x[rd] = rs1 ^ UInt32(bitPattern: i.imm)
            case .ori: x[rd] = rs1 | UInt32(bitPattern: i.imm)
            case .andi: x[rd] = rs1 & UInt32(bitPattern: i.imm)
            case .slli: x[rd] = rs1 << UInt32(i.imm)
            case .srli: x[rd] = rs1 >> UInt32(i.imm)
            case .srai: x[rd] = UInt32(bitPattern: Int32(bitPattern: rs1) >> Int32(i.imm))
            case .add: x[rd] = rs1 &+ rs2
            case .sub: x[rd] = rs1 &- rs2
            case .sll: x[rd] = rs1 << (rs2 & 31)
            case .slt: x[rd] = Int32(bitPattern: rs1) < Int32(bitPattern: rs2) ? 1 : 0
            case .sltu: x[rd] = rs1 < rs2 ? 1 : 0
            case .xor: x[rd] = rs1 ^ rs2
            case .srl: x[rd] = rs1 >> (rs2 & 31)
            case .sra: x[rd] = UInt32(bitPattern: Int32(bitPattern: rs1) >> Int32(rs2 & 31))
            case .or: x[rd] = rs1 | rs2
            case .and: x[rd] = rs1 & rs2
            case .mul: x[rd] = rs1 &* rs2
            case .mulh: x[rd] = UInt32(truncatingIfNeeded: (Int64(Int32(bitPattern: rs1)) * Int64(Int32(bitPattern: rs2))) >> 32)
            case .mulhsu: x[rd] = UInt32(truncatingIfNeeded: (Int64(Int32(bitPattern: rs1)) &* Int64(rs2)) >> 32)
            case .mulhu: x[rd] = UInt32(truncatingIfNeeded: (UInt64(rs1) * UInt64(rs2)) >> 32)
            case .div:
                let (a, b) = (Int32(bitPattern: rs1), Int32(bitPattern: rs2))
                x[rd] = b == 0 ? 0xFFFF_FFFF : (a == .min && b == -1) ? rs1 : UInt32(bitPattern: a / b)
            case .divu: x[rd] = rs2 == 0 ? 0xFFFF_FFFF : rs1 / rs2
            case .rem:
                let (a, b) = (Int32(bitPattern: rs1), Int32(bitPattern: rs2))
                x[rd] = b == 0 ? rs1 : (a == .min && b == -1) ? 0 : UInt32(bitPattern: a % b)
            case .remu: x[rd] = rs2 == 0 ? rs1 : rs1 % rs2
            case .fence: break
            case .ecall:
                self.pc[c] = pc
                return .fault(fault(.environmentCall, core: c, instruction: i))
            case .ebreak:
                self.pc[c] = pc
                return .fault(fault(.breakpoint, core: c, instruction: i))
            case .mret: break
            case .wfi:
                if pendingWake[c] {
                    pendingWake[c] = false  // the event came first: no sleep
                } else {
                    account(c, i, pc: pc, next: next, a: rs1, b: rs2)
                    pc = next
                    waiting[c] = true
                    return .waiting
                }
            case .csrrw, .csrrs, .csrrc, .csrrwi, .csrrsi, .csrrci:
                let csr = UInt32(bitPattern: i.imm) & 0xFFF
                guard let old = readCSR(csr, core: c) else { return illegal(c, pc, i) }
                let operand = (i.op == .csrrwi || i.op == .csrrsi || i.op == .csrrci) ? UInt32(i.rs1) : rs1
                let writes = i.op == .csrrw || i.op == .csrrwi || i.rs1 != 0
                if writes {
                    let value: UInt32
                    switch i.op {
                    case .csrrw, .csrrwi: value = operand
                    case .csrrs, .csrrsi: value = old | operand
                    default: value = old & ~operand
                    }
                    guard writeCSR(csr, value, core: c) else { return illegal(c, pc, i) }
                }
                x[rd] = old
            default:
                if i.op.isCoreV {
                    // CORE-V custom extensions (ExecuteXcv.swift): nil = retired normally.
                    if let stop = executeXcv(i, core: c, x: x, pc: pc, next: &next) {
                        if case .exited = stop { account(c, i, pc: pc, next: next, a: rs1, b: rs2); x[0] = 0; pc = next }
                        return stop
                    }
                } else if i.op.isFvec {
                    // Packed FP16 SIMD (ExecuteFvec.swift): false = invalid frm (illegal).
                    guard fpEnabled(c) else { return illegal(c, pc, i) }
                    guard executeFvec(i, core: c, x: x, f: f) else { return illegal(c, pc, i) }
                } else {
                    guard fpEnabled(c) else { return illegal(c, pc, i) }
                    guard executeFloat(i, core: c, x: x, f: f) else { return illegal(c, pc, i) }
                }
            }
            x[0] = 0
            account(c, i, pc: pc, next: next, a: rs1, b: rs2)
            pc = next
        }
        return .budget
    }

    private func illegal(_ c: Int, _ pc: UInt32, _ i: Instruction) -> Outcome {
        self.pc[c] = pc
        return .fault(fault(.illegalInstruction, core: c, instruction: i))
    }

    @inline(__always) func fpEnabled(_ c: Int) -> Bool { extensions.contains(.f) && mstatus[c] & 0x6000 != 0 }

    func readCSR(_ csr: UInt32, core c: Int) -> UInt32? {
        switch csr {
        case 0x001: return extensions.contains(.f) ? UInt32(fflags[c]) : nil
        case 0x002: return extensions.contains(.f) ? UInt32(frm[c]) : nil
        case 0x003: return extensions.contains(.f) ? UInt32(frm[c]) << 5 | UInt32(fflags[c]) : nil
        case 0x300: return mstatus[c]
        case 0x301:
            var misa: UInt32 = 1 << 30 | 1 << 8  // RV32, I
            if extensions.contains(.m) { misa |= 1 << 12 }
            if extensions.contains(.f) { misa |= 1 << 5 }
            if extensions.contains(.c) { misa |= 1 << 2 }
            return misa
        case 0xF14: return UInt32(c)
        case 0xB00, 0xC00: return UInt32(truncatingIfNeeded: clock(c))  // mcycle, cycle
        case 0xB80, 0xC80: return UInt32(truncatingIfNeeded: clock(c) >> 32)
        case 0xB02, 0xC02: return UInt32(truncatingIfNeeded: counters(core: c).instructions)  // minstret, instret
        case 0xB82, 0xC82: return UInt32(truncatingIfNeeded: counters(core: c).instructions >> 32)
        default: return nil
        }
    }

    func writeCSR(_ csr: UInt32, _ v: UInt32, core c: Int) -> Bool {
        switch csr {
        case 0x001: fflags[c] = UInt8(v & 0x1F)
        case 0x002: frm[c] = UInt8(v & 7)
        case 0x003:
            fflags[c] = UInt8(v & 0x1F)
            frm[c] = UInt8((v >> 5) & 7)
        case 0x300: mstatus[c] = v & 0x0000_6088  // FS, MPIE, MIE
        case 0x301: break  // misa: writes ignored
        case 0xB00, 0xB02, 0xB80, 0xB82: break  // counters: writes ignored
        default: return false
        }
        return true
    }
}
