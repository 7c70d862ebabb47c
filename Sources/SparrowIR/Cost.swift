/// Arithmetic cost of one node, in multiply-accumulates (MAC). Elementwise ops,
/// pooling and losses count 0 MAC: they are memory-bound and reported by bytes.
public func multiplyAccumulates(_ id: NodeID, in graph: Graph) -> Int {
    let node = graph[id]
    let x = node.inputs
    func conv(_ c: Conv2D, input: Shape, output: Shape) -> Int {
        let perOutput = c.window.kernelH * c.window.kernelW * (input[2] / c.groups)
        return output.elementCount * perOutput
    }
    switch node.op {
    case .input, .label, .parameter, .constant, .optimizerState, .add, .splitWeight, .gatherChannels, .activation, .maxPool2d, .avgPool2d,
         .globalAvgPool, .reshape, .softmaxCrossEntropy, .meanSquaredError, .activationMask, .maxPoolArgmax,
         .maskedGradient, .maxPool2dBackward, .avgPool2dBackward, .globalAvgPoolBackward, .biasGrad,
         .softmaxCrossEntropyGrad, .meanSquaredErrorGrad, .update:
        return 0
    case .conv2d(let c):
        return conv(c, input: graph[x[0]].type.shape, output: node.type.shape)
    case .conv2dInputGrad(let c):
        return conv(c, input: node.type.shape, output: graph[x[0]].type.shape)
    case .conv2dWeightGrad(let c):
        return conv(c, input: graph[x[0]].type.shape, output: graph[x[1]].type.shape)
    case .linear, .linearInputGrad:
        return graph[x[1]].type.shape.elementCount
    case .linearWeightGrad:
        return node.type.shape.elementCount
    }
}
