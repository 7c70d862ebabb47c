import CSparrowKernels
import SparrowIR

/// What one kernel invocation sees besides its bound arguments: the step's
/// run-time values and which core of how many it runs as.
struct KernelEnvironment {
    var context: StepContext
    var core: Int32
    var cores: Int32
}

/// A value passed to the step's kernels that changes between steps: read from
/// the step context at run time, `ctx->field` in exported C.
public enum ContextField: String, Hashable, Sendable {
    case learningRate = "lr", gradScale = "grad_scale", lossScale = "loss_scale"
    case biasCorrection1 = "bias_correction1", biasCorrection2 = "bias_correction2", accumulate
}

/// One argument of a kernel call as exported C sees it.
public enum CExpression: Hashable, Sendable {
    case int(Int32)
    case float(Float)
    /// A tensor of the plan (its storage type gives the C pointer type).
    case tensor(NodeID)
    /// The plan's kernel scratch, as a pointer to `type`.
    case scratch(type: String)
    /// An entry of the constant table (`ConstantPool`).
    case constant(Int)
    /// An enumerator of the kernel library (e.g. `SP_F16_ACC_F32`).
    case symbol(String)
    case context(ContextField)
    case core, cores
    case null
    /// Slot `k` of the FP16 overflow status array.
    case status(Int)
    /// An `sp_update` built from the step context (fused FP32 updates).
    case update(UpdateDescription)
}

/// The fields of an `sp_update` that do not change between steps.
public struct UpdateDescription: Hashable, Sendable {
    public var kind: String
    public var weight: NodeID
    public var m: NodeID?
    public var v: NodeID?
    public var weightDecay: Float, momentum: Float, beta1: Float, beta2: Float, eps: Float
}

/// An argument of a kernel call: its value for one invocation, and its C form.
protocol KernelArgument {
    associatedtype Value
    func value(_ env: KernelEnvironment) -> Value
    var c: CExpression { get }
    /// Whether the kernel writes through it (an output tensor, an update's weight and state).
    var isWritten: Bool { get }
}

extension KernelArgument {
    var isWritten: Bool { false }
}

extension Int32: KernelArgument {
    func value(_ env: KernelEnvironment) -> Int32 { self }
    var c: CExpression { .int(self) }
}

extension Float: KernelArgument {
    func value(_ env: KernelEnvironment) -> Float { self }
    var c: CExpression { .float(self) }
}

extension sp_f16_acc: KernelArgument {
    func value(_ env: KernelEnvironment) -> sp_f16_acc { self }
    var c: CExpression { .symbol(self == SP_F16_ACC_F16 ? "SP_F16_ACC_F16" : "SP_F16_ACC_F32") }
}

/// A tensor (or the scratch, or a constant) read by the kernel: `const T *`.
struct In<T>: KernelArgument {
    let pointer: UnsafePointer<T>?
    let c: CExpression
    func value(_ env: KernelEnvironment) -> UnsafePointer<T>? { pointer }
}

/// A tensor written by the kernel: `T *`.
struct Out<T>: KernelArgument {
    let pointer: UnsafeMutablePointer<T>?
    let c: CExpression
    var isWritten: Bool { true }
    func value(_ env: KernelEnvironment) -> UnsafeMutablePointer<T>? { pointer }
}

/// A step-context value of type Float.
struct ContextFloat: KernelArgument {
    enum Field { case learningRate, gradScale, lossScale, biasCorrection1, biasCorrection2 }
    let field: Field
    func value(_ env: KernelEnvironment) -> Float {
        switch field {
        case .learningRate: return env.context.learningRate
        case .gradScale: return env.context.gradScale
        case .lossScale: return env.context.lossScale
        case .biasCorrection1: return env.context.biasCorrection1
        case .biasCorrection2: return env.context.biasCorrection2
        }
    }
    var c: CExpression {
        switch field {
        case .learningRate: return .context(.learningRate)
        case .gradScale: return .context(.gradScale)
        case .lossScale: return .context(.lossScale)
        case .biasCorrection1: return .context(.biasCorrection1)
        case .biasCorrection2: return .context(.biasCorrection2)
        }
    }
}

