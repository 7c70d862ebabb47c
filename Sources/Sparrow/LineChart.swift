import Foundation

/// A small SVG line chart: one or more series over a shared x axis, one y axis.
/// Self-contained (no scripts, no external fonts) so it opens in any browser.
public struct LineChart: Sendable {
    /// One line of the chart, with its legend entry.
    public struct Series: Sendable {
        /// The legend text (XML-escaped when drawn).
        public var name: String
        /// CSS colour of the line, its dots and its legend swatch (inserted as is).
        public var color: String
        /// Data points in axis units, drawn in array order; points with a non-finite
        /// coordinate are skipped.
        public var points: [(x: Double, y: Double)]
        /// Draw a dot at every point (for sparse series such as per-epoch tests).
        /// A series with a single drawable point always gets a dot.
        public var dots: Bool

        /// Creates a series; `dots` defaults to a plain line.
        public init(name: String, color: String, points: [(x: Double, y: Double)], dots: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dots = dots
        }
    }

    /// The title above the plot.
    public var title: String
    /// The x axis's label, below the plot.
    public var xLabel: String
    /// The y axis's label, left of the plot.
    public var yLabel: String
    /// The lines, drawn and listed in the legend in order (legend entries 170 px apart).
    public var series: [Series]
    /// Fixed x axis range; nil fits the finite points of every series.
    public var xRange: ClosedRange<Double>?
    /// Fixed y axis range; nil fits the finite points of every series (a flat range
    /// is widened by 0.5 either side).
    public var yRange: ClosedRange<Double>?

    /// Creates a chart; nil ranges fit the data.
    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xRange = xRange
        self.yRange = yRange
    }

    /// The chart as an SVG `<g>` group of `width × height` pixels placed at (`x`, `y`).
    ///
    /// Not a document on its own: put it inside an `<svg>` element, or use ``document(_:width:height:)``.
    ///
    /// - Parameters:
    ///   - ox: Left edge in pixels of the enclosing SVG.
    ///   - oy: Top edge in pixels of the enclosing SVG.
    ///   - width: Width in pixels, margins and legend included.
    ///   - height: Height in pixels, title and axis labels included.
    /// - Returns: SVG markup ending in a newline.
    public func svg(x ox: Double = 0, y oy: Double = 0, width: Double = 480, height: Double = 300) -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let x0 = xRange?.lowerBound ?? (all.map(\.x).min() ?? 0)
        let x1 = max(xRange?.upperBound ?? (all.map(\.x).max() ?? 1), x0 + 1e-9)
        var y0 = yRange?.lowerBound ?? (all.map(\.y).min() ?? 0)
        var y1 = yRange?.upperBound ?? (all.map(\.y).max() ?? 1)
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let (left, right, top, bottom) = (56.0, 16.0, 44.0, 40.0)
        let pw = width - left - right, ph = height - top - bottom
        func px(_ v: Double) -> Double { ox + left + (v - x0) / (x1 - x0) * pw }
        func py(_ v: Double) -> Double { oy + top + (1 - (v - y0) / (y1 - y0)) * ph }
        var s = "<g font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<text x=\"\(f(ox + width / 2))\" y=\"\(f(oy + 16))\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        s += "<rect x=\"\(f(ox + left))\" y=\"\(f(oy + top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#999\"/>\n"
        for v in niceTicks(y0, y1) {
            s += "<line x1=\"\(f(ox + left))\" x2=\"\(f(ox + left + pw))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(ox + left - 4))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(tick(v))</text>\n"
        }
        for v in niceTicks(x0, x1) {
            s += "<text x=\"\(f(px(v)))\" y=\"\(f(oy + top + ph + 14))\" text-anchor=\"middle\">\(tick(v))</text>\n"
        }
        s += "<text x=\"\(f(ox + left + pw / 2))\" y=\"\(f(oy + height - 6))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(\(f(ox + 14)),\(f(oy + top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (k, series) in series.enumerated() {
            let pts = series.points.filter { $0.x.isFinite && $0.y.isFinite }
            if pts.count > 1 {
                let path = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                s += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.8\" points=\"\(path)\"/>\n"
            }
            if series.dots || pts.count == 1 {
                for p in pts { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(series.color)\"/>\n" }
            }
            // Legend in the margin above the plot, one entry after another.
            let lx = ox + left + Double(k) * 170, ly = oy + top - 10
            s += "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 16))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(lx + 20))\" y=\"\(f(ly))\">\(escape(series.name))</text>\n"
        }
        return s + "</g>\n"
    }

    /// A standalone SVG document holding `charts` side by side on a white background.
    ///
    /// - Parameters:
    ///   - charts: The charts, left to right.
    ///   - width: Width in pixels of each chart; the document is `width × charts.count` wide (at least `width`).
    ///   - height: Height in pixels of the document and of every chart.
    /// - Returns: An `<svg>` document ending in a newline.
    public static func document(_ charts: [LineChart], width: Double = 480, height: Double = 300) -> String {
        let total = width * Double(max(charts.count, 1))
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(total))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(total)) \(f(height))\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (i, c) in charts.enumerated() { s += c.svg(x: Double(i) * width, y: 0, width: width, height: height) }
        return s + "</svg>\n"
    }
}

