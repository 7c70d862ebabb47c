import SparrowIR

extension Target {
    /// How long a core's instructions, memory accesses and the cluster's
    /// synchronization take (`timing` in a target file). A core is in-order and
    /// single-issue in the style of CV32E40P/RI5CY: one instruction issues per
    /// cycle unless an operand is not ready yet (a load or FPU result), the
    /// instruction occupies a unit for more than a cycle (divide, high multiply,
    /// FP divide/square root), a taken branch or jump refills the pipeline, or a
    /// memory access waits (an L1 bank taken by another core in the same cycle,
    /// the latency of L2 or flash). All values are cycles of the cluster clock.
    public struct Timing: Hashable, Sendable {
        /// Stall of an instruction that uses a load's result right after the load.
        public var loadUseStall = 1
        /// Extra cycles of a taken branch (a not-taken one costs nothing extra).
        public var takenBranchStall = 2
        /// Extra cycles of `jal`/`jalr`.
        public var jumpStall = 1
        /// `mul` (result usable next cycle) and the high multiplies (`mulh*`, blocking).
        public var multiply = 1, multiplyHigh = 5
        /// Divide and remainder: blocking, `divideMin` plus the divisor's leading zero bits,
        /// `divideMax` for a zero divisor (CV32E40P: 3 to 35).
        public var divideMin = 3, divideMax = 35
        /// FPU latencies (cycles from issue until the result is usable; the FPU is
        /// pipelined except for divide and square root, which block it).
        public var fpAdd = 2, fpMultiply = 2, fpFused = 3, fpDivide = 8, fpSqrt = 8, fpConvert = 2, fpCompare = 1, fpMove = 1
        /// Cycles an L1 access waits each time it loses its bank to another core's access
        /// in the same cycle (it retries after them).
        public var bankConflictStall = 1
        /// Cycles a core waits for one access to L2 or flash beyond the cycle of the instruction.
        public var l2Latency = 14, flashLatency = 20
        /// The cluster DMA: bytes moved per cycle and cycles to start a transfer.
        public var dmaBytesPerCycle = 8, dmaSetup = 10
        /// Cycles from a fork until the woken cores run, from the last core's done until the
        /// join returns, and from the last core's arrival until a barrier releases.
        public var fork = 8, join = 11, barrier = 11

        public init() {}
    }

    /// Energy of each event the cycle model counts (`energy_pj` in a target file),
    /// in picojoules. The energy of a run is a sum of counts times these values;
    /// docs/target-format.md tells how they were calibrated.
    public struct Energy: Hashable, Sendable {
        /// Per instruction issued, by class.
        public var integer = 1.0, multiply = 2.0, divide = 8.0, load = 1.5, store = 1.5
        public var simd = 3.0, fp32 = 6.0, fp16 = 4.0, fp16SIMD = 6.0, fpDivide = 12.0
        /// Per access to each memory level (on top of the instruction), and per DMA byte.
        public var l1Access = 2.0, l2Access = 8.0, flashAccess = 20.0, dmaByte = 1.0
        /// Per core per cycle: running (clock, pipeline, leakage) and idle (clock-gated: leakage).
        public var activeCycle = 4.0, idleCycle = 0.5

        public init() {}
    }
}

extension Target {
    /// A kind of peak-rate arithmetic a chip's efficiency is published for (`efficiency` in a target file).
    public enum Arithmetic: String, CaseIterable, Hashable, Sendable {
        /// FP32 fused multiply-adds: GFLOPS/W (a multiply-add is 2 operations).
        case fp32
        /// Packed FP16 multiply-adds (xfvec): GFLOPS/W.
        case fp16
        /// INT8 dot products (xcvsimd `sdotp`): GOPS/W.
        case int8
    }
}

extension Target.Timing {
    /// The fields of `timing` in a target file, with a key path to each.
    static var fields: [(String, WritableKeyPath<Target.Timing, Int>)] { [
        ("load_use_stall", \.loadUseStall), ("taken_branch_stall", \.takenBranchStall), ("jump_stall", \.jumpStall),
        ("mul", \.multiply), ("mulh", \.multiplyHigh), ("div_min", \.divideMin), ("div_max", \.divideMax),
        ("fp_add", \.fpAdd), ("fp_mul", \.fpMultiply), ("fp_fma", \.fpFused), ("fp_div", \.fpDivide), ("fp_sqrt", \.fpSqrt),
        ("fp_convert", \.fpConvert), ("fp_compare", \.fpCompare), ("fp_move", \.fpMove),
        ("bank_conflict_stall", \.bankConflictStall), ("l2_latency", \.l2Latency), ("flash_latency", \.flashLatency),
        ("dma_bytes_per_cycle", \.dmaBytesPerCycle), ("dma_setup", \.dmaSetup),
        ("fork", \.fork), ("join", \.join), ("barrier", \.barrier),
    ] }
}

