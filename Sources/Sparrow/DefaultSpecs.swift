/// Sparse-update specs in the style of the published sparse plans, for any model:
/// the biases of the last layers, the weights of a few late pointwise convs on a
/// fraction of their input channels (the first pointwise conv of an inverted
/// residual block where there is one: it contributes most), and the classifier.
public enum DefaultSpecs {
    /// The sparse spec `sparrow demo` and the memory tables use.
    /// - Parameters:
    ///   - biasLayers: how many of the last conv/linear layers train their bias.
    ///   - weightLayers: how many late pointwise convs train weights; the latest gets
    ///     ratio 1/2, the next 1/4, then 1/8.
    public static func sparse(for model: Model, biasLayers: Int = 12, weightLayers: Int = 3) -> UpdateSpec {
        let g = model.graph
        let layers = parameterizedLayers(g)
        let classifier = layers.last
        let late = layers.suffix(biasLayers).filter { $0 != classifier }
        let pointwise = late.filter { id in
            if case .conv2d(let c) = g[id].op { return c.window.kernelH == 1 && c.window.kernelW == 1 && c.groups == 1 }
            return false
        }
        let expand = pointwise.filter { g[$0].name.hasSuffix("expand") }
        let chosen = Array((expand.isEmpty ? pointwise : expand).suffix(weightLayers))
        let ratios = [Ratio(1, 2)!, Ratio(1, 4)!, Ratio(1, 8)!]
        var rules: [UpdateSpec.Rule] = [.lastLayers(biasLayers, .bias)]
        for (k, id) in chosen.reversed().enumerated() { rules.append(.layer(g[id].name, .weights(ratios[min(k, 2)]))) }
        rules.append(.lastLayers(1, .allWeights))
        return UpdateSpec(rules)
    }
}
