extension Model {
    /// The model with layer `name`'s parameters drawn afresh, as `ModelBuilder`
    /// initialises them: weights uniform in ±√(6/fan_in) from a seeded generator,
    /// bias zero. Transfer learning starts this way: pretrained features, a new head.
    /// - Throws: `ModelError.unknownLayer` when no conv or linear layer has that name.
    public func reinitializing(layer name: String, seed: UInt64) throws(ModelError) -> Model {
        guard let id = graph.id(named: name), graph[id].inputs.count >= 2 else { throw .unknownLayer(name) }
        let fanIn: Int
        switch graph[id].op {
        case .conv2d(let c): fanIn = c.window.kernelH * c.window.kernelW * (graph[graph[id].inputs[0]].type.shape[2] / c.groups)
        case .linear: fanIn = graph[graph[id].inputs[0]].type.shape[0]
        default: throw .unknownLayer(name)
        }
        var m = self
        var rng = SeededGenerator(seed: seed)
        let w = graph[graph[id].inputs[1]]
        let bound = Float((6.0 / Double(fanIn)).squareRoot())
        m.weights[w.name] = Tensor(shape: w.type.shape, scalars: (0..<w.type.shape.elementCount).map { _ in
            (rng.nextUnitFloat() * 2 - 1) * bound
        })
        if graph[id].inputs.count > 2 {
            let b = graph[graph[id].inputs[2]]
            m.weights[b.name] = Tensor(zeros: b.type.shape)
        }
        return m
    }
}
