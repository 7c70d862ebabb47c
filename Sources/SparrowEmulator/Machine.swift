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
    /// Instructions retired per core.
    public internal(set) var retired: [UInt64]
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
        retired = Array(repeating: 0, count: cores)
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
    }

    /// Total instructions retired by all cores.
    public var instructions: UInt64 { retired.reduce(0, +) }

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
            retired[c] = 0
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
            for c in 1..<max(team, 1) where c < cores {
                if waiting[c] { waiting[c] = false } else { pendingWake[c] = true }
                busy[c] = true
            }
        case 16: busy[core] = false
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
                                          location: "DMA source of \(length) bytes")
            return
        }
        guard let (to, writable) = host(dmaDestination, length), writable else {
            platformFault = EmulatorFault(kind: host(dmaDestination, length) == nil ? .outOfBounds : .writeToFlash, core: core, pc: pc[core],
                                          instruction: 0, address: dmaDestination, step: step, location: "DMA destination of \(length) bytes")
            return
        }
        to.copyMemory(from: from, byteCount: Int(length))
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
        case 16: return busy.contains(true) ? .stall : .value(0)
        case 20: return .value(UInt32(cores))
        case 24: return .value(UInt32(team))
        case 0x4C: return .value(0)  // DMA transfers in flight: none in the functional model
        case 0x50: return barrier(core: core)
        default: return nil
        }
    }

    /// The event unit's barrier over the current team: a core's first read arrives;
    /// reads stall until the team's last core arrives, then every waiting read returns.
    private func barrier(core: Int) -> PlatformRead {
        if let ticket = barrierTicket[core] {
            guard ticket != barrierGeneration else { return .stall }
            barrierTicket[core] = nil
            return .value(0)
        }
        barrierTicket[core] = barrierGeneration
        barrierArrivals += 1
        if barrierArrivals >= max(team, 1) {
            barrierArrivals = 0
            barrierGeneration += 1
        }
        return barrier(core: core)
    }
}

/// An image that cannot be loaded.
public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
