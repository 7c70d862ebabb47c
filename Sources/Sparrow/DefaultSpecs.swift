/// Sparse-update specs in the style of the published sparse plans, for any model:
/// the biases of the last layers, the weights of a few late pointwise convs on a
/// fraction of their input channels (the first pointwise conv of an inverted
/// residual block where there is one: it contributes most), and the classifier.
public enum DefaultSpecs {
    /// The sparse spec that `sparrow demo`, `--spec sparse` and the benchmark tables use.
    ///
    /// Weight candidates are the 1×1 ungrouped convs among the last `biasLayers`
    /// parameterized layers (`parameterizedLayers(_:)`), the classifier excluded; if
    /// any of them is named `…expand`, only those. The last `weightLayers` candidates
    /// train their weights on their highest-norm input channels. The classifier
    /// (the last parameterized layer) trains all its weights and bias.
    ///
    /// The spec is not checked here: a bias rule on a layer without a bias fails when
    /// the spec is resolved (`UpdateSpec.resolve(_:)` throws `SpecError.noBias`).
    ///
    /// - Parameters:
    ///   - model: The model whose layers the spec names.
    ///   - biasLayers: How many of the last conv/linear layers train their bias; must not be negative.
    ///   - weightLayers: How many late pointwise convs train weights (fewer if fewer
    ///     qualify); must not be negative. The latest gets ratio 1/2, the next 1/4,
    ///     every earlier one 1/8.
    /// - Returns: Rules in order: bias of the last `biasLayers` layers, each chosen
    ///   layer's weights at its ratio, all weights of the classifier.
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
