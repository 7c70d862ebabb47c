import Foundation

/// The files the exported host harness (`main.c`) reads and writes, little-endian.
public enum HarnessFiles {
    /// `SPSM` version 1: count, elements, then per sample `f32[elements]` and an `i32` label.
    public static func samples(_ samples: [[Float]], labels: [Int32]) -> Data {
        precondition(samples.count == labels.count, "one label per sample")
        var d = Data("SPSM".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(1)
        u32(UInt32(samples.count))
        u32(UInt32(samples.first?.count ?? 0))
        for (s, l) in zip(samples, labels) {
            for v in s { u32(v.bitPattern) }
            u32(UInt32(bitPattern: l))
        }
        return d
    }

    /// What `./train` wrote: per-step losses, the trained state by tensor name, skipped FP16 steps.
    public struct Result: Sendable {
        public var losses: [Float]
        public var state: [(name: String, bytes: [UInt8])]
        public var skippedSteps: Int
    }

    /// Reads an `SPRO` version 1 file; nil if it is malformed.
    public static func result(_ data: Data) -> Result? {
        let b = [UInt8](data)
        var at = 0
        func u32() -> UInt32? {
            guard at + 4 <= b.count else { return nil }
            defer { at += 4 }
            return UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        }
        func bytes(_ n: Int) -> [UInt8]? {
            guard n >= 0, at + n <= b.count else { return nil }
            defer { at += n }
            return Array(b[at..<at + n])
        }
        guard bytes(4) == Array("SPRO".utf8), u32() == 1, let steps = u32() else { return nil }
        var losses: [Float] = []
        for _ in 0..<steps { guard let v = u32() else { return nil }; losses.append(Float(bitPattern: v)) }
        guard let count = u32() else { return nil }
        var state: [(String, [UInt8])] = []
        for _ in 0..<count {
            guard let n = u32(), let name = bytes(Int(n)), let m = u32(), let data = bytes(Int(m)) else { return nil }
            state.append((String(decoding: name, as: UTF8.self), data))
        }
        guard let skipped = u32(), at == b.count else { return nil }
        return Result(losses: losses, state: state, skippedSteps: Int(skipped))
    }
}
