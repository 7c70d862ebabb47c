import SparrowPlanner

/// A PULP-style cluster as the emulator models it: `cores` RV32 harts sharing
/// flash (read-only: code and constants), L2 (the plan's arena) and L1 (stacks,
/// small state), plus Sparrow's platform registers. Host memory is exactly the
/// target's sizes. Instructions are decoded once per address of the loaded
/// code; the dispatch loop allocates nothing.
public final class Machine {
    public let target: Target
    let extensions: Extensions
    let cores: Int

    // Memory regions: host buffers of exactly the target's sizes.
    let flashBase: UInt32, flashSize: UInt32, flash: UnsafeMutableRawPointer
    let l2Base: UInt32, l2Size: UInt32, l2: UnsafeMutableRawPointer
    let l1Base: UInt32, l1Size: UInt32, l1: UnsafeMutableRawPointer
    let peripherals: UInt32
    static let peripheralBytes: UInt32 = 0x100

    /// Decoded instructions, one slot per halfword of flash (decoded on first fetch).
    let program: UnsafeMutablePointer<Instruction>
    let decodedFlags: UnsafeMutablePointer<Bool>

    // Hart state: integer and FP registers (32 each per core), pc, CSRs.
    let x: UnsafeMutablePointer<UInt32>
    let f: UnsafeMutablePointer<UInt32>
    var pc: [UInt32]
    var fflags: [UInt8]
    var frm: [UInt8]
    var mstatus: [UInt32]
    /// The cycle model's counters, `Counter.stride` per core (see `counters`).
    let count: UnsafeMutablePointer<UInt64>
    /// The scoreboard: per core, the cycle each register (x0–x31, f0–f31) is ready,
    /// and the stall counter a wait for it is charged to.
    let ready: UnsafeMutablePointer<UInt64>
    let readyCharge: UnsafeMutablePointer<UInt8>
    /// Timing of each opcode (`OpTiming.table`), indexed by raw value.
    let opTiming: UnsafeMutablePointer<OpTiming>
    /// Bank arbitration: per L1 bank (and, last, the L2 port), which cycle each slot of
    /// a ring of `Machine.ringSlots` cycles was taken in (a slot holding t = taken at t).
    let bankSlots: UnsafeMutablePointer<UInt64>
    let banks: Int
    static let ringSlots = 4096
    var waiting: [Bool]
    /// A wake-up that arrived while the core was not waiting: its next `wfi` returns at once.
    var pendingWake: [Bool]
    var busy: [Bool]

    // Platform state.
    public private(set) var console: [UInt8] = []
    public private(set) var exitCode: Int32?
    public private(set) var step: Int?
    var forkBody: UInt32 = 0
    /// Cores a fork wakes (cores 1..<team), written before the fork.
    var team: Int = 1
    /// DMA: the next transfer's source and destination; transfers done (the functional
    /// model copies at once; the cycle model will time them).
    var dmaSource: UInt32 = 0, dmaDestination: UInt32 = 0
    public private(set) var dmaTransfers = 0, dmaBytes = 0
    /// The DMA engine's timing: the cycle it is free again, and when each transfer ends.
    var dmaFree: UInt64 = 0
    var dmaEnds: [UInt64] = []
    /// The latest cycle a woken core wrote done (the join returns after it), and the
    /// cycle the last barrier released its team.
    var joinReady: UInt64 = 0
    var barrierLatest: UInt64 = 0, barrierRelease: UInt64 = 0
    /// Barrier of the event unit: arrivals of the current generation, and each core's ticket.
    var barrierArrivals = 0, barrierGeneration = 0
    var barrierTicket: [Int?]
    /// A fault raised by a platform register (a DMA transfer out of range), reported after the access.
    var platformFault: EmulatorFault?
    /// Called with the plan step each time the program writes the step-marker register.
    public var onStep: ((Int) -> Void)?
    /// Names what an address belongs to in fault reports (a plan tensor, a section).
    public var describeAddress: ((UInt32) -> String?)?
    /// Checks loads and stores of one range against a plan (the shadow map), if set.
    public var watcher: (any MemoryWatcher)?

