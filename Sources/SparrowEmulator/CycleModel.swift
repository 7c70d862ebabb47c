import SparrowPlanner

/// What the cycle model counts, per core: one slot each in `Machine.counters`.
/// The first group are cycles (they add up: `cycles` = active + idle, and the
/// stalls are part of active), then instructions by energy class, then memory
/// accesses by level.
public enum Counter: Int, CaseIterable, Sendable {
    /// The core's clock: cycles since reset.
    case cycles
    /// Cycles parked in `wfi`, or waiting at a join or barrier (clock-gated).
    case idle
    /// Operand stalls on a load's result, on an FPU result (and blocking FP divide/sqrt), on a multiply or divide.
    case loadStalls, fpuStalls, multiplyStalls
    /// Cycles lost to taken branches and jumps.
    case branchStalls
    /// Waits for an L1 bank another core took in the same cycle.
    case bankConflictStalls
    /// Waits for L2 or flash (their latency, and the L2 port taken by another core).
    case memoryStalls
    /// Waits for DMA transfers to complete.
    case dmaWait
    /// Instructions retired, by energy class (`EnergyClass`).
    case integer, multiply, divide, load, store, simd, fp32, fp16, fp16SIMD, fpDivide
    /// Data accesses by memory level (instruction fetches hit an instruction cache and are not counted).
    case l1Accesses, l2Accesses, flashAccesses

    /// Slots per core.
    public static let stride = Counter.allCases.count
    public var isStall: Bool { (Counter.loadStalls.rawValue...Counter.dmaWait.rawValue).contains(rawValue) }
    public var isInstructionClass: Bool { (Counter.integer.rawValue...Counter.fpDivide.rawValue).contains(rawValue) }

    /// A short name for tables and JSON.
    public var label: String {
        switch self {
        case .cycles: return "cycles"
        case .idle: return "idle"
        case .loadStalls: return "load"
        case .fpuStalls: return "fpu"
        case .multiplyStalls: return "mul/div"
        case .branchStalls: return "branch"
        case .bankConflictStalls: return "bank"
        case .memoryStalls: return "memory"
        case .dmaWait: return "dma"
        case .integer: return "integer"
        case .multiply: return "multiply"
        case .divide: return "divide"
        case .load: return "load instructions"
        case .store: return "store instructions"
        case .simd: return "int SIMD"
        case .fp32: return "fp32"
        case .fp16: return "fp16"
        case .fp16SIMD: return "fp16 SIMD"
        case .fpDivide: return "fp div/sqrt"
        case .l1Accesses: return "L1 accesses"
        case .l2Accesses: return "L2 accesses"
        case .flashAccesses: return "flash accesses"
        }
    }
}

/// One core's counters at some moment (or the difference between two moments).
public struct CoreCounters: Hashable, Sendable {
    public var values: [UInt64]
    public init(values: [UInt64] = Array(repeating: 0, count: Counter.stride)) { self.values = values }
    public subscript(_ c: Counter) -> UInt64 {
        get { values[c.rawValue] }
        set { values[c.rawValue] = newValue }
    }
    /// Instructions retired.
    public var instructions: UInt64 { Counter.allCases.filter(\.isInstructionClass).reduce(0) { $0 + self[$1] } }
    /// Cycles the core ran (issued or stalled), not parked.
    public var active: UInt64 { self[.cycles] - self[.idle] }

    public static func + (a: CoreCounters, b: CoreCounters) -> CoreCounters {
        CoreCounters(values: zip(a.values, b.values).map { $0 &+ $1 })
    }

    /// The counts since `earlier` (both of the same core).
    public func since(_ earlier: CoreCounters) -> CoreCounters {
        CoreCounters(values: zip(values, earlier.values).map { $0 &- $1 })
    }

    /// Energy in picojoules: instructions by class, accesses by level, and each
    /// cycle active or idle (DMA bytes are the cluster's, `ClusterCounters`).
    public func picojoules(_ e: Target.Energy) -> Double {
        let perInstruction: [(Counter, Double)] = [
            (.integer, e.integer), (.multiply, e.multiply), (.divide, e.divide), (.load, e.load), (.store, e.store), (.simd, e.simd),
            (.fp32, e.fp32), (.fp16, e.fp16), (.fp16SIMD, e.fp16SIMD), (.fpDivide, e.fpDivide),
            (.l1Accesses, e.l1Access), (.l2Accesses, e.l2Access), (.flashAccesses, e.flashAccess),
        ]
        return perInstruction.reduce(0) { $0 + Double(self[$1.0]) * $1.1 }
            + Double(active) * e.activeCycle + Double(self[.idle]) * e.idleCycle
    }
}

