import Foundation
import SparrowIR

/// The update-spec file and command-line shorthands.
///
/// A spec file is a JSON object; its keys apply in this order, later ones
/// overriding earlier ones for the layers they name:
/// ```json
/// { "format": "sparrow-update-spec", "version": 1,
///   "default": "frozen",
///   "bias_last_layers": 6,
///   "last_layers": 1,
///   "tte": { "n_bias_update": 6, "weight_update_idx": [-2, -5], "weight_update_ratio": ["1/4", "1/8"] },
///   "layers": { "b16.project": "weights 1/4", "b15.expand": "bias" } }
/// ```
/// An update is `"frozen"`, `"bias"`, `"weights"` (all input channels) or
/// `"weights R"` with R a ratio such as `1/2`, `1/4`, `0.125`. `last_layers`
/// trains the weights of the last N conv/linear layers, `bias_last_layers` their
/// biases; `tte` is the Tiny-Training-Engine style (biases of the last
/// `n_bias_update` layers, weights of the layers at `weight_update_idx` — indices
/// among conv/linear layers, negative from the end — with the matching ratios,
/// and always the classifier).
extension UpdateSpec {
    public static let fileFormat = "sparrow-update-spec"

    /// Parses a spec file's bytes; `file` names the file in errors.
    public init(json data: Data, file: String) throws(SpecError) {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch { throw .invalid("\(file): \(error)") }
        guard case .object(let o) = root else { throw .invalid("\(file): the spec must be a JSON object") }
        let known: Set<String> = ["format", "version", "default", "bias_last_layers", "last_layers", "tte", "layers"]
        if let unknown = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalid("\(file): unknown key '\(unknown)'; known keys: \(known.sorted().joined(separator: ", "))")
        }
        if let f = o["format"], f != .string(Self.fileFormat) { throw .invalid("\(file): format must be \"\(Self.fileFormat)\"") }
        if let v = o["version"], v != .int(1) { throw .invalid("\(file): unsupported version \(v.serialized(pretty: false)); this Sparrow reads version 1") }
        func count(_ key: String) throws(SpecError) -> Int? {
            guard let v = o[key] else { return nil }
            guard case .int(let n) = v, n >= 0 else { throw .invalid("\(file): '\(key)' must be a non-negative integer") }
            return n
        }
        var rules: [Rule] = []
        if let d = o["default"] { rules.append(.all(try Self.update(d, file: file, at: "default"))) }
        if let n = try count("bias_last_layers") { rules.append(.lastLayers(n, .bias)) }
        if let n = try count("last_layers") { rules.append(.lastLayers(n, .allWeights)) }
        if let t = o["tte"] {
            guard case .object(let tte) = t, case .int(let nb)? = tte["n_bias_update"], nb >= 0 else {
                throw .invalid("\(file): 'tte' needs an object with a non-negative integer 'n_bias_update'")
            }
            var indices: [Int] = [], ratios: [Ratio] = []
            if case .array(let idx)? = tte["weight_update_idx"] {
                for v in idx {
                    guard case .int(let i) = v else { throw .invalid("\(file): 'tte.weight_update_idx' must hold integers") }
                    indices.append(i)
                }
            }
            if case .array(let rs)? = tte["weight_update_ratio"] {
                for v in rs { ratios.append(try Self.ratio(v, file: file, at: "tte.weight_update_ratio")) }
            }
            guard indices.count == ratios.count else {
                throw .invalid("\(file): 'tte' has \(indices.count) weight_update_idx but \(ratios.count) weight_update_ratio")
            }
            rules += UpdateSpec.tinyTrainingEngine(nBiasUpdate: nb, weightIndices: indices, ratios: ratios).rules
        }
        if let l = o["layers"] {
            guard case .object(let layers) = l else { throw .invalid("\(file): 'layers' must map layer names to updates") }
            for name in layers.keys.sorted() { rules.append(.layer(name, try Self.update(layers[name]!, file: file, at: "layers.\(name)"))) }
        }
        self.init(rules)
    }

    /// Reads a spec file.
    public init(contentsOf url: URL) throws(SpecError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .invalid("\(url.path): cannot read the file: \(ModelFile.reason(error))") }
        try self.init(json: data, file: url.path)
    }

    /// A command-line shorthand: `full`, `classifier`, `bias`, `last:N` (weights of
    /// the last N layers), `bias-last:N`, or `tte:NB:IDX@R,IDX@R` (e.g. `tte:6:-2@1/4,-5@1/8`).
    /// Nil when `text` is none of these (it may be a file path).
    public init?(shorthand text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "full" where parts.count == 1: self = .full
        case "classifier" where parts.count == 1: self = .classifierOnly
        case "bias" where parts.count == 1: self = .biasOnly
        case "last" where parts.count == 2:
            guard let n = Int(parts[1]), n > 0 else { return nil }
            self.init([.lastLayers(n, .allWeights)])
        case "bias-last" where parts.count == 2:
            guard let n = Int(parts[1]), n > 0 else { return nil }
            self.init([.lastLayers(n, .bias)])
        case "tte" where parts.count == 3:
            guard let nb = Int(parts[1]) else { return nil }
            var idx: [Int] = [], ratios: [Ratio] = []
            for item in parts[2].split(separator: ",") {
                let pr = item.split(separator: "@").map(String.init)
                guard pr.count == 2, let i = Int(pr[0]), let r = Ratio(parsing: pr[1]) else { return nil }
                idx.append(i)
                ratios.append(r)
            }
            self = .tinyTrainingEngine(nBiasUpdate: nb, weightIndices: idx, ratios: ratios)
        default:
            return nil
        }
    }

    private static func update(_ v: JSONValue, file: String, at key: String) throws(SpecError) -> LayerUpdate {
        switch v {
        case .string(let s):
            let words = s.split(separator: " ").map(String.init)
            switch words.first {
            case "frozen" where words.count == 1: return .frozen
            case "bias" where words.count == 1: return .bias
            case "weights" where words.count == 1: return .allWeights
            case "weights" where words.count == 2:
                guard let r = Ratio(parsing: words[1]) else { break }
                return .weights(r)
            default: break
            }
        case .object(let o) where o.count == 1:
            if let r = o["weights"] { return .weights(try ratio(r, file: file, at: key + ".weights")) }
        default: break
        }
        throw .invalid("\(file): '\(key)' must be \"frozen\", \"bias\", \"weights\" or \"weights R\" with R in (0, 1] such as 1/4, found \(v.serialized(pretty: false))")
    }

    private static func ratio(_ v: JSONValue, file: String, at key: String) throws(SpecError) -> Ratio {
        switch v {
        case .string(let s): if let r = Ratio(parsing: s) { return r }
        case .int(let i): if let r = Ratio(i, 1) { return r }
        case .double(let d): if let r = Ratio(parsing: "\(d)") { return r }
        default: break
        }
        throw .invalid("\(file): '\(key)' must be a ratio in (0, 1] such as \"1/4\" or 0.25, found \(v.serialized(pretty: false))")
    }
}