    public init(target: Target) {
        self.target = target
        extensions = Extensions(march: ([target.march] + target.extensions).joined(separator: "_"))
        cores = target.cores
        func region(_ r: Target.MemoryRegion) -> (UInt32, UInt32, UnsafeMutableRawPointer) {
            let p = UnsafeMutableRawPointer.allocate(byteCount: r.bytes, alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: r.bytes)
            return (r.origin, UInt32(r.bytes), p)
        }
        (flashBase, flashSize, flash) = region(target.flash)
        (l2Base, l2Size, l2) = region(target.l2)
        (l1Base, l1Size, l1) = region(target.l1)
        peripherals = target.peripherals
        let slots = Int(flashSize / 2)
        program = .allocate(capacity: slots)
        program.initialize(repeating: .illegal, count: slots)
        decodedFlags = .allocate(capacity: slots)
        decodedFlags.initialize(repeating: false, count: slots)
        x = .allocate(capacity: 32 * cores)
        x.initialize(repeating: 0, count: 32 * cores)
        f = .allocate(capacity: 32 * cores)
        f.initialize(repeating: 0, count: 32 * cores)
        pc = Array(repeating: 0, count: cores)
        fflags = Array(repeating: 0, count: cores)
        frm = Array(repeating: 0, count: cores)
        mstatus = Array(repeating: 0, count: cores)
        count = .allocate(capacity: Counter.stride * cores)
        count.initialize(repeating: 0, count: Counter.stride * cores)
        ready = .allocate(capacity: 64 * cores)
        ready.initialize(repeating: 0, count: 64 * cores)
        readyCharge = .allocate(capacity: 64 * cores)
        readyCharge.initialize(repeating: UInt8(Counter.loadStalls.rawValue), count: 64 * cores)
        let table = OpTiming.table(target.timing)
        opTiming = .allocate(capacity: table.count)
        opTiming.initialize(from: table, count: table.count)
        banks = max(target.l1Banks, 1)
        bankSlots = .allocate(capacity: (banks + 1) * Machine.ringSlots)
        bankSlots.initialize(repeating: .max, count: (banks + 1) * Machine.ringSlots)
        waiting = Array(repeating: false, count: cores)
        pendingWake = Array(repeating: false, count: cores)
        busy = Array(repeating: false, count: cores)
        barrierTicket = Array(repeating: nil, count: cores)
    }

    deinit {
        flash.deallocate()
        l2.deallocate()
        l1.deallocate()
        program.deinitialize(count: Int(flashSize / 2))
        program.deallocate()
        decodedFlags.deallocate()
        x.deallocate()
        f.deallocate()
        count.deallocate()
        ready.deallocate()
        readyCharge.deallocate()
        opTiming.deallocate()
        bankSlots.deallocate()
    }

    /// Instructions retired per core.
    public var retired: [UInt64] { (0..<cores).map { counters(core: $0).instructions } }
    /// Total instructions retired by all cores.
    public var instructions: UInt64 { retired.reduce(0, +) }

    /// One core's counters now.
    public func counters(core c: Int) -> CoreCounters {
        CoreCounters(values: Array(UnsafeBufferPointer(start: count + c * Counter.stride, count: Counter.stride)))
    }

    /// Every core's counters and the DMA's, now (cores' clocks as they stand: see `ClusterCounters.aligned`).
    public var counters: ClusterCounters {
        ClusterCounters(cores: (0..<cores).map { counters(core: $0) }, dmaTransfers: UInt64(dmaTransfers), dmaBytes: UInt64(dmaBytes))
    }

    /// Cycles since reset: the slowest core's clock.
    public var cycles: UInt64 { (0..<cores).map { clock($0) }.max() ?? 0 }

    @inline(__always) func clock(_ c: Int) -> UInt64 { count[c * Counter.stride] }

    /// Moves core `c`'s clock forward to `t` (if behind), counting the wait to `counter`.
    @inline(__always) func wait(_ c: Int, until t: UInt64, as counter: Counter) {
        let base = c * Counter.stride
        let now = count[base]
        guard t > now else { return }
        count[base] = t
        count[base + counter.rawValue] &+= t - now
    }

    // MARK: Loading and host access

    /// The host address of `length` bytes at `address`, if they lie in one region.
    func host(_ address: UInt32, _ length: UInt32) -> (UnsafeMutableRawPointer, writable: Bool)? {
        if address &- l2Base < l2Size, address &- l2Base + length <= l2Size { return (l2 + Int(address &- l2Base), true) }
        if address &- l1Base < l1Size, address &- l1Base + length <= l1Size { return (l1 + Int(address &- l1Base), true) }
        if address &- flashBase < flashSize, address &- flashBase + length <= flashSize { return (flash + Int(address &- flashBase), false) }
        return nil
    }

    /// Copies bytes into memory (loading an image: flash is writable from the host).
    public func write(_ bytes: [UInt8], at address: UInt32) throws(LoadError) {
        guard !bytes.isEmpty else { return }
        guard let (p, _) = host(address, UInt32(bytes.count)) else {
            throw LoadError(detail: String(format: "%d bytes at 0x%08x are outside the target's memories", bytes.count, address))
        }
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }

