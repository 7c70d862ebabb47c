/// Element type of a tensor.
///
/// `fp16` and `int8` are declared for the reduced-precision plans; FP32 is the only
/// arithmetic type of the first kernel library. `uint8` holds small indices (the
/// max-pool argmax) and `bit` packs one flag per element (ReLU masks), LSB first.
public enum DType: String, Hashable, Sendable, Codable, CaseIterable {
    case fp32, fp16, int8, int32, uint8, bit

    /// Bytes needed to store `count` elements of this type.
    public func byteCount(elements count: Int) -> Int {
        switch self {
        case .fp32, .int32: return count * 4
        case .fp16: return count * 2
        case .int8, .uint8: return count
        case .bit: return (count + 7) / 8
        }
    }
}
