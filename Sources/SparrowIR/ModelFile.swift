import Foundation

/// Loading and saving models as an architecture JSON file plus a safetensors
/// weights file. The format is described in docs/model-format.md.
///
/// ```swift
/// let model = try ModelFile.load(architecture: URL(fileURLWithPath: "cnn.json"),
///                                weights: URL(fileURLWithPath: "cnn.safetensors"))
/// try ModelFile.save(model, architecture: jsonURL, weights: weightsURL)
/// ```
/// Models are built only through `ModelBuilder`, so a loaded model has exactly the
/// graph the same layers built in code would have. Batch-norm layers are folded
/// into the conv/linear before them while loading and are not saved.
public enum ModelFile {
    /// Largest parameter tensor (in elements) a file may ask for: 64 MB of fp32, far
    /// beyond any microcontroller, so a typo like `"out_features": 1000000` fails fast
    /// instead of allocating gigabytes.
    public static let maxParameterElements = 1 << 24

    /// Loads a model. Without `weights` the parameters are initialised by
    /// `ModelBuilder` from `seed` (He-uniform weights, zero biases). With `weights`
    /// every parameter must be in the file with the right shape and finite values, and
    /// the file must hold nothing else. Never traps on malformed files.
    public static func load(architecture: URL, weights: URL?, seed: UInt64 = 0) throws(ModelFileError) -> Model {
        let arch = try read(architecture)
        var weightsFile: SafetensorsFile?
        if let weights { weightsFile = try SafetensorsFile(contentsOf: weights) }
        return try model(architecture: arch, architectureFile: architecture.path,
                         weights: weightsFile, weightsFile: weights?.path ?? "", seed: seed)
    }

    /// `load` from bytes already in memory; the file names only label errors.
    public static func decode(
        architecture: Data, weights: Data?, seed: UInt64 = 0,
        architectureFile: String = "<architecture>", weightsFile: String = "<weights>"
    ) throws(ModelFileError) -> Model {
        var file: SafetensorsFile?
        if let weights { file = try SafetensorsFile(decoding: weights, file: weightsFile) }
        return try model(architecture: architecture, architectureFile: architectureFile, weights: file, weightsFile: weightsFile, seed: seed)
    }

    /// Writes `model` as pretty-printed JSON with sorted keys and as F32 safetensors,
    /// each atomically (a temporary file in the same directory, then a rename).
    ///
    /// Both files are fully encoded before either is written, so an unrepresentable or
    /// invalid model leaves both untouched. If the second write fails the first file
    /// is already replaced; the error names the file that failed.
    /// Loading the pair gives the same graph and bit-identical weights, provided the
    /// model's parameters follow ModelBuilder's `<layer>.weight`/`<layer>.bias` names and
    /// its loss and label nodes are called `loss` and `label` (others are renamed).
    public static func save(_ model: Model, architecture: URL, weights: URL) throws(ModelFileError) {
        do { try model.validate() } catch { throw .model(file: architecture.path, error) }
        let encoded = try ArchitectureEncoder(model: model, file: architecture.path).encode()
        let json = Data((encoded.json.serialized(pretty: true) + "\n").utf8)
        try checkReloads(json, file: architecture.path, model: model)
        let weightData = try tensorFile(model, names: encoded.tensorNames).encoded(file: weights.path)
        try write(weightData, to: weights)
        try write(json, to: architecture)
    }

    /// The architecture JSON of `model` (pretty, sorted keys), without writing anything.
    /// Throws `.unrepresentable` for graphs the format cannot express.
    public static func architectureJSON(_ model: Model) throws(ModelFileError) -> Data {
        let encoded = try ArchitectureEncoder(model: model, file: "<architecture>").encode()
        let json = Data((encoded.json.serialized(pretty: true) + "\n").utf8)
        try checkReloads(json, file: "<architecture>", model: model)
        return json
    }

    /// The model's parameters under the names a weights file uses, in Sparrow layouts.
    public static func weights(of model: Model) throws(ModelFileError) -> SafetensorsFile {
        let encoded = try ArchitectureEncoder(model: model, file: "<weights>").encode()
        return try tensorFile(model, names: encoded.tensorNames)
    }

    // MARK: - Internals

    static func model(architecture: Data, architectureFile: String, weights: SafetensorsFile?, weightsFile: String, seed: UInt64) throws(ModelFileError) -> Model {
        let stem = ((architectureFile as NSString).lastPathComponent as NSString).deletingPathExtension
        let defaultName = stem.isEmpty || stem.hasPrefix("<") ? "model" : stem
        let spec = try ArchitectureDecoder(file: architectureFile, defaultName: defaultName).decode(architecture)
        let assembled = try ModelAssembler(spec: spec, file: architectureFile).assemble(seed: seed)
        var model = assembled.model
        try ModelWeightBinder(spec: spec, folds: assembled.folds, file: weights == nil ? architectureFile : weightsFile,
                              architectureFile: architectureFile).bind(&model, weights: weights)
        return model
    }

    /// The written JSON must read back; this catches a model whose sizes exceed the
    /// reader's limits before anything is written.
    private static func checkReloads(_ json: Data, file: String, model: Model) throws(ModelFileError) {
        do { _ = try ArchitectureDecoder(file: file, defaultName: model.name).decode(json) } catch {
            throw .unrepresentable(file: file, node: model.name, detail: "the file would not load back: \(error)")
        }
    }

    private static func tensorFile(_ model: Model, names: [(node: String, tensor: String)]) throws(ModelFileError) -> SafetensorsFile {
        var tensors: [String: Tensor] = [:]
        for (node, tensor) in names {
            guard let value = model.weights[node] else { throw .model(file: "<weights>", .missingTensor(node)) }
            tensors[tensor] = value
        }
        return SafetensorsFile(tensors: tensors)
    }

    private static func read(_ url: URL) throws(ModelFileError) -> Data {
        do { return try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, detail: reason(error)) }
    }

    private static func write(_ data: Data, to url: URL) throws(ModelFileError) {
        do { try AtomicFile.write(data, to: url) } catch { throw .unwritable(file: url.path, detail: error.detail) }
    }

    /// A short human reason for a Foundation error ("no such file", "is a directory").
    public static func reason(_ error: any Error) -> String {
        if let e = error as? CocoaError {
            switch e.code {
            case .fileReadNoSuchFile, .fileNoSuchFile: return "no such file"
            case .fileReadNoPermission: return "permission denied"
            default:
                // The system's own reason, e.g. EISDIR, rather than "The operation could not be completed".
                if let posix = e.underlying as NSError?, posix.domain == NSPOSIXErrorDomain {
                    return String(cString: strerror(Int32(posix.code))).lowercased()
                }
            }
        }
        return error.localizedDescription
    }
}
