/// An rv32 executable (ELF32, little-endian, RISC-V): its loadable segments, the
/// entry point and the symbol table.
public struct ELFImage: Sendable {
    public struct Segment: Sendable {
        /// Where the bytes go: the load (physical) address, so initialized data lands
        /// in flash where the start-up code copies it from.
        public var address: UInt32
        public var bytes: [UInt8]
        /// Bytes in memory (≥ the file's bytes; the rest is zero).
        public var memorySize: Int
    }

    public var entry: UInt32
    public var segments: [Segment]
    /// Symbol name → (address, size).
    public var symbols: [String: (address: UInt32, size: Int)]

    /// Parses `bytes`; throws with what is wrong.
    public init(_ bytes: [UInt8]) throws(LoadError) {
        func fail(_ d: String) -> LoadError { LoadError(detail: "not a loadable rv32 ELF image: \(d)") }
        func u16(_ at: Int) throws(LoadError) -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw fail("truncated") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws(LoadError) -> UInt32 {
            guard at >= 0, at + 4 <= bytes.count else { throw fail("truncated") }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        guard bytes.count >= 52, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46] else { throw fail("no ELF magic") }
        guard bytes[4] == 1, bytes[5] == 1 else { throw fail("not 32-bit little-endian") }
        guard try u16(0x12) == 243 else { throw fail("not RISC-V (e_machine \(try u16(0x12)))") }
        entry = try u32(0x18)
        let phoff = Int(try u32(0x1C)), phentsize = try u16(0x2A), phnum = try u16(0x2C)
        var segments: [Segment] = []
        for k in 0..<phnum {
            let at = phoff + k * phentsize
            guard try u32(at) == 1 else { continue }  // PT_LOAD
            let offset = Int(try u32(at + 4)), paddr = try u32(at + 12), filesz = Int(try u32(at + 16)), memsz = Int(try u32(at + 20))
            guard offset + filesz <= bytes.count, filesz <= memsz else { throw fail("segment \(k) lies outside the file") }
            segments.append(Segment(address: paddr, bytes: Array(bytes[offset..<offset + filesz]), memorySize: memsz))
        }
        self.segments = segments
        // Symbols from .symtab and its string table.
        var symbols: [String: (UInt32, Int)] = [:]
        let shoff = Int(try u32(0x20)), shentsize = try u16(0x2E), shnum = try u16(0x30)
        for k in 0..<shnum {
            let at = shoff + k * shentsize
            guard try u32(at + 4) == 2 else { continue }  // SHT_SYMTAB
            let offset = Int(try u32(at + 16)), size = Int(try u32(at + 20)), link = Int(try u32(at + 24))
            let strtab = Int(try u32(shoff + link * shentsize + 16))
            for s in stride(from: offset, to: offset + size, by: 16) {
                let nameOffset = Int(try u32(s)), value = try u32(s + 4), symSize = Int(try u32(s + 8))
                var end = strtab + nameOffset
                while end < bytes.count, bytes[end] != 0 { end += 1 }
                guard strtab + nameOffset < end else { continue }
                symbols[String(decoding: bytes[(strtab + nameOffset)..<end], as: UTF8.self)] = (value, symSize)
            }
        }
        self.symbols = symbols
    }
}

extension Machine {
    /// Copies the image's segments into memory and points every hart at its entry.
    public func load(_ image: ELFImage) throws(LoadError) {
        for s in image.segments {
            try write(s.bytes, at: s.address)
            if s.memorySize > s.bytes.count {
                try write([UInt8](repeating: 0, count: s.memorySize - s.bytes.count), at: s.address &+ UInt32(s.bytes.count))
            }
        }
        for k in 0..<Int(flashSize / 2) { decodedFlags[k] = false }
        reset(entry: image.entry)
    }

    /// Why a run ended.
    public enum Stop: Sendable {
        case exited(Int32)
        case fault(EmulatorFault)
    }

    /// Runs every core until the program writes the exit register, faults, deadlocks
    /// or retires `limit` instructions in all. Time advances in windows of `quantum`
    /// cycles: in each, every running core runs until its clock reaches the window's
    /// end, lowest core first (it wins the banks it shares with later cores in a cycle).
    /// A core waiting at a join or barrier does not hold the window back; when it is
    /// released its clock jumps to the release.
    public func run(limit: UInt64 = .max, quantum: UInt64 = 256) -> Stop {
        var window: UInt64 = 0
        while true {
            window += quantum
            var progressed = false, ahead = false
            for c in 0..<cores where !waiting[c] {
                let before = clock(c)
                let outcome = run(core: c, until: window)
                if let f = platformFault { return .fault(f) }  // raised by a platform register during the run
                switch outcome {
                case .budget, .waiting: break
                case .exited: return .exited(exitCode ?? 0)
                case .fault(let f): return .fault(f)
                }
                if clock(c) != before { progressed = true }
                if !waiting[c], clock(c) >= window { ahead = true }
            }
            if instructions >= limit {
                return .fault(EmulatorFault(kind: .instructionLimit, core: 0, pc: pc[0], instruction: 0, step: step))
            }
            if !progressed && !ahead {
                return .fault(EmulatorFault(kind: .deadlock, core: 0, pc: pc[0], instruction: 0, step: step))
            }
        }
    }
}
