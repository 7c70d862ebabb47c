import Foundation

extension PlanProfile {
    /// Phase colours of the profile charts.
    static let phaseColors = ["forward": "#4878d0", "backward": "#ee854a", "update": "#6acc64"]

    /// An SVG of one training step: cycles (top) and energy (bottom) of each plan step
    /// in schedule order, coloured by phase, and beside each panel one bar of the
    /// step's total stacked by phase.
    ///
    /// The energy panel is in nJ. The harness's cycles and energy are not drawn.
    ///
    /// - Parameters:
    ///   - width: Width of the document in pixels; the bars get `width − 180` (a 70 px
    ///     left margin, 110 px on the right for the total bars).
    ///   - panelHeight: Height of each of the two panels in pixels; the document is
    ///     `2 × panelHeight + 140` pixels high.
    /// - Returns: A standalone `<svg>` document ending in a newline.
    public func svg(width: Double = 900, panelHeight: Double = 220) -> String {
        let left = 70.0, right = 110.0, top = 40.0, gap = 60.0
        let plotWidth = width - left - right
        let height = top + 2 * panelHeight + gap + 40
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        let title = "\(model) \(precision) on \(target) (\(cores) cores): " + String(format: "%.0f cycles, %.2f ms, %.1f µJ, %.2f MAC/cycle per step", cycles, milliseconds, microjoules, macsPerCycle)
        s += "<text x=\"\(f(left))\" y=\"20\" font-size=\"13\">\(escape(title))</text>\n"
        let panels: [(String, (Entry) -> Double, Double)] = [("cycles", { $0.cycles }, top), ("energy (nJ)", { $0.picojoules / 1e3 }, top + panelHeight + gap)]
        let barWidth = plotWidth / Double(max(entries.count, 1))
        for (label, value, y0) in panels {
            let maxValue = max(entries.map(value).max() ?? 1, 1e-9)
            let ticks = niceTicks(0, maxValue)
            let scale = panelHeight / (ticks.last.map { max($0, maxValue) } ?? maxValue)
            for t in ticks {
                let y = y0 + panelHeight - t * scale
                s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
                s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(tick(t))</text>\n"
            }
            s += "<text x=\"14\" y=\"\(f(y0 + panelHeight / 2))\" transform=\"rotate(-90 14 \(f(y0 + panelHeight / 2)))\" text-anchor=\"middle\">\(escape(label))</text>\n"
            for (k, e) in entries.enumerated() {
                let h = value(e) * scale
                s += "<rect x=\"\(f(left + Double(k) * barWidth))\" y=\"\(f(y0 + panelHeight - h))\" width=\"\(f(max(barWidth - 1, 0.5)))\" height=\"\(f(h))\" fill=\"\(PlanProfile.phaseColors[e.phase] ?? "#999")\"><title>\(escape("\(e.name) (\(e.op), \(e.phase)): \(Int(value(e).rounded()))"))</title></rect>\n"
            }
            // The step's total, stacked by phase, scaled to the panel.
            let total = entries.reduce(0) { $0 + value($1) }
            var y = y0 + panelHeight
            for phase in ["forward", "backward", "update"] {
                let h = entries.filter { $0.phase == phase }.reduce(0) { $0 + value($1) } / max(total, 1e-9) * panelHeight
                y -= h
                s += "<rect x=\"\(f(left + plotWidth + 30))\" y=\"\(f(y))\" width=\"30\" height=\"\(f(h))\" fill=\"\(PlanProfile.phaseColors[phase]!)\"/>\n"
            }
            s += "<text x=\"\(f(left + plotWidth + 45))\" y=\"\(f(y0 - 6))\" text-anchor=\"middle\">\(escape(String(format: "%.0f", total)))</text>\n"
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y0 + panelHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y0 + panelHeight))\" stroke=\"black\"/>\n"
        }
        var x = left
        for phase in ["forward", "backward", "update"] {
            s += "<rect x=\"\(f(x))\" y=\"\(f(height - 22))\" width=\"12\" height=\"12\" fill=\"\(PlanProfile.phaseColors[phase]!)\"/>"
            s += "<text x=\"\(f(x + 16))\" y=\"\(f(height - 12))\">\(phase)</text>\n"
            x += 90
        }
        s += "<text x=\"\(f(x + 20))\" y=\"\(f(height - 12))\">plan steps in schedule order; right: the step's total by phase</text>\n"
        s += "</svg>\n"
        return s
    }
}
