import Foundation
import Testing

/// SplitMix64, the same generator as SparrowIR's `SeededGenerator` (this target
/// cannot import SparrowIR). Every seeded test prints its seed.
struct SplitMix64: RandomNumberGenerator {
    private(set) var state: UInt64

    init(seed: UInt64, _ label: String) {
        state = seed
        print("[CSparrowKernelsTests] \(label): seed \(seed)")
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi), 24-bit resolution.
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in float(lo, hi) }
    }
}

/// Core counts every split test runs; 1 is the reference.
let coreCounts: [Int] = [1, 2, 3, 8]

/// Calls `body(core, cores)` for core 0..<cores, sequentially, as the host runtime does.
func forEachCore(_ cores: Int, _ body: (Int32, Int32) -> Void) {
    for core in 0..<cores { body(Int32(core), Int32(cores)) }
}

/// A pointer to `values` for the duration of `body`, or nil (a nullable C argument).
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Expects `got` (fp32 kernel output) close to `want` (fp64 reference):
/// |got - want| <= rtol * scale[i] + atol, where `scale` is the magnitude of the
/// terms that formed the element (e.g. the same reference run on absolute values).
func expectClose(_ got: [Float], _ want: [Double], scale: [Double]? = nil, rtol: Double = 1e-5,
                 atol: Double = 1e-30, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)",
            sourceLocation: sourceLocation)
    guard got.count == want.count else { return }
    var worst = 0.0, worstIndex = -1
    for i in got.indices {
        let tol = rtol * (scale?[i] ?? max(1, abs(want[i]))) + atol
        let err = abs(Double(got[i]) - want[i])
        let ratio = err.isNaN ? .infinity : err / tol
        if ratio > worst { worst = ratio; worstIndex = i }
    }
    #expect(worst <= 1, "\(what): element \(worstIndex) is \(worstIndex >= 0 ? got[worstIndex] : 0), expected \(worstIndex >= 0 ? want[worstIndex] : 0) (\(worst)x the tolerance)",
            sourceLocation: sourceLocation)
}

/// Central difference in fp64 of `loss` with respect to every element of `point`.
func finiteDifference(_ point: [Double], step: Double = 1e-3, _ loss: ([Double]) -> Double) -> [Double] {
    var p = point
    return point.indices.map { i in
        let saved = p[i]
        p[i] = saved + step
        let up = loss(p)
        p[i] = saved - step
        let down = loss(p)
        p[i] = saved
        return (up - down) / (2 * step)
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
}

func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }

/// Runs `kernel` over every core count with a NaN-poisoned output and expects the
/// bits of num_cores == 1 each time. `kernel(out, core, cores)` fills `out`.
func expectSplitInvariant(count: Int, initial: [Float]? = nil, _ what: String,
                          sourceLocation: SourceLocation = #_sourceLocation,
                          _ kernel: (UnsafeMutablePointer<Float>, Int32, Int32) -> Void) {
    var reference: [UInt32] = []
    for cores in coreCounts {
        var out = initial ?? [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBufferPointer { buf in
            forEachCore(cores) { core, n in kernel(buf.baseAddress!, core, n) }
        }
        if cores == 1 {
            reference = bits(out)
            #expect(!out.contains { $0.isNaN }, "\(what): NaN left with 1 core", sourceLocation: sourceLocation)
        } else {
            #expect(bits(out) == reference, "\(what): \(cores) cores differ from 1 core",
                    sourceLocation: sourceLocation)
        }
    }
}
