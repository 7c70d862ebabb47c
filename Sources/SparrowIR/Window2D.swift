/// A sliding 2-D window over an HWC tensor: kernel size, stride and zero padding,
/// shared by convolutions and pooling. Padding may be asymmetric (TensorFlow's
/// "same" with stride 2 pads more at the bottom/right).
public struct Window2D: Hashable, Sendable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0)) {
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (padTop, padLeft, padBottom, padRight) = padding
    }

    /// Symmetric padding `p` on every side.
    public init(kernel: Int, stride: Int = 1, padding p: Int = 0) {
        self.init(kernel: (kernel, kernel), stride: (stride, stride), padding: (p, p, p, p))
    }

    /// Output spatial size for an input of `h × w`, or nil when the window does not fit
    /// or a field is out of range (non-positive kernel or stride, negative or ≥ kernel padding).
    public func outputSize(inputH h: Int, inputW w: Int) -> (h: Int, w: Int)? {
        guard kernelH > 0, kernelW > 0, strideH > 0, strideW > 0,
              padTop >= 0, padLeft >= 0, padBottom >= 0, padRight >= 0,
              padTop < kernelH, padBottom < kernelH, padLeft < kernelW, padRight < kernelW,
              kernelH <= 1024, kernelW <= 1024, strideH <= 1024, strideW <= 1024
        else { return nil }
        let spanH = h + padTop + padBottom - kernelH
        let spanW = w + padLeft + padRight - kernelW
        guard spanH >= 0, spanW >= 0 else { return nil }
        return (spanH / strideH + 1, spanW / strideW + 1)
    }

    public var summary: String {
        var s = "\(kernelH)×\(kernelW)"
        if strideH != 1 || strideW != 1 { s += " /\(strideH == strideW ? "\(strideH)" : "\(strideH)×\(strideW)")" }
        if padTop + padLeft + padBottom + padRight > 0 {
            s += [padTop, padLeft, padBottom, padRight].allSatisfy({ $0 == padTop })
                ? " pad \(padTop)" : " pad \(padTop),\(padLeft),\(padBottom),\(padRight)"
        }
        return s
    }
}

/// A 2-D convolution: window, output channels and groups.
/// `groups == 1` is an ordinary convolution, `groups == Cin == Cout` is depthwise,
/// and a 1×1 window is pointwise.
public struct Conv2D: Hashable, Sendable {
    public var window: Window2D
    public var outChannels: Int
    public var groups: Int

    public init(window: Window2D, outChannels: Int, groups: Int = 1) {
        self.window = window
        self.outChannels = outChannels
        self.groups = groups
    }

    /// True when the weight uses the depthwise layout `[Kh, Kw, C]`.
    public func isDepthwise(inChannels: Int) -> Bool {
        groups > 1 && groups == inChannels && groups == outChannels
    }

    /// Weight shape for an input with `inChannels` channels.
    public func weightShape(inChannels: Int) -> Shape {
        if isDepthwise(inChannels: inChannels) {
            return Shape(window.kernelH, window.kernelW, outChannels)
        }
        return Shape(outChannels, window.kernelH, window.kernelW, inChannels / max(groups, 1))
    }
}