    /// Bytes of memory (for reading results).
    public func read(_ address: UInt32, count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        guard let (p, _) = host(address, UInt32(count)) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// Resets every hart to `entry` (all running; the program parks the others).
    public func reset(entry: UInt32) {
        for c in 0..<cores {
            pc[c] = entry
            for r in 0..<32 { x[c * 32 + r] = 0; f[c * 32 + r] = 0 }
            fflags[c] = 0
            frm[c] = 0
            mstatus[c] = 0
            waiting[c] = false
            pendingWake[c] = false
            busy[c] = false
        }
        console = []
        exitCode = nil
        step = nil
        forkBody = 0
        team = 1
        dmaSource = 0
        dmaDestination = 0
        dmaTransfers = 0
        dmaBytes = 0
        barrierArrivals = 0
        barrierGeneration = 0
        barrierTicket = Array(repeating: nil, count: cores)
        platformFault = nil
        count.update(repeating: 0, count: Counter.stride * cores)
        ready.update(repeating: 0, count: 64 * cores)
        bankSlots.update(repeating: .max, count: (banks + 1) * Machine.ringSlots)
        dmaFree = 0
        dmaEnds = []
        joinReady = 0
        barrierLatest = 0
        barrierRelease = 0
    }

    func fault(_ kind: EmulatorFault.Kind, core: Int, instruction: Instruction, address: UInt32? = nil) -> EmulatorFault {
        EmulatorFault(kind: kind, core: core, pc: pc[core], instruction: instruction.raw, address: address, step: step,
                      location: address.flatMap { describeAddress?($0) })
    }

    // MARK: Platform registers

    /// A store to the platform registers. Returns false if the offset is not a register.
    func platformStore(_ offset: UInt32, _ value: UInt32, core: Int) -> Bool {
        switch offset {
        case 0: exitCode = Int32(bitPattern: value)
        case 4: console.append(UInt8(truncatingIfNeeded: value))
        case 8:
            step = Int(Int32(bitPattern: value))
            onStep?(Int(Int32(bitPattern: value)))
        case 12:
            forkBody = value
            let start = clock(core) + UInt64(target.timing.fork)
            for c in 1..<max(team, 1) where c < cores {
                if waiting[c] { waiting[c] = false } else { pendingWake[c] = true }
                busy[c] = true
                wait(c, until: start, as: .idle)
            }
        case 16:
            busy[core] = false
            joinReady = max(joinReady, clock(core))
        case 24: team = Int(min(value, UInt32(cores)))
        case 0x40: dmaSource = value
        case 0x44: dmaDestination = value
        case 0x48: dma(length: value, core: core)
        default: return false
        }
        return true
    }

    /// A DMA transfer of `length` bytes from `dmaSource` to `dmaDestination`: from any
    /// memory to L1 or L2 (not to flash), copied at once, the watcher told of the write.
    private func dma(length: UInt32, core: Int) {
        guard length > 0 else { return }
        guard let (from, _) = host(dmaSource, length) else {
            platformFault = EmulatorFault(kind: .outOfBounds, core: core, pc: pc[core], instruction: 0, address: dmaSource, step: step,
                                          location: "DMA source of \(length) bytes" + (describeAddress?(dmaSource).map { ": " + $0 } ?? ""))
            return
        }
        guard let (to, writable) = host(dmaDestination, length), writable else {
            platformFault = EmulatorFault(kind: host(dmaDestination, length) == nil ? .outOfBounds : .writeToFlash, core: core, pc: pc[core],
                                          instruction: 0, address: dmaDestination, step: step,
                                          location: "DMA destination of \(length) bytes" + (describeAddress?(dmaDestination).map { ": " + $0 } ?? ""))
            return
        }
        to.copyMemory(from: from, byteCount: Int(length))
        // Timing: the engine takes transfers in order, each after a set-up, at its bandwidth.
        let t = target.timing
        let start = max(clock(core), dmaFree) + UInt64(t.dmaSetup)
        dmaFree = start + (UInt64(length) + UInt64(t.dmaBytesPerCycle) - 1) / UInt64(t.dmaBytesPerCycle)
        dmaEnds.removeAll { $0 <= clock(core) }
        dmaEnds.append(dmaFree)
        if let w = watcher, dmaDestination &- w.base < w.size {
            w.stored(offset: Int(dmaDestination &- w.base), count: Int(length), step: step)
        }
        dmaTransfers += 1
        dmaBytes += Int(length)
    }

    /// A load from the platform registers: nil if the offset is not a register,
    /// `.stall` while a join waits for the other cores.
    enum PlatformRead { case value(UInt32), stall }
    func platformLoad(_ offset: UInt32, core: Int) -> PlatformRead? {
        switch offset {
        case 12: return .value(forkBody)
        case 16:
            if busy.contains(true) { return .stall }
            wait(core, until: joinReady + UInt64(target.timing.join), as: .idle)
            return .value(0)
        case 20: return .value(UInt32(cores))
        case 24: return .value(UInt32(team))
        case 0x4C: return .value(UInt32(dmaEnds.filter { $0 > clock(core) }.count))
        case 0x50: return barrier(core: core)
        case 0x54:
            wait(core, until: dmaFree, as: .dmaWait)
            return .value(0)
        default: return nil
        }
    }

    /// The event unit's barrier over the current team: a core's first read arrives;
    /// reads stall until the team's last core arrives, then every waiting read returns.
    private func barrier(core: Int) -> PlatformRead {
        if let ticket = barrierTicket[core] {
            guard ticket != barrierGeneration else { return .stall }
            barrierTicket[core] = nil
            wait(core, until: barrierRelease, as: .idle)
            return .value(0)
        }
        barrierTicket[core] = barrierGeneration
        barrierArrivals += 1
        barrierLatest = max(barrierLatest, clock(core))
        if barrierArrivals >= max(team, 1) {
            barrierArrivals = 0
            barrierGeneration += 1
            barrierRelease = barrierLatest + UInt64(target.timing.barrier)
            barrierLatest = 0
        }
        return barrier(core: core)
    }
}

/// An image that cannot be loaded.
public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
