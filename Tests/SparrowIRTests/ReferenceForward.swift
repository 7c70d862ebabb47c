import SparrowIR

/// A naive fp64 interpreter of a model's forward graph, written from the op
/// definitions alone (HWC activations, weights `[Cout, Kh, Kw, Cin/groups]`,
/// depthwise `[Kh, Kw, C]`, linear `[Out, In]`), for checking weights that the
/// model-file code computes. Slow on purpose: plain loops, no shared code with
/// the loaders.
enum ReferenceForward {
    /// Values of every forward node, by node id, for one input sample.
    static func run(_ model: Model, input: [Double]) -> [NodeID: [Double]] {
        let g = model.graph
        var v: [NodeID: [Double]] = [:]
        for id in g.ids {
            let n = g[id]
            let x = n.inputs.first.flatMap { v[$0] } ?? []
            let xs = n.inputs.first.map { g[$0].type.shape } ?? Shape.scalar
            switch n.op {
            case .input: v[id] = input
            case .parameter, .constant: v[id] = (model.weights[n.name]?.scalars ?? []).map(Double.init)
            case .conv2d(let c):
                v[id] = conv(x, xs, weight: v[n.inputs[1]] ?? [], bias: n.inputs.count == 3 ? v[n.inputs[2]] : nil, c, out: n.type.shape)
            case .linear:
                let w = v[n.inputs[1]] ?? [], outF = n.type.shape[0], inF = xs[0]
                v[id] = (0..<outF).map { o in
                    (0..<inF).reduce(n.inputs.count == 3 ? v[n.inputs[2]]![o] : 0) { $0 + w[o * inF + $1] * x[$1] }
                }
            case .add: v[id] = zip(x, v[n.inputs[1]] ?? []).map { $0 + $1 }
            case .activation(.relu): v[id] = x.map { max($0, 0) }
            case .activation(.relu6): v[id] = x.map { min(max($0, 0), 6) }
            case .maxPool2d(let w): v[id] = pool(x, xs, w, out: n.type.shape, max: true)
            case .avgPool2d(let w): v[id] = pool(x, xs, w, out: n.type.shape, max: false)
            case .globalAvgPool:
                let c = xs[2], hw = xs[0] * xs[1]
                v[id] = (0..<c).map { ch in (0..<hw).reduce(0.0) { $0 + x[$1 * c + ch] } / Double(hw) }
            case .reshape: v[id] = x
            default: break  // losses and labels are not needed
            }
        }
        return v
    }

    static func conv(_ x: [Double], _ xs: Shape, weight w: [Double], bias: [Double]?, _ c: Conv2D, out: Shape) -> [Double] {
        let (h, wd, cin) = (xs[0], xs[1], xs[2])
        let (ho, wo, cout) = (out[0], out[1], out[2])
        let win = c.window
        let depthwise = c.isDepthwise(inChannels: cin)
        let cpg = cin / c.groups, opg = cout / c.groups
        var y = [Double](repeating: 0, count: ho * wo * cout)
        for oh in 0..<ho {
            for ow in 0..<wo {
                for o in 0..<cout {
                    var acc = bias?[o] ?? 0
                    let g = o / opg
                    for kh in 0..<win.kernelH {
                        for kw in 0..<win.kernelW {
                            let ih = oh * win.strideH - win.padTop + kh
                            let iw = ow * win.strideW - win.padLeft + kw
                            guard ih >= 0, ih < h, iw >= 0, iw < wd else { continue }
                            for ci in 0..<cpg {
                                let wIndex = depthwise ? (kh * win.kernelW + kw) * cout + o
                                    : ((o * win.kernelH + kh) * win.kernelW + kw) * cpg + ci
                                acc += w[wIndex] * x[(ih * wd + iw) * cin + g * cpg + ci]
                            }
                        }
                    }
                    y[(oh * wo + ow) * cout + o] = acc
                }
            }
        }
        return y
    }

    /// Max ignores padded positions; average divides by the full window (padding counts).
    static func pool(_ x: [Double], _ xs: Shape, _ w: Window2D, out: Shape, max isMax: Bool) -> [Double] {
        let (h, wd, c) = (xs[0], xs[1], xs[2])
        var y = [Double](repeating: 0, count: out.elementCount)
        for oh in 0..<out[0] {
            for ow in 0..<out[1] {
                for ch in 0..<c {
                    var acc = isMax ? -Double.infinity : 0
                    for kh in 0..<w.kernelH {
                        for kw in 0..<w.kernelW {
                            let ih = oh * w.strideH - w.padTop + kh, iw = ow * w.strideW - w.padLeft + kw
                            guard ih >= 0, ih < h, iw >= 0, iw < wd else { continue }
                            let value = x[(ih * wd + iw) * c + ch]
                            acc = isMax ? Swift.max(acc, value) : acc + value
                        }
                    }
                    y[(oh * out[1] + ow) * c + ch] = isMax ? acc : acc / Double(w.kernelH * w.kernelW)
                }
            }
        }
        return y
    }
}
