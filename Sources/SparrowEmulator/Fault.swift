/// Why the emulated program stopped abnormally, with where it was: the core, the
/// instruction, the address it touched, and the plan step it was executing
/// (from the step-marker register).
public struct EmulatorFault: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case outOfBounds, writeToFlash, misaligned, illegalInstruction, fetchOutsideFlash, environmentCall, breakpoint
        case instructionLimit, deadlock
        /// A load the memory watcher objected to (e.g. arena bytes the plan did not write for this read).
        case planViolation(String)
    }

    public var kind: Kind
    public var core: Int
    public var pc: UInt32
    /// The instruction's encoding (16 bits for a compressed one).
    public var instruction: UInt32
    /// The data address of a load or store, if the fault is one.
    public var address: UInt32?
    /// The last plan step the program announced, if any.
    public var step: Int?
    /// What the address belongs to (a tensor of the plan, a section), when known.
    public var location: String?

    public var description: String {
        var what: String
        switch kind {
        case .outOfBounds: what = "access outside every memory region"
        case .writeToFlash: what = "write to flash (read-only)"
        case .misaligned: what = "misaligned access"
        case .illegalInstruction: what = "illegal or disabled instruction"
        case .fetchOutsideFlash: what = "instruction fetch outside flash"
        case .environmentCall: what = "ecall"
        case .breakpoint: what = "ebreak"
        case .instructionLimit: what = "instruction limit reached"
        case .deadlock: what = "every core is waiting (deadlock)"
        case .planViolation(let why): what = "plan violation: \(why);"
        }
        what += String(format: " on core %d at pc 0x%08x (instruction 0x%0*x)", core, pc, instruction > 0xFFFF ? 8 : 4, instruction)
        if let a = address { what += String(format: ", address 0x%08x", a) }
        if let l = location { what += " (\(l))" }
        if let s = step { what += ", during plan step \(s)" }
        return what
    }
}
