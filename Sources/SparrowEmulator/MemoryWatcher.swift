/// Watches the loads and stores a program makes to one address range (the plan's
/// arena) and objects to accesses the plan does not allow. Called only when set,
/// so a run without one pays nothing.
public protocol MemoryWatcher: AnyObject {
    /// The watched range: [base, base + size).
    var base: UInt32 { get }
    var size: UInt32 { get }
    /// A store of `count` bytes at `offset` (from `base`) during plan step `step`.
    func stored(offset: Int, count: Int, step: Int?)
    /// A load of `count` bytes at `offset`; returns why it is wrong, or nil.
    func loaded(offset: Int, count: Int, step: Int?) -> String?
}
