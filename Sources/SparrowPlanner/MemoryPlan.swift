import SparrowIR

/// Where a tensor lives on the device.
public enum Region: String, Hashable, Sendable, Codable {
    /// The SRAM arena: activations, gradients, masks, trainable weights, optimizer state.
    case sram
    /// Read-only memory: frozen weights and constants.
    case flash
    /// No bytes of its own: a view of other tensors (`reshape`, `splitWeight`, in-place results).
    case view
    /// Never stored: a weight or bias gradient that its update consumes element by
    /// element inside the gradient kernel (batch-1 plans with updates reordered).
    case fused
}

/// Where every tensor of a graph lives, for a schedule that runs the nodes in order.
///
/// Built by `planMemory`; checked by `verifyMemoryPlan`.
public struct MemoryPlan: Hashable, Sendable {
    /// Region of each node's tensor (`.view` for aliases; see `storage`).
    public var regions: [Region]
    /// Byte offset of each node's tensor within its region (an alias: its storage's offset).
    public var offsets: [Int]
    /// Bytes allocated for each node (0 for a view), aligned to `memoryAlignment`.
    public var sizes: [Int]
    /// The node whose allocation each node's tensor uses (itself unless it is a view).
    public var storage: [NodeID]
    /// First and last step (node index) during which each allocation is alive.
    public var lifetimes: [ClosedRange<Int>]
    /// Arena bytes: tensors plus kernel scratch. The runtime allocates exactly this.
    public var peakSRAM: Int
    /// Bytes of flash for frozen weights and constants.
    public var flashBytes: Int
    /// Bytes of the persistent part of the arena (trainable weights, optimizer state, pinned tensors).
    public var persistentBytes: Int
    /// Kernel scratch (im2col and the like), after the tensors.
    public var scratchOffset: Int
    public var scratchSize: Int
    /// The most SRAM tensor bytes alive at one step (scratch included): no placement can do better.
    public var lowerBound: Int
    /// The step where the live set is largest.
    public var peakStep: Int
    /// The number format of the plan, and the storage type of each node under it.
    public var precision: Precision = .fp32
    public var dtypes: [DType] = []

    /// Allocations in SRAM alive at `step`, largest first.
    public func live(at step: Int) -> [NodeID] {
        regions.indices.filter { regions[$0] == .sram && sizes[$0] > 0 && lifetimes[$0].contains(step) }
            .sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    }

    /// SRAM tensor bytes alive at each step (without scratch).
    public var liveBytesPerStep: [Int] {
        var bytes = Array(repeating: 0, count: regions.count)
        for i in regions.indices where regions[i] == .sram && sizes[i] > 0 {
            for s in lifetimes[i] { bytes[s] += sizes[i] }
        }
        return bytes
    }

    /// How far the placement is above the lower bound, as a fraction of it.
    public var gap: Double { lowerBound == 0 ? 0 : Double(peakSRAM - lowerBound) / Double(lowerBound) }
}

/// Every allocation is aligned to this many bytes.
public let memoryAlignment = 16

func aligned(_ bytes: Int) -> Int { (bytes + memoryAlignment - 1) / memoryAlignment * memoryAlignment }
