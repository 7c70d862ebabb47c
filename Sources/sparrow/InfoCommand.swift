import Foundation
import Sparrow

/// `sparrow info`: layers, shapes, parameters and MACs of a model.
struct InfoCommand: Command {
    static let name = "info"
    static let summary = "Summarise a model: layers, output shapes, parameters and multiply-accumulates (MAC)."
    static let usage = "sparrow info [--model cnn-small|FILE.json] [--weights FILE] [--json]"
    static let specs: [OptionSpec] = [
        OptionSpec(name: "model", valueName: "MODEL", help: "Zoo model name or architecture JSON.", defaultValue: "cnn-small"),
        OptionSpec(name: "weights", valueName: "FILE", help: "Weights (safetensors) to check against the architecture."),
        OptionSpec(name: "json", valueName: nil, help: "Print the summary as JSON."),
    ]

    let args: Arguments
    init(_ args: Arguments) throws(UsageError) { self.args = args }

    func run() throws {
        let model = try Resources.loadModel(args.string("model") ?? "cnn-small", weights: args.string("weights"), seed: 0)
        let s = ModelSummary(model)
        if args.has("json") { try printJSON(s); return }
        print("model \(s.name), input \(Shape(s.input)), loss \(s.loss ?? "none")")
        var t = Table(["layer", "op", "window", "inputs", "output", "params", "MAC"])
        for l in s.layers {
            t.add([l.name, l.op, l.detail, l.inputs.joined(separator: ","), Shape(l.output).description,
                   l.parameters == 0 ? "" : grouped(l.parameters), l.macs == 0 ? "" : grouped(l.macs)])
        }
        print(t.render())
        print("parameters: \(grouped(s.parameters)) (\(bytes(s.parameterBytes)) in fp32)")
        print("forward: \(grouped(s.forwardMACs)) MAC; full training step: \(grouped(s.trainingMACs)) MAC")
        if model.graph.loss != nil {
            for optimizer in [Optimizer.plainSGD, .defaultAdam] {
                var c = CompileOptions()
                c.optimizer = optimizer
                let plan = try compilePlan(model, options: c)
                print("SRAM for full FP32 training with \(optimizer.name), batch 1: \(kilobytes(plan.memory.peakSRAM))"
                      + " (sparrow compile --spec … for sparse updates)")
            }
        }
    }
}
