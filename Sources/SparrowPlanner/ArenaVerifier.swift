import SparrowIR

/// A violation of the arena invariants (DESIGN.md invariant 3).
public struct ArenaViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// Checks that no two allocations alive at the same step overlap, that every
/// allocation lies inside the arena below the scratch region, and that aliases
/// point at their storage's offset. Quadratic; meant for tests and debugging.
public func verifyArena(_ plan: ArenaPlan, for graph: Graph) throws(ArenaViolation) {
    let roots = graph.ids.filter { plan.storage[$0] == $0 && plan.sizes[$0] > 0 }
    for r in roots {
        guard plan.sizes[r] >= graph[r].type.byteCount else {
            throw ArenaViolation(description: "'\(graph[r].name)' needs \(graph[r].type.byteCount) bytes, has \(plan.sizes[r])")
        }
        guard plan.offsets[r] >= 0, plan.offsets[r] + plan.sizes[r] <= plan.scratchOffset else {
            throw ArenaViolation(description: "'\(graph[r].name)' at \(plan.offsets[r])+\(plan.sizes[r]) is outside the tensor region")
        }
        guard plan.offsets[r] % arenaAlignment == 0 else {
            throw ArenaViolation(description: "'\(graph[r].name)' at \(plan.offsets[r]) is not \(arenaAlignment)-byte aligned")
        }
    }
    for (k, a) in roots.enumerated() {
        for b in roots[(k + 1)...] where plan.lifetimes[a].overlaps(plan.lifetimes[b]) {
            let disjoint = plan.offsets[a] + plan.sizes[a] <= plan.offsets[b] || plan.offsets[b] + plan.sizes[b] <= plan.offsets[a]
            guard disjoint else {
                throw ArenaViolation(description: "'\(graph[a].name)' and '\(graph[b].name)' are alive together and overlap")
            }
        }
    }
    for i in graph.ids where plan.offsets[i] != plan.offsets[plan.storage[i]] {
        throw ArenaViolation(description: "'\(graph[i].name)' does not sit on its storage '\(graph[plan.storage[i]].name)'")
    }
}