/// Whether a gradient kernel adds onto the previous sample's (gradient accumulation).
struct ContextAccumulate: KernelArgument {
    func value(_ env: KernelEnvironment) -> Int32 { env.context.accumulate }
    var c: CExpression { .context(.accumulate) }
}

/// The calling core's id, or the number of cores.
enum CoreArgument: KernelArgument {
    case core, cores
    func value(_ env: KernelEnvironment) -> Int32 { self == .core ? env.core : env.cores }
    var c: CExpression { self == .core ? .core : .cores }
}

/// An `sp_update` whose run-time fields come from the step context.
struct UpdateArgument: KernelArgument {
    let storage: UnsafeMutablePointer<sp_update>
    let base: sp_update
    let description: UpdateDescription
    func value(_ env: KernelEnvironment) -> UnsafePointer<sp_update>? {
        var u = base
        u.lr = env.context.learningRate
        u.grad_scale = env.context.gradScale
        u.bias_correction1 = env.context.biasCorrection1
        u.bias_correction2 = env.context.biasCorrection2
        storage.pointee = u
        return UnsafePointer(storage)
    }
    var c: CExpression { .update(description) }
    var isWritten: Bool { true }
}

/// How a call can run as horizontal bands: each band of rows of `output` needs only
/// a contiguous band of rows of `input` (both HWC) and computes each of its elements
/// exactly as the whole call does (same terms, same order), so the bands give the
/// call's bits. The call's first argument is its `sp_conv2d_shape`; every band uses
/// the rest of its data whole. The rv32 build runs calls too large for L1 this way.
public struct RowBands: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A convolution's output rows, from the input rows under their taps.
        case convolution
        /// A convolution's input-gradient rows, from the output-gradient rows that cover them.
        case convolutionInputGradient
    }
    public var kind: Kind
    public var input: NodeID
    public var output: NodeID
}

/// A kernel call bound to its arguments: run once per core by the executor, and
/// written as one C statement by the exporter — one description for both.
struct BoundCall {
    let function: String
    let arguments: [CExpression]
    /// Whether the kernel writes through each argument.
    let written: [Bool]
    /// Skip the call while the step has seen an FP16 gradient overflow (`status[0] != 0`).
    let skippedOnOverflow: Bool
    /// How the call splits into row bands, if it can.
    var rows: RowBands? = nil
    let run: (KernelEnvironment) -> Void
}

/// Binds C function `f` (named `name`) to `arguments`, checked by Swift against its imported signature.
func call<each A: KernelArgument>(_ name: String, _ f: @escaping (repeat (each A).Value) -> Void, _ arguments: repeat each A,
                                  skippedOnOverflow: Bool = false, rows: RowBands? = nil) -> BoundCall {
    var c: [CExpression] = [], written: [Bool] = []
    for a in repeat each arguments {
        c.append(a.c)
        written.append(a.isWritten)
    }
    return BoundCall(function: name, arguments: c, written: written, skippedOnOverflow: skippedOnOverflow, rows: rows) { env in
        f(repeat (each arguments).value(env))
    }
}

/// One kernel call of an executor's schedule as C code sees it: what the
/// exported project calls, in the same order, with the same arguments.
public struct KernelInvocation: Hashable, Sendable {
    /// The schedule entry the call belongs to.
    public var node: NodeID
    public var function: String
    public var arguments: [CExpression]
    /// Whether the kernel writes through each argument (an output, an update's tensors).
    public var written: [Bool]
    /// How the call splits into row bands, if it can.
    public var rows: RowBands?
    /// Skipped while the step has seen an FP16 gradient overflow.
    public var skippedOnOverflow: Bool
    /// Changes parameters: skipped by inference.
    public var isUpdate: Bool
}
