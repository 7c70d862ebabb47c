import Foundation

/// A one-line progress bar on standard error: redrawn in place on a terminal,
/// reduced to a line every 10 % when standard error is a file or pipe (CI logs).
struct ProgressBar {
    let title: String
    let total: Int
    private let interactive = isatty(FileHandle.standardError.fileDescriptor) != 0
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1

    init(title: String, total: Int) {
        self.title = title
        self.total = max(total, 1)
    }

    /// Shows `done` of `total` with a status such as "loss 0.41 acc 86.2%".
    mutating func update(_ done: Int, status: String = "") {
        let fraction = min(Double(done) / Double(total), 1)
        if interactive {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
            lastDraw = now
            let width = 28
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(title) \(bar) \(percent(fraction)) \(done)/\(total) \(eta(fraction)) \(status)"
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data("\(title) \(percent(fraction)) \(done)/\(total) \(status)\n".utf8))
        }
    }

    /// Ends the bar's line.
    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func percent(_ f: Double) -> String { String(format: "%3.0f%%", f * 100) }

    private func eta(_ f: Double) -> String {
        let elapsed = Date().timeIntervalSince(start)
        guard f > 0.01 else { return "" }
        let remaining = elapsed / f - elapsed
        return f >= 1 ? String(format: "%.1fs", elapsed) : String(format: "eta %.0fs", remaining)
    }
}
