import Foundation
import Testing
import Sparrow

/// Bit-exact training results, recorded: any change to the numerics (kernel
/// summation order, rounding, optimizer formula, shuffling) changes these hashes
/// and must be deliberate. Re-record by running with SPARROW_RECORD_GOLDEN=1 and
/// pasting the printed values.
@Suite struct GoldenTrainingTests {
    static let expected: [String: UInt64] = [
        "adam": 12_392_734_529_329_508_242,
        "momentum": 4_587_753_161_431_722_411,
    ]

    @Test(arguments: ["adam", "momentum"])
    func weightsAfterTrainingAreBitExact(_ optimizer: String) throws {
        let dir = Repo.path("datasets/fashion-mnist")
        let data = try Dataset.loadIDX(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz").subset(0..<256)
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 16
        o.seed = 42
        o.augmentShift = 2
        o.optimizer = optimizer == "adam" ? .defaultAdam : .momentum(momentum: 0.9, weightDecay: 1e-4)
        let trainer = try Trainer(model: try ModelZoo.smallCNN(seed: 42), options: o)
        _ = try trainer.trainEpoch(0, on: data)
        let hash = fnv1a(trainer.model.weights)
        print("golden \(optimizer): \(hash)")
        if ProcessInfo.processInfo.environment["SPARROW_RECORD_GOLDEN"] == "1" { return }
        #expect(hash == Self.expected[optimizer], "weights changed bits; if intended, re-record with SPARROW_RECORD_GOLDEN=1")
    }
}

/// FNV-1a over the names and bit patterns of every tensor, in name order.
func fnv1a(_ weights: [String: Tensor]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    for name in weights.keys.sorted() {
        name.utf8.forEach(mix)
        for v in weights[name]!.scalars {
            let b = v.bitPattern
            for k in 0..<4 { mix(UInt8(truncatingIfNeeded: b >> (8 * k))) }
        }
    }
    return h
}
