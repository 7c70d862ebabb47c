/// Why a model file (architecture JSON or safetensors weights) could not be read
/// or written.
///
/// Every case names the file (its path as given), and where it applies the layer
/// or tensor, what is wrong, and what to do about it (DESIGN.md invariant 5).
public enum ModelFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in an architecture file a field sits.
    public enum Location: Hashable, Sendable, CustomStringConvertible {
        /// The top-level object.
        case topLevel
        /// The `"input"` object.
        case input
        /// The layer with this name.
        case layer(String)
        /// A layer whose name could not be read, by position in `"layers"` (0-based).
        case layerIndex(Int)

        public var description: String {
            switch self {
            case .topLevel: return "top level"
            case .input: return "input"
            case .layer(let n): return "layer '\(n)'"
            case .layerIndex(let i): return "layers[\(i)]"
            }
        }
    }

    // MARK: Files
    case unreadable(file: String, detail: String)
    case unwritable(file: String, detail: String)

    // MARK: Architecture JSON
    /// The text is not JSON; line and column are 1-based, column in bytes.
    case badJSON(file: String, line: Int, column: Int, detail: String)
    /// Not an architecture file: no or another `"format"`, or not a JSON object.
    case wrongFormat(file: String, detail: String)
    case unsupportedVersion(file: String, found: Int, supported: Int)
    case missingField(file: String, at: Location, field: String)
    case invalidField(file: String, at: Location, field: String, detail: String)
    case unknownField(file: String, at: Location, field: String, known: [String])
    case unknownOp(file: String, layer: String, op: String, known: [String])
    /// `inputs` or `output` names something that is not the model input or an earlier layer.
    case unknownInput(file: String, layer: String, input: String)
    case duplicateLayer(file: String, layer: String)
    /// A batch-norm layer that cannot be folded into the layer before it.
    case batchNorm(file: String, layer: String, detail: String)
    /// The layers do not fit together (shapes, groups, windows); `layer` is the one being added.
    case graph(file: String, layer: String, GraphError)
    /// The finished model is inconsistent (for `save`: the model passed in).
    case model(file: String, ModelError)

    // MARK: Weights
    /// `unexpected` lists tensors in the file that no layer uses: often the misspelt name.
    case missingTensor(file: String, tensor: String, layer: String, unexpected: [String])
    case extraTensors(file: String, tensors: [String])
    case tensorShape(file: String, tensor: String, expected: Shape, found: Shape)
    /// A NaN or infinity, at this row-major element index.
    case nonFinite(file: String, tensor: String, index: Int)
    /// The file says (`__metadata__.format`) it holds another framework's layout.
    case foreignLayout(file: String, format: String)

    // MARK: safetensors container
    /// The 8-byte header length points past the end of the file or is absurdly large.
    case headerLength(file: String, length: UInt64, fileSize: Int)
    /// The file ends before the data the header describes.
    case truncated(file: String, detail: String)
    /// The JSON header is not UTF-8, not JSON, or a field is missing or malformed.
    case badHeader(file: String, tensor: String?, detail: String)
    /// `data_offsets` out of range, overlapping, leaving gaps, or not matching shape × dtype.
    case badOffsets(file: String, tensor: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)

    // MARK: Saving
    /// The model has something the file format cannot express.
    case unrepresentable(file: String, node: String, detail: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .unreadable(let f, _), .unwritable(let f, _), .badJSON(let f, _, _, _), .wrongFormat(let f, _),
             .unsupportedVersion(let f, _, _), .missingField(let f, _, _), .invalidField(let f, _, _, _),
             .unknownField(let f, _, _, _), .unknownOp(let f, _, _, _), .unknownInput(let f, _, _),
             .duplicateLayer(let f, _), .batchNorm(let f, _, _), .graph(let f, _, _), .model(let f, _),
             .missingTensor(let f, _, _, _), .extraTensors(let f, _), .tensorShape(let f, _, _, _),
             .nonFinite(let f, _, _), .foreignLayout(let f, _), .headerLength(let f, _, _), .truncated(let f, _),
             .badHeader(let f, _, _), .badOffsets(let f, _, _), .unsupportedDType(let f, _, _),
             .unrepresentable(let f, _, _):
            return f
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let f, let d):
            return "\(f): cannot read the file: \(d)"
        case .unwritable(let f, let d):
            return "\(f): cannot write the file: \(d)"
        case .badJSON(let f, let line, let column, let d):
            return "\(f):\(line):\(column): not valid JSON: \(d)"
        case .wrongFormat(let f, let d):
            return "\(f): not a Sparrow architecture file: \(d)"
        case .unsupportedVersion(let f, let found, let supported):
            return "\(f): format version \(found) is not supported (this Sparrow reads version \(supported))"
                + (found > supported ? "; the file was written by a newer Sparrow" : "")
        case .missingField(let f, let at, let field):
            return "\(f): \(at): missing field \"\(field)\""
        case .invalidField(let f, let at, let field, let d):
            return "\(f): \(at): field \"\(field)\": \(d)"
        case .unknownField(let f, let at, let field, let known):
            return "\(f): \(at): unknown field \"\(field)\" (known fields: \(known.joined(separator: ", ")))"
        case .unknownOp(let f, let layer, let op, let known):
            return "\(f): layer '\(layer)': unknown op \"\(op)\" (known ops: \(known.joined(separator: ", ")))"
        case .unknownInput(let f, let layer, let input):
            return "\(f): layer '\(layer)': unknown input '\(input)'; inputs must name the model input or an earlier layer"
        case .duplicateLayer(let f, let layer):
            return "\(f): two layers are named '\(layer)'; layer names must be unique"
        case .batchNorm(let f, let layer, let d):
            return "\(f): batch-norm layer '\(layer)': \(d)"
        case .graph(let f, let layer, let e):
            return "\(f): layer '\(layer)': \(e)"
        case .model(let f, let e):
            return "\(f): \(e)"
        case .missingTensor(let f, let tensor, let layer, let unexpected):
            var s = "\(f): tensor '\(tensor)' of layer '\(layer)' is missing"
            if !unexpected.isEmpty { s += "; the file has tensors no layer uses (a misspelling?): \(unexpected.joined(separator: ", "))" }
            return s
        case .extraTensors(let f, let tensors):
            return "\(f): tensors not used by any layer: \(tensors.joined(separator: ", ")); "
                + "remove them or check the layer names in the architecture"
        case .tensorShape(let f, let tensor, let expected, let found):
            return "\(f): tensor '\(tensor)' has shape \(found), the layer expects \(expected)"
                + (expected != found && expected.elementCount == found.elementCount
                    ? " (same size, other layout); if it comes from PyTorch, convert it with tools/torch_layout.py" : "")
        case .nonFinite(let f, let tensor, let index):
            return "\(f): tensor '\(tensor)' holds a NaN or infinity at element \(index)"
        case .foreignLayout(let f, let format):
            return "\(f): the weights are marked format \"\(format)\", not \"sparrow\"; "
                + "convert them with tools/torch_layout.py to-sparrow (Sparrow stores conv weights [Cout,Kh,Kw,Cin])"
        case .headerLength(let f, let length, let size):
            return "\(f): safetensors header length \(length) does not fit in the file of \(size) bytes; "
                + "the file is truncated or not a safetensors file"
        case .truncated(let f, let d):
            return "\(f): the file is truncated: \(d)"
        case .badHeader(let f, let tensor, let d):
            return "\(f): bad safetensors header" + (tensor.map { " at tensor '\($0)'" } ?? "") + ": \(d)"
        case .badOffsets(let f, let tensor, let d):
            return "\(f): tensor '\(tensor)': bad data_offsets: \(d)"
        case .unsupportedDType(let f, let tensor, let dtype):
            var s = "\(f): tensor '\(tensor)' has dtype \(dtype); Sparrow reads F32, F16, BF16 and F64"
            if tensor.hasSuffix("num_batches_tracked") { s += "; tools/torch_layout.py drops batch-norm counters" }
            return s
        case .unrepresentable(let f, let node, let d):
            return "\(f): node '\(node)' cannot be saved: \(d)"
        }
    }
}
