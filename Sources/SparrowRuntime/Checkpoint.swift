import Foundation
import SparrowIR

extension Trainer {
    /// Writes the current weights, the optimizer state (as `optimizer/<tensor>`) and
    /// the step counters to one safetensors file, atomically (temporary file + rename).
    public func saveCheckpoint(to url: URL, epoch: Int) throws(RuntimeError) {
        var tensors = executor.weights()
        let g = training.graph
        for id in g.ids {
            if case .optimizerState = g[id].op {
                tensors["optimizer/" + g[id].name] = Tensor(shape: g[id].type.shape, scalars: executor.read(id))
            }
        }
        var metadata = ["model": initial.name, "epoch": "\(epoch)", "step": "\(step)", "optimizer": options.optimizer.name,
                        "beta1_power": "\(beta1Power.bitPattern)", "beta2_power": "\(beta2Power.bitPattern)"]
        // FP16 plans: the loss scale and its counters, so a resumed run scales as the uninterrupted one.
        if let s = lossScaler { metadata.merge(s.checkpointState) { a, _ in a } }
        do { try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url) } catch { throw .io(error.description) }
    }

    /// Restores weights, optimizer state and step counters from `saveCheckpoint`'s file.
    /// - Returns: the epoch stored in the checkpoint.
    @discardableResult
    public func loadCheckpoint(from url: URL) throws(RuntimeError) -> Int {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: url) } catch { throw .io(error.description) }
        let g = training.graph
        for id in g.ids {
            let key: String
            switch g[id].op {
            case .parameter, .constant: key = g[id].name
            case .optimizerState: key = "optimizer/" + g[id].name
            default: continue
            }
            guard let t = file.tensors[key] else { throw .io("\(url.path): checkpoint has no tensor '\(key)'") }
            guard t.shape == g[id].type.shape else {
                throw .io("\(url.path): tensor '\(key)' is \(t.shape), the model expects \(g[id].type.shape)")
            }
            do { try executor.set(t.scalars, of: id) } catch { throw .io("\(url.path): \(error.description)") }
        }
        guard let epoch = file.metadata["epoch"].flatMap(Int.init), let s = file.metadata["step"].flatMap(Int.init),
              let b1 = file.metadata["beta1_power"].flatMap(UInt32.init), let b2 = file.metadata["beta2_power"].flatMap(UInt32.init)
        else { throw .io("\(url.path): checkpoint metadata lacks epoch/step counters") }
        restoreCounters(step: s, beta1Power: Float(bitPattern: b1), beta2Power: Float(bitPattern: b2))
        if lossScaler != nil {
            guard restoreLossScaler(file.metadata) else { throw .io("\(url.path): checkpoint lacks the FP16 loss-scale state") }
        }
        return epoch
    }
}