/// The whole cluster's counters: each core's, and the DMA's.
public struct ClusterCounters: Hashable, Sendable {
    public var cores: [CoreCounters]
    public var dmaTransfers: UInt64
    public var dmaBytes: UInt64

    /// Cycles of the cluster: its slowest core's clock.
    public var cycles: UInt64 { cores.map { $0[.cycles] }.max() ?? 0 }
    public var instructions: UInt64 { cores.reduce(0) { $0 + $1.instructions } }

    public static func zero(cores: Int) -> ClusterCounters {
        ClusterCounters(cores: Array(repeating: CoreCounters(), count: cores), dmaTransfers: 0, dmaBytes: 0)
    }

    public static func + (a: ClusterCounters, b: ClusterCounters) -> ClusterCounters {
        ClusterCounters(cores: zip(a.cores, b.cores).map { $0 + $1 }, dmaTransfers: a.dmaTransfers + b.dmaTransfers, dmaBytes: a.dmaBytes + b.dmaBytes)
    }

    /// An interval's counts (`since`) made to span `cycles` on every core: what a
    /// core did not run of it is idle (a parked core's clock lags until it is woken).
    public func spanning(_ cycles: UInt64) -> ClusterCounters {
        var r = self
        for k in r.cores.indices {
            let active = r.cores[k].active
            r.cores[k][.cycles] = cycles
            r.cores[k][.idle] = cycles > active ? cycles - active : 0
        }
        return r
    }

    public func since(_ earlier: ClusterCounters) -> ClusterCounters {
        ClusterCounters(cores: zip(cores, earlier.cores).map { $0.since($1) }, dmaTransfers: dmaTransfers &- earlier.dmaTransfers,
                        dmaBytes: dmaBytes &- earlier.dmaBytes)
    }

    /// Every core brought to the cluster's clock, the cycles it was behind counted idle
    /// (a core parked in `wfi` since it last ran).
    public func aligned() -> ClusterCounters {
        var r = self
        let end = cycles
        for k in r.cores.indices {
            let behind = end - r.cores[k][.cycles]
            r.cores[k][.cycles] += behind
            r.cores[k][.idle] += behind
        }
        return r
    }

    /// Energy in picojoules of the whole cluster.
    public func picojoules(_ e: Target.Energy) -> Double {
        cores.reduce(0) { $0 + $1.picojoules(e) } + Double(dmaBytes) * e.dmaByte
    }

    /// Energy in picojoules by source: instructions (with their accesses' base cost),
    /// each memory level's accesses, DMA, and active and idle cycles.
    public func energyParts(_ e: Target.Energy) -> [(String, Double)] {
        func sum(_ f: (CoreCounters) -> Double) -> Double { cores.reduce(0) { $0 + f($1) } }
        var noAccess = e
        (noAccess.l1Access, noAccess.l2Access, noAccess.flashAccess, noAccess.activeCycle, noAccess.idleCycle) = (0, 0, 0, 0, 0)
        return [
            ("instructions", sum { $0.picojoules(noAccess) }),
            ("L1", sum { Double($0[.l1Accesses]) * e.l1Access }),
            ("L2", sum { Double($0[.l2Accesses]) * e.l2Access }),
            ("flash", sum { Double($0[.flashAccesses]) * e.flashAccess }),
            ("DMA", Double(dmaBytes) * e.dmaByte),
            ("active cycles", sum { Double($0.active) * e.activeCycle }),
            ("idle cycles", sum { Double($0[.idle]) * e.idleCycle }),
        ]
    }
}

/// How the cycle model treats one opcode: the unit it occupies (which sets its
/// latency), the counter of its energy class, and which registers it reads and
/// writes (for the scoreboard). Built once per machine from the target's timing.
struct OpTiming {
    enum Unit: UInt8 { case alu, branch, jump, multiply, multiplyHigh, divide, load, store, system, fpu, fpuBlocking }
    /// A register operand: none, integer (`x`) or floating-point (`f`).
    enum File: UInt8 { case none, x, f }
    var unit: Unit = .alu
    var energy: Counter = .integer
    /// Cycles from issue until the result can be used (FPU, multiply, load to L1), or
    /// that the instruction occupies the core (blocking units).
    var latency: UInt64 = 1
    var rs1: File = .none, rs2: File = .none, rs3: File = .none, rdRead: File = .none, rd: File = .none
}

