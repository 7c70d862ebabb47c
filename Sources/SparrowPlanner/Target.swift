import Foundation
import SparrowIR

/// A microcontroller a plan is compiled, exported and emulated for: its cores,
/// instruction set and memories (`targets/*.json`, see docs/target-format.md).
public struct Target: Hashable, Sendable {
    public var name: String
    public var summary: String
    /// Cores of the cluster that run the kernels (fork-join).
    public var cores: Int
    public var clockHz: Int
    /// `-march` and `-mabi` the rv32 build uses, e.g. `rv32imfc_zfh` and `ilp32f`.
    public var march: String
    public var mabi: String
    /// ISA extensions the cores have beyond what `march` tells the compiler (kernels
    /// emit them with `.insn`), e.g. `xfvec`, PULP's packed-FP16 SIMD.
    public var extensions: [String] = []
    /// Read-only memory: code, constants and frozen weights.
    public var flash: MemoryRegion
    /// The SRAM the plan's arena lives in; its size is the default budget.
    public var l2: MemoryRegion
    /// The cluster's shared scratchpad (stacks, small state, kernel tiles).
    public var l1: MemoryRegion
    /// Word-interleaved banks of L1.
    public var l1Banks: Int
    /// Bytes of stack per core (in L1).
    public var stackBytes: Int
    /// Memory-mapped registers of Sparrow's platform (exit code, console, step marker, cluster control).
    public var peripherals: UInt32
    /// Cycles of instructions, memory accesses and synchronization (the emulator's cycle model).
    public var timing = Timing()
    /// Picojoules per counted event (the emulator's energy model).
    public var energy = Energy()
    /// Published chip efficiency (operations per second per watt, a multiply-add
    /// counting 2) that `energy` is calibrated against; empty if none is known.
    public var efficiency: [Arithmetic: Double] = [:]

    public init(name: String, summary: String, cores: Int, clockHz: Int, march: String, mabi: String, flash: MemoryRegion,
                l2: MemoryRegion, l1: MemoryRegion, l1Banks: Int, stackBytes: Int, peripherals: UInt32) {
        self.name = name
        self.summary = summary
        self.cores = cores
        self.clockHz = clockHz
        self.march = march
        self.mabi = mabi
        self.flash = flash
        self.l2 = l2
        self.l1 = l1
        self.l1Banks = l1Banks
        self.stackBytes = stackBytes
        self.peripherals = peripherals
    }

    /// One memory of the target: where it starts in the address space and its size.
    public struct MemoryRegion: Hashable, Sendable {
        public var origin: UInt32
        public var bytes: Int
        public init(origin: UInt32, bytes: Int) {
            self.origin = origin
            self.bytes = bytes
        }
    }

    /// Whether the ISA has single-precision floating point (`f`) and half precision (`zfh`).
    public var hasFPU: Bool { isaLetters.contains("f") }
    public var hasZfh: Bool { march.contains("zfh") }

    private var isaLetters: Set<Character> {
        let base = march.lowercased().split(separator: "_").first.map(String.init) ?? ""
        guard base.hasPrefix("rv32") else { return [] }
        var letters = Set(base.dropFirst(4))
        if letters.contains("g") { letters.formUnion("imafd") }
        return letters
    }

