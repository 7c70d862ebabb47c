import Foundation

/// The picture of a plan's memory: SRAM bytes alive at every step of the
/// schedule, stacked by kind, with the budget, the peak and the boundary between
/// the forward and backward passes marked.
public enum MemoryTimeline {
    /// Kinds of SRAM allocation, bottom to top.
    enum Kind: String, CaseIterable {
        case persistent = "kept all step (trainable weights, optimizer state)"
        case activation = "activations"
        case saved = "saved for backward (masks, argmax)"
        case gradient = "gradients"
        case scratch = "kernel scratch"

        var color: String {
            switch self {
            case .persistent: return "#7f7f7f"
            case .activation: return "#1f77b4"
            case .saved: return "#9467bd"
            case .gradient: return "#ff7f0e"
            case .scratch: return "#bcbd22"
            }
        }
    }

    /// A standalone SVG document of `plan`'s SRAM over one training step.
    ///
    /// One column per schedule step (node), stacked bottom to top: the persistent
    /// part of the arena (trainable weights, optimizer state), activations, tensors
    /// saved for backward (masks, argmax, gathered channels), gradients (every
    /// backward-phase tensor outside the persistent part), and the kernel scratch at
    /// every step. The y axis is in KB (1024 bytes). A dashed line marks the end of the
    /// forward pass; a red line the arena size (`MemoryPlan.peakSRAM`, labelled with
    /// `MemoryPlan.lowerBound`); a green dashed line the budget, if the plan has one.
    /// Flash, views and fused tensors are not drawn.
    ///
    /// - Parameters:
    ///   - plan: The compiled plan.
    ///   - width: Width of the document in pixels.
    ///   - height: Height of the document in pixels.
    /// - Returns: An `<svg>` document ending in a newline.
    public static func svg(_ plan: TrainingPlan, width: Double = 900, height: Double = 380) -> String {
        let g = plan.graph, m = plan.memory
        let steps = max(g.count, 1)
        var stacks = Array(repeating: [Double](repeating: 0, count: steps), count: Kind.allCases.count)
        for id in g.ids where m.regions[id] == .sram && m.sizes[id] > 0 {
            let kind: Kind
            switch g[id].op {
            case .activationMask, .maxPoolArgmax, .gatherChannels: kind = .saved
            default:
                // The persistent region comes first in the arena.
                kind = m.offsets[id] < m.persistentBytes ? .persistent
                    : plan.training.phase(of: id) == .backward ? .gradient : .activation
            }
            let k = Kind.allCases.firstIndex(of: kind)!
            for s in m.lifetimes[id] { stacks[k][s] += Double(m.sizes[id]) }
        }
        let scratchIndex = Kind.allCases.firstIndex(of: .scratch)!
        for s in 0..<steps { stacks[scratchIndex][s] = Double(m.scratchSize) }

        let (left, right, top, bottom) = (70.0, 20.0, 70.0, 44.0)
        let pw = width - left - right, ph = height - top - bottom
        let yMax = max(Double(m.peakSRAM), Double(plan.budget ?? 0)) * 1.05
        func px(_ step: Double) -> Double { left + step / Double(steps) * pw }
        func py(_ bytes: Double) -> Double { top + (1 - bytes / max(yMax, 1)) * ph }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        let title = "\(plan.modelName): SRAM over the training step (\(m.precision.rawValue), \(plan.training.optimizer.name), updates \(plan.reorderUpdates ? "reordered" : "at the end"))"
        s += "<text x=\"\(f(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        var below = [Double](repeating: 0, count: steps)
        for (k, kind) in Kind.allCases.enumerated() {
            let above = zip(below, stacks[k]).map { $0 + $1 }
            guard stacks[k].contains(where: { $0 > 0 }) else { continue }
            var pts: [String] = []
            for i in 0..<steps { pts.append("\(f(px(Double(i)))),\(f(py(above[i])))"); pts.append("\(f(px(Double(i + 1)))),\(f(py(above[i])))") }
            for i in (0..<steps).reversed() { pts.append("\(f(px(Double(i + 1)))),\(f(py(below[i])))"); pts.append("\(f(px(Double(i)))),\(f(py(below[i])))") }
            s += "<polygon fill=\"\(kind.color)\" fill-opacity=\"0.85\" stroke=\"none\" points=\"\(pts.joined(separator: " "))\"/>\n"
            below = above
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#999\"/>\n"
        for v in niceTicks(0, yMax / 1024) {
            s += "<text x=\"\(f(left - 4))\" y=\"\(f(py(v * 1024) + 4))\" text-anchor=\"end\">\(tick(v)) KB</text>\n"
        }
        for v in niceTicks(0, Double(steps)) where v < Double(steps) {
            s += "<text x=\"\(f(px(v)))\" y=\"\(f(top + ph + 14))\" text-anchor=\"middle\">\(tick(v))</text>\n"
        }
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">schedule step (forward | backward and updates)</text>\n"
        let fe = px(Double(plan.training.forwardEnd))
        s += "<line x1=\"\(f(fe))\" x2=\"\(f(fe))\" y1=\"\(f(top))\" y2=\"\(f(top + ph))\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>\n"
        let peakY = py(Double(m.peakSRAM))
        s += "<line x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(peakY))\" y2=\"\(f(peakY))\" stroke=\"#d62728\" stroke-width=\"1.2\"/>\n"
        s += "<text x=\"\(f(left + pw - 4))\" y=\"\(f(peakY - 4))\" text-anchor=\"end\" fill=\"#d62728\">arena \(kilobytes(m.peakSRAM)) (lower bound \(kilobytes(m.lowerBound)))</text>\n"
        if let b = plan.budget {
            let by = py(Double(b))
            s += "<line x1=\"\(f(left))\" x2=\"\(f(left + pw))\" y1=\"\(f(by))\" y2=\"\(f(by))\" stroke=\"#2ca02c\" stroke-width=\"1.2\" stroke-dasharray=\"6 3\"/>\n"
            s += "<text x=\"\(f(left + 4))\" y=\"\(f(by - 4))\" fill=\"#2ca02c\">budget \(kilobytes(b))</text>\n"
        }
        var lx = left, ly = 38.0
        for kind in Kind.allCases {
            let w = 22 + Double(kind.rawValue.count) * 6.2
            if lx + w > width - right { lx = left; ly += 16 }
            defer { lx += w + 14 }
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"12\" height=\"10\" fill=\"\(kind.color)\"/>\n"
            s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\">\(escape(kind.rawValue))</text>\n"
        }
        return s + "</svg>\n"
    }
}
