import SparrowIR

/// A violation of the memory-plan invariants (DESIGN.md invariant 3).
public struct PlanViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// Checks that no two allocations of one region alive at the same step overlap,
/// that every allocation fits its tensor and lies inside its region (SRAM below
/// the scratch), that alignment holds, and that views sit on their storage.
/// Quadratic; meant for tests and debugging.
public func verifyMemoryPlan(_ plan: MemoryPlan, for graph: Graph) throws(PlanViolation) {
    let roots = graph.ids.filter { plan.regions[$0] != .view && plan.sizes[$0] > 0 }
    let dtypes = storageTypes(graph, precision: plan.precision)
    for r in roots {
        let name = graph[r].name
        guard plan.storage[r] == r else { throw PlanViolation(description: "'\(name)' has bytes but is stored in '\(graph[plan.storage[r]].name)'") }
        let needed = dtypes[r].byteCount(elements: graph[r].type.shape.elementCount)
        guard plan.sizes[r] >= needed else {
            throw PlanViolation(description: "'\(name)' needs \(needed) bytes, has \(plan.sizes[r])")
        }
        let end = plan.regions[r] == .sram ? plan.scratchOffset : plan.flashBytes
        guard plan.offsets[r] >= 0, plan.offsets[r] + plan.sizes[r] <= end else {
            throw PlanViolation(description: "'\(name)' at \(plan.offsets[r])+\(plan.sizes[r]) is outside its \(plan.regions[r].rawValue) region")
        }
        guard plan.offsets[r] % memoryAlignment == 0 else {
            throw PlanViolation(description: "'\(name)' at \(plan.offsets[r]) is not \(memoryAlignment)-byte aligned")
        }
    }
    for (k, a) in roots.enumerated() {
        for b in roots[(k + 1)...] where plan.regions[a] == plan.regions[b] && plan.lifetimes[a].overlaps(plan.lifetimes[b]) {
            let disjoint = plan.offsets[a] + plan.sizes[a] <= plan.offsets[b] || plan.offsets[b] + plan.sizes[b] <= plan.offsets[a]
            guard disjoint else {
                throw PlanViolation(description: "'\(graph[a].name)' and '\(graph[b].name)' are alive together and overlap")
            }
        }
    }
    for i in graph.ids where plan.regions[i] == .view && plan.storage[i] != i {
        let s = plan.storage[i]
        guard plan.regions[s] != .view else {
            throw PlanViolation(description: "'\(graph[i].name)' is a view of '\(graph[s].name)', which has no bytes of its own")
        }
        guard plan.offsets[i] == plan.offsets[s] else {
            throw PlanViolation(description: "'\(graph[i].name)' does not sit on its storage '\(graph[s].name)'")
        }
        guard plan.lifetimes[s].contains(i) else {
            throw PlanViolation(description: "'\(graph[i].name)' is used outside the lifetime of its storage '\(graph[s].name)'")
        }
    }
    guard plan.peakSRAM >= plan.lowerBound else {
        throw PlanViolation(description: "peak \(plan.peakSRAM) is below the live-set lower bound \(plan.lowerBound)")
    }
}
