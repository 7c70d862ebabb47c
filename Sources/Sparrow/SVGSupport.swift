import Foundation

// Small helpers shared by the SVG renderers.

/// Round tick values (steps of 1, 2 or 5 × 10ⁿ) inside [lo, hi], about five of them.
func niceTicks(_ lo: Double, _ hi: Double) -> [Double] {
    let raw = (hi - lo) / 5
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var v = (lo / step).rounded(.up) * step
    var ticks: [Double] = []
    while v <= hi + step * 1e-9 {
        ticks.append(abs(v) < step * 1e-9 ? 0 : v)
        v += step
    }
    return ticks
}

func f(_ v: Double) -> String { String(format: "%.1f", v) }

func tick(_ v: Double) -> String { String(format: "%g", v) }

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}
