extension Machine {
    /// Prices one retired instruction on core `c` (the cycle model): waits for its
    /// operands on the scoreboard, arbitrates its memory access, adds the cycles it
    /// occupies the core, marks when its result is ready and counts it. `a` and `b`
    /// are `x[rs1]` and `x[rs2]` as the instruction read them; `next` tells whether a
    /// branch was taken.
    ///
    /// The order in which cores run within a window (`run(limit:quantum:)`) decides
    /// who wins a bank in a given cycle: the lower-numbered core, deterministically.
    @inline(__always)
    func account(_ c: Int, _ i: Instruction, pc: UInt32, next: UInt32, a: UInt32, b: UInt32) {
        let n = count + c * Counter.stride
        let ready = self.ready + c * 64, charge = readyCharge + c * 64
        let o = opTiming[Int(i.op.rawValue)]
        var start = n[0]
        // Operands: wait for each one not ready yet, charged to what produces it.
        @inline(__always) func operand(_ file: OpTiming.File, _ r: UInt8) {
            guard file != .none else { return }
            let k = file == .x ? Int(r) : 32 + Int(r)
            let t = ready[k]
            if t > start {
                n[Int(charge[k])] &+= t - start
                start = t
            }
        }
        operand(o.rs1, i.rs1)
        operand(o.rs2, i.rs2)
        operand(o.rs3, i.rs3)
        operand(o.rdRead, i.rd)
        var busy: UInt64 = 1  // cycles the instruction occupies the core
        var latency = o.latency
        var resultCharge = Counter.loadStalls
        let timing = target.timing
        switch o.unit {
        case .alu, .system: break
        case .branch:
            if next != pc &+ UInt32(i.length) {
                busy += UInt64(timing.takenBranchStall)
                n[Counter.branchStalls.rawValue] &+= UInt64(timing.takenBranchStall)
            }
        case .jump:
            busy += UInt64(timing.jumpStall)
            n[Counter.branchStalls.rawValue] &+= UInt64(timing.jumpStall)
        case .multiply: resultCharge = .multiplyStalls
        case .multiplyHigh, .divide:
            busy = o.unit == .divide ? divideCycles(i.op, b) : o.latency
            latency = busy
            n[Counter.multiplyStalls.rawValue] &+= busy - 1
        case .fpu: resultCharge = .fpuStalls
        case .fpuBlocking:
            busy = o.latency
            n[Counter.fpuStalls.rawValue] &+= busy - 1
            resultCharge = .fpuStalls
        case .load, .store:
            let address = accessAddress(i, a: a, b: b, x: x + c * 32)
            if address &- l1Base < l1Size {
                let granted = claim(bank: Int((address >> 2) % UInt32(banks)), at: start,
                                    step: UInt64(max(timing.bankConflictStall, 1)))
                n[Counter.bankConflictStalls.rawValue] &+= granted - start
                start = granted
                n[Counter.l1Accesses.rawValue] &+= 1
            } else if address &- l2Base < l2Size {
                let granted = claim(bank: banks, at: start)  // the cluster's port to L2
                let wait = granted - start + UInt64(timing.l2Latency)
                n[Counter.memoryStalls.rawValue] &+= wait
                start = granted
                busy += UInt64(timing.l2Latency)
                latency = busy
                n[Counter.l2Accesses.rawValue] &+= 1
            } else if address &- flashBase < flashSize {
                n[Counter.memoryStalls.rawValue] &+= UInt64(timing.flashLatency)
                busy += UInt64(timing.flashLatency)
                latency = busy
                n[Counter.flashAccesses.rawValue] &+= 1
            }
        }
        // Results: ready after the unit's latency; a later wait is charged to it.
        switch o.rd {
        case .none: break
        case .x:
            if i.rd != 0 {
                ready[Int(i.rd)] = start + latency
                charge[Int(i.rd)] = UInt8(resultCharge.rawValue)
            }
        case .f:
            ready[32 + Int(i.rd)] = start + latency
            charge[32 + Int(i.rd)] = UInt8(resultCharge.rawValue)
        }
        n[0] = start + busy
        n[o.energy.rawValue] &+= 1
    }

    /// The data address of a load or store, from its operands as read at issue.
    @inline(__always) private func accessAddress(_ i: Instruction, a: UInt32, b: UInt32, x: UnsafeMutablePointer<UInt32>) -> UInt32 {
        switch i.op {
        case .cvLb, .cvLbu, .cvLh, .cvLhu, .cvLw: return i.rm == 2 ? a &+ b : a
        case .cvSb, .cvSh, .cvSw: return i.rm == 2 ? a &+ x[Int(i.rs3)] : a
        default: return a &+ UInt32(bitPattern: i.imm)
        }
    }

    /// The first cycle from `t` at which `bank` is free, retrying `step` cycles after each
    /// cycle another core took it; takes it.
    @inline(__always) private func claim(bank: Int, at t: UInt64, step: UInt64 = 1) -> UInt64 {
        let ring = bankSlots + bank * Machine.ringSlots
        var t = t
        while ring[Int(t % UInt64(Machine.ringSlots))] == t { t += step }
        ring[Int(t % UInt64(Machine.ringSlots))] = t
        return t
    }

    /// Cycles of a divide or remainder: the minimum plus the divisor's leading zero bits
    /// (its magnitude's, signed), the maximum for a zero divisor.
    @inline(__always) private func divideCycles(_ op: Opcode, _ b: UInt32) -> UInt64 {
        let t = target.timing
        let divisor = op == .div || op == .rem ? Int32(bitPattern: b).magnitude : b
        guard divisor != 0 else { return UInt64(t.divideMax) }
        return UInt64(min(t.divideMin + divisor.leadingZeroBitCount, t.divideMax))
    }
}
