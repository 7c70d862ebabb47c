/// Removes nodes that neither the prediction nor the loss depends on (layers a
/// model file defines but never uses, and their parameters). A pass from graph
/// to graph: the survivors keep their order, names and types.
public func eliminatingDeadNodes(_ graph: Graph) -> Graph {
    var live = Array(repeating: false, count: graph.count)
    for root in [graph.prediction, graph.loss].compactMap({ $0 }) { live[root] = true }
    for i in graph.ids.reversed() where live[i] { for j in graph[i].inputs { live[j] = true } }
    guard live.contains(false) else { return graph }
    var map = Array(repeating: -1, count: graph.count)
    var nodes: [Node] = []
    for i in graph.ids where live[i] {
        var n = graph[i]
        n.inputs = n.inputs.map { map[$0] }
        map[i] = nodes.count
        nodes.append(n)
    }
    return Graph(unchecked: nodes, prediction: graph.prediction.map { map[$0] }, loss: graph.loss.map { map[$0] })
}