    /// The target named `name` among the shipped ones in `directory`, or nil.
    public static func named(_ name: String, in directory: URL) throws(TargetError) -> Target? {
        let url = directory.appendingPathComponent(name + ".json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try Target(contentsOf: url)
    }

    /// Names of the targets in `directory` (`*.json`), sorted.
    public static func names(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The default target's name.
    public static let defaultName = "pulp-cluster"
}

/// A target file that cannot be used; names the file and the field.
public struct TargetError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var detail: String
    public var description: String { "\(file): \(detail)" }
}

extension Target {
    /// Reads a target description (strict: unknown fields are errors).
    public init(contentsOf url: URL) throws(TargetError) {
        let file = url.path
        func fail(_ d: String) -> TargetError { TargetError(file: file, detail: d) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw fail("cannot read the file: \(ModelFile.reason(error))") }
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch { throw fail(error.description) }
        guard case .object(let top) = root else { throw fail("must be a JSON object") }
        func only(_ o: [String: JSONValue], _ known: [String], _ at: String) throws(TargetError) {
            if let k = o.keys.sorted().first(where: { !known.contains($0) }) {
                throw fail("unknown field '\(at)\(k)'; known: \(known.map { at + $0 }.joined(separator: ", "))")
            }
        }
        func string(_ o: [String: JSONValue], _ k: String, _ at: String) throws(TargetError) -> String {
            guard case .string(let s)? = o[k], !s.isEmpty else { throw fail("'\(at)\(k)' must be a non-empty string") }
            return s
        }
        func int(_ o: [String: JSONValue], _ k: String, _ at: String, _ range: ClosedRange<Int>) throws(TargetError) -> Int {
            guard case .int(let v)? = o[k] else { throw fail("'\(at)\(k)' must be an integer") }
            guard range.contains(v) else { throw fail("'\(at)\(k)' is \(v), outside \(range.lowerBound)…\(range.upperBound)") }
            return v
        }
        func object(_ o: [String: JSONValue], _ k: String, _ at: String) throws(TargetError) -> [String: JSONValue] {
            guard case .object(let v)? = o[k] else { throw fail("'\(at)\(k)' must be an object") }
            return v
        }
        func region(_ k: String) throws(TargetError) -> MemoryRegion {
            let m = try object(try object(top, "memory", ""), k, "memory.")
            let at = "memory.\(k)."
            try only(m, ["origin", "bytes"], at)
            return MemoryRegion(origin: UInt32(try int(m, "origin", at, 0...0xFFFF_0000)), bytes: try int(m, "bytes", at, 1...(1 << 30)))
        }
        try only(top, ["format", "name", "summary", "cores", "clock_hz", "isa", "memory", "l1_banks", "stack_bytes", "peripherals", "timing", "energy_pj", "efficiency",
                       "sources"], "")
        guard case .string("sparrow-target")? = top["format"] else { throw fail("expected \"format\": \"sparrow-target\"") }
        let isa = try object(top, "isa", "")
        try only(isa, ["march", "mabi", "extensions"], "isa.")
        var extensions: [String] = []
        if let e = isa["extensions"] {
            guard case .array(let items) = e else { throw fail("'isa.extensions' must be an array of extension names") }
            for item in items {
                guard case .string(let name) = item, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }), !name.isEmpty else {
                    throw fail("'isa.extensions' holds lowercase extension names such as \"xfvec\"")
                }
                extensions.append(name)
            }
        }
        try only(try object(top, "memory", ""), ["flash", "l2", "l1"], "memory.")
        self.init(name: try string(top, "name", ""), summary: try string(top, "summary", ""), cores: try int(top, "cores", "", 1...64),
                  clockHz: try int(top, "clock_hz", "", 1...10_000_000_000), march: try string(isa, "march", "isa."),
                  mabi: try string(isa, "mabi", "isa."), flash: try region("flash"), l2: try region("l2"), l1: try region("l1"),
                  l1Banks: try int(top, "l1_banks", "", 1...1024), stackBytes: try int(top, "stack_bytes", "", 256...(1 << 20)),
                  peripherals: UInt32(try int(top, "peripherals", "", 0...0xFFFF_0000)))
        self.extensions = extensions
        (timing, energy) = try Target.timingAndEnergy(top, fail: fail)
        efficiency = try Target.efficiency(top, fail: fail)
        guard march.hasPrefix("rv32"), march.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw fail("'isa.march' must be an rv32 ISA string such as rv32imfc_zfh, is '\(march)'")
        }
        guard mabi.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }) else { throw fail("'isa.mabi' must be an ABI name such as ilp32f, is '\(mabi)'") }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw fail("'name' may hold ASCII letters, digits, - and _ only, is '\(name)'")
        }
        let regions = [("flash", flash), ("l2", l2), ("l1", l1)]
        for (i, a) in regions.enumerated() {
            for b in regions[(i + 1)...] {
                let (x, y) = (UInt64(a.1.origin), UInt64(b.1.origin))
                if x < y + UInt64(b.1.bytes) && y < x + UInt64(a.1.bytes) { throw fail("memory.\(a.0) and memory.\(b.0) overlap") }
            }
        }
        guard stackBytes * cores < l1.bytes else { throw fail("stacks (\(cores) × \(stackBytes) B) do not fit in L1 (\(l1.bytes) B)") }
    }
}
