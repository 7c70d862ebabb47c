@testable import SparrowRuntime
import SparrowAutodiff
import SparrowIR

/// Runs models through the real pipeline (derive → plan → C kernels) for tests.
struct GradientHarness {
    let model: Model
    let sample: [Float]
    let label: Int32

    /// Every parameter's gradient, computed by the derived training graph.
    func analyticGradients(trainable: Set<String>? = nil) throws -> [String: [Float]] {
        let t = try deriveTrainingGraph(model.graph, trainable: trainable, optimizer: .plainSGD)
        let e = try Executor(graph: t.graph, weights: model.weights, pinned: Set(t.gradients.values))
        feed(e)
        e.run(t.graph.ids, context: StepContext(learningRate: 0), updates: false)
        var result = [String: [Float]]()
        for (p, g) in t.gradients { result[t.graph[p].name] = e.read(g) }
        return result
    }

    /// The loss with the given weights, evaluated by the forward graph.
    func loss(_ weights: [String: Tensor]) throws -> Double {
        let e = try Executor(graph: model.graph, weights: weights)
        feed(e)
        e.run(model.graph.ids, context: StepContext(), updates: false)
        return Double(e.scalar(model.graph.loss!))
    }

    private func feed(_ e: Executor) {
        let g = e.graph
        e.write(sample, to: g.ids(where: { $0 == .input })[0])
        let l = g.ids(where: { $0 == .label })[0]
        if g[l].type.dtype == .int32 {
            e.write(int32: [label], to: l)
        } else {
            var target = [Float](repeating: 0, count: g[l].type.shape.elementCount)
            for i in target.indices { target[i] = Float(i % 3) * 0.25 }
            e.write(target, to: l)
        }
    }

    /// Central difference of the loss along `direction` (one entry per parameter)
    /// compared with the analytic directional derivative. Returns (numeric, analytic).
    func directionalCheck(seed: UInt64, epsilon: Float = 1e-3) throws -> (numeric: Double, analytic: Double) {
        var rng = SeededGenerator(seed: seed)
        let grads = try analyticGradients()
        var plus = model.weights, minus = model.weights
        var analytic = 0.0
        var norm = 0.0
        var direction = [String: [Float]]()
        for name in grads.keys.sorted() {
            let d = (0..<grads[name]!.count).map { _ in Float(rng.nextGaussian()) }
            direction[name] = d
            norm += d.reduce(0.0) { $0 + Double($1 * $1) }
        }
        let scale = Float(1 / norm.squareRoot())
        for name in grads.keys.sorted() {
            let d = direction[name]!.map { $0 * scale }
            for i in d.indices {
                plus[name]!.scalars[i] += epsilon * d[i]
                minus[name]!.scalars[i] -= epsilon * d[i]
                analytic += Double(grads[name]![i]) * Double(d[i])
            }
        }
        let numeric = (try loss(plus) - loss(minus)) / (2 * Double(epsilon))
        return (numeric, analytic)
    }
}

/// A random sample for a model's input.
func randomSample(_ model: Model, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    let input = model.graph.ids(where: { $0 == .input })[0]
    return (0..<model.graph[input].type.shape.elementCount).map { _ in Float(rng.nextGaussian()) }
}