extension OpTiming {
    /// The timing of every opcode, indexed by `Opcode.rawValue`.
    static func table(_ t: Target.Timing) -> [OpTiming] {
        Opcode.allCases.map { timing(of: $0, t) }
    }

    // Swift switch per opcode group, so a new opcode must be placed (the `default`s are
    // the groups' extension ranges, checked by `Opcode.isCoreV` / `isFvec`).
    private static func timing(of op: Opcode, _ t: Target.Timing) -> OpTiming {
        var r = OpTiming()
        func fp(_ unit: Unit, _ latency: Int, _ energy: Counter, _ s1: File = .f, _ s2: File = .f, _ s3: File = .none, rd: File = .f) -> OpTiming {
            OpTiming(unit: unit, energy: energy, latency: UInt64(max(latency, 1)), rs1: s1, rs2: s2, rs3: s3, rd: rd)
        }
        switch op {
        case .illegal, .fence, .ecall, .ebreak, .mret, .wfi: r.unit = .system
        case .lui, .auipc: r.rd = .x
        case .jal: (r.unit, r.rd) = (.jump, .x)
        case .jalr: (r.unit, r.rs1, r.rd) = (.jump, .x, .x)
        case .beq, .bne, .blt, .bge, .bltu, .bgeu: (r.unit, r.rs1, r.rs2) = (.branch, .x, .x)
        case .lb, .lh, .lw, .lbu, .lhu: (r.unit, r.energy, r.rs1, r.rd) = (.load, .load, .x, .x)
        case .sb, .sh, .sw: (r.unit, r.energy, r.rs1, r.rs2) = (.store, .store, .x, .x)
        case .addi, .slti, .sltiu, .xori, .ori, .andi, .slli, .srli, .srai: (r.rs1, r.rd) = (.x, .x)
        case .add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and: (r.rs1, r.rs2, r.rd) = (.x, .x, .x)
        case .csrrw, .csrrs, .csrrc: (r.unit, r.rs1, r.rd) = (.system, .x, .x)
        case .csrrwi, .csrrsi, .csrrci: (r.unit, r.rd) = (.system, .x)
        case .mul: (r.unit, r.energy, r.latency, r.rs1, r.rs2, r.rd) = (.multiply, .multiply, UInt64(max(t.multiply, 1)), .x, .x, .x)
        case .mulh, .mulhsu, .mulhu:
            (r.unit, r.energy, r.latency, r.rs1, r.rs2, r.rd) = (.multiplyHigh, .multiply, UInt64(max(t.multiplyHigh, 1)), .x, .x, .x)
        case .div, .divu, .rem, .remu: (r.unit, r.energy, r.rs1, r.rs2, r.rd) = (.divide, .divide, .x, .x, .x)
        case .flw, .flh: (r.unit, r.energy, r.rs1, r.rd) = (.load, .load, .x, .f)
        case .fsw, .fsh: (r.unit, r.energy, r.rs1, r.rs2) = (.store, .store, .x, .f)
        case .fmaddS, .fmsubS, .fnmsubS, .fnmaddS: return fp(.fpu, t.fpFused, .fp32, .f, .f, .f)
        case .fmaddH, .fmsubH, .fnmsubH, .fnmaddH: return fp(.fpu, t.fpFused, .fp16, .f, .f, .f)
        case .faddS, .fsubS: return fp(.fpu, t.fpAdd, .fp32)
        case .faddH, .fsubH: return fp(.fpu, t.fpAdd, .fp16)
        case .fmulS: return fp(.fpu, t.fpMultiply, .fp32)
        case .fmulH: return fp(.fpu, t.fpMultiply, .fp16)
        case .fdivS, .fdivH: return fp(.fpuBlocking, t.fpDivide, .fpDivide)
        case .fsqrtS, .fsqrtH: return fp(.fpuBlocking, t.fpSqrt, .fpDivide, .f, .none)
        case .fsgnjS, .fsgnjnS, .fsgnjxS, .fminS, .fmaxS: return fp(.fpu, t.fpMove, .fp32)
        case .fsgnjH, .fsgnjnH, .fsgnjxH, .fminH, .fmaxH: return fp(.fpu, t.fpMove, .fp16)
        case .fcvtWS, .fcvtWUS: return fp(.fpu, t.fpConvert, .fp32, .f, .none, rd: .x)
        case .fcvtWH, .fcvtWUH: return fp(.fpu, t.fpConvert, .fp16, .f, .none, rd: .x)
        case .fcvtSW, .fcvtSWU: return fp(.fpu, t.fpConvert, .fp32, .x, .none)
        case .fcvtHW, .fcvtHWU: return fp(.fpu, t.fpConvert, .fp16, .x, .none)
        case .fcvtSH, .fcvtHS: return fp(.fpu, t.fpConvert, .fp16, .f, .none)
        case .fmvXW, .fclassS: return fp(.fpu, t.fpMove, .fp32, .f, .none, rd: .x)
        case .fmvXH, .fclassH: return fp(.fpu, t.fpMove, .fp16, .f, .none, rd: .x)
        case .fmvWX: return fp(.fpu, t.fpMove, .fp32, .x, .none)
        case .fmvHX: return fp(.fpu, t.fpMove, .fp16, .x, .none)
        case .feqS, .fltS, .fleS: return fp(.fpu, t.fpCompare, .fp32, rd: .x)
        case .feqH, .fltH, .fleH: return fp(.fpu, t.fpCompare, .fp16, rd: .x)
        // CORE-V
        case .cvMac, .cvMsu, .cvMacN: (r.unit, r.energy, r.latency, r.rs1, r.rs2, r.rdRead, r.rd) = (.multiply, .multiply, UInt64(max(t.multiply, 1)), .x, .x, .x, .x)
        case .cvMulN: (r.unit, r.energy, r.latency, r.rs1, r.rs2, r.rd) = (.multiply, .multiply, UInt64(max(t.multiply, 1)), .x, .x, .x)
        case .cvBeqImm, .cvBneImm: (r.unit, r.rs1) = (.branch, .x)
        case .cvLb, .cvLbu, .cvLh, .cvLhu, .cvLw: (r.unit, r.energy, r.rs1, r.rs2, r.rd) = (.load, .load, .x, .x, .x)
        case .cvSb, .cvSh, .cvSw: (r.unit, r.energy, r.rs1, r.rs2, r.rs3) = (.store, .store, .x, .x, .x)
        case .cvDotupH, .cvDotupB, .cvDotuspH, .cvDotuspB, .cvDotspH, .cvDotspB,
             .cvSdotupH, .cvSdotupB, .cvSdotuspH, .cvSdotuspB, .cvSdotspH, .cvSdotspB,
             .cvCplxmulR, .cvCplxmulI:
            (r.unit, r.energy, r.latency, r.rs1, r.rs2, r.rdRead, r.rd) = (.multiply, .simd, UInt64(max(t.multiply, 1)), .x, .x, .x, .x)
        // Packed FP16 (vf*): two lanes per instruction; comparisons write an integer mask.
        case .vfEqH, .vfNeH, .vfLtH, .vfGeH, .vfLeH, .vfGtH: return fp(.fpu, t.fpCompare, .fp16SIMD, rd: .x)
        case .vfDivH: return fp(.fpuBlocking, t.fpDivide, .fpDivide)
        case .vfSqrtH: return fp(.fpuBlocking, t.fpSqrt, .fpDivide, .f, .none)
        case .vfMacH, .vfDotpexSH, .vfNdotpexSH:
            var v = fp(.fpu, t.fpFused, .fp16SIMD)
            v.rdRead = .f
            return v
        case .vfMulH: return fp(.fpu, t.fpMultiply, .fp16SIMD)
        case .vfAddH, .vfSubH: return fp(.fpu, t.fpAdd, .fp16SIMD)
        case .vfCpkaHS: return fp(.fpu, t.fpConvert, .fp16SIMD)
        case .vfMinH, .vfMaxH, .vfSgnjH, .vfSgnjnH, .vfSgnjxH: return fp(.fpu, t.fpMove, .fp16SIMD)
        default:
            precondition(op.isCoreV, "OpTiming: opcode \(op) has no timing")
            // The remaining CORE-V ALU and SIMD operations: one cycle; some read rd (insert,
            // shuffle2, the accumulating forms), which the scoreboard treats alike for all.
            (r.energy, r.rs1, r.rs2, r.rdRead, r.rd) = (op.rawValue >= Opcode.cvAddH.rawValue ? .simd : .integer, .x, .x, .x, .x)
        }
        if r.unit == .load { r.latency = UInt64(1 + t.loadUseStall) }
        return r
    }
}