extension Target.Energy {
    /// The fields of `energy_pj` in a target file, with a key path to each.
    static var fields: [(String, WritableKeyPath<Target.Energy, Double>)] { [
        ("integer", \.integer), ("multiply", \.multiply), ("divide", \.divide), ("load", \.load), ("store", \.store),
        ("simd", \.simd), ("fp32", \.fp32), ("fp16", \.fp16), ("fp16_simd", \.fp16SIMD), ("fp_divide", \.fpDivide),
        ("l1_access", \.l1Access), ("l2_access", \.l2Access), ("flash_access", \.flashAccess), ("dma_byte", \.dmaByte),
        ("active_cycle", \.activeCycle), ("idle_cycle", \.idleCycle),
    ] }
}

extension Target {
    /// Reads `timing` and `energy_pj` from a target file's top object: every field
    /// present (a target states its whole model), none unknown.
    static func timingAndEnergy(_ top: [String: JSONValue], fail: (String) -> TargetError) throws(TargetError) -> (Timing, Energy) {
        func object(_ k: String) throws(TargetError) -> [String: JSONValue] {
            guard case .object(let o)? = top[k] else { throw fail("'\(k)' must be an object (docs/target-format.md lists its fields)") }
            let known = k == "timing" ? Timing.fields.map(\.0) : Energy.fields.map(\.0)
            if let u = o.keys.sorted().first(where: { !known.contains($0) }) {
                throw fail("unknown field '\(k).\(u)'; known: \(known.joined(separator: ", "))")
            }
            if let m = known.first(where: { o[$0] == nil }) { throw fail("'\(k).\(m)' is missing") }
            return o
        }
        var timing = Timing(), energy = Energy()
        let t = try object("timing")
        for (name, path) in Timing.fields {
            guard case .int(let v)? = t[name], (0...100_000).contains(v) else { throw fail("'timing.\(name)' must be an integer from 0 to 100000 (cycles)") }
            timing[keyPath: path] = v
        }
        guard timing.dmaBytesPerCycle >= 1 else { throw fail("'timing.dma_bytes_per_cycle' must be at least 1") }
        guard timing.divideMin <= timing.divideMax else { throw fail("'timing.div_min' exceeds 'timing.div_max'") }
        let e = try object("energy_pj")
        for (name, path) in Energy.fields {
            let v: Double
            switch e[name] {
            case .int(let i)?: v = Double(i)
            case .double(let d)?: v = d
            default: throw fail("'energy_pj.\(name)' must be a number (picojoules)")
            }
            guard v >= 0, v < 1e6 else { throw fail("'energy_pj.\(name)' is \(v), outside 0…1e6 pJ") }
            energy[keyPath: path] = v
        }
        return (timing, energy)
    }

    /// Reads the optional `efficiency` object: published operations per second per watt.
    static func efficiency(_ top: [String: JSONValue], fail: (String) -> TargetError) throws(TargetError) -> [Arithmetic: Double] {
        guard let value = top["efficiency"] else { return [:] }
        guard case .object(let o) = value else { throw fail("'efficiency' must be an object of published figures") }
        var result: [Arithmetic: Double] = [:]
        for (key, v) in o {
            let kind = key.hasSuffix("_gflops_per_watt") ? String(key.dropLast(16)) : key.hasSuffix("_gops_per_watt") ? String(key.dropLast(14)) : key
            guard let a = Arithmetic(rawValue: kind) else {
                throw fail("unknown field 'efficiency.\(key)'; known: fp32_gflops_per_watt, fp16_gflops_per_watt, int8_gops_per_watt")
            }
            let number: Double
            switch v {
            case .int(let i): number = Double(i)
            case .double(let d): number = d
            default: throw fail("'efficiency.\(key)' must be a number")
            }
            guard number > 0, number < 1e6 else { throw fail("'efficiency.\(key)' must be positive") }
            result[a] = number
        }
        return result
    }
}
