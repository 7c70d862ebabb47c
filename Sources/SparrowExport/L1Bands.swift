import SparrowIR
import SparrowPlanner
import SparrowRuntime

extension L1Staging {
    /// A call run band by band (`RowBands`), double-buffered: while the cores compute
    /// band k out of one half of the L1 buffer, the DMA writes band k − 1's output rows
    /// back from the other half and then fetches band k + 1's input rows into it. The
    /// rest of the call's data (weights, bias) is copied once, before the first band.
    public struct Bands: Hashable, Sendable {
        /// The banded input and output tensors (both in the arena).
        public var input: NodeID, output: NodeID
        /// Each band's `sp_conv2d_shape` (its 13 fields in declaration order).
        public var shapes: [[Int]]
        /// Each band's input rows and output rows: arena byte ranges.
        public var inputs: [Range<Int>], outputs: [Range<Int>]
        /// L1 offsets of the two halves, and where the output rows sit in a half.
        public var halves: [Int]
        public var outputAt: Int
    }

    /// The fields of `sp_conv2d_shape` a band changes.
    enum ShapeField {
        static let inH = 0, inW = 1, inC = 2, outH = 3, outW = 4, outC = 5, kH = 6, strideH = 8, padTop = 10
    }

    /// Bands for call `rows` of a shape whose whole data does not fit: the most rows a
    /// half can take given `shared` bytes of the call's other data in L1; nil if even
    /// one row does not fit, or the call fits whole anyway.
    static func bands(_ rows: RowBands, shape: [Int], plan: TrainingPlan, shared: Int, budget: Int) -> Bands? {
        guard shape.count == 13, let input = range(rows.input, plan), let output = range(rows.output, plan), !input.flash, !output.flash
        else { return nil }
        let f = ShapeField.self
        let s = max(shape[f.strideH], 1), k = shape[f.kH], pad = shape[f.padTop]
        let element = plan.memory.dtypes[rows.input].byteCount(elements: 1)
        let inRow = shape[f.inW] * shape[f.inC] * element, outRow = shape[f.outW] * shape[f.outC] * element
        // The banded tensor's rows (`ownRows`: the call's output) and the other one's (its input).
        let convolution = rows.kind == .convolution
        let (ownRows, otherRows) = convolution ? (shape[f.outH], shape[f.inH]) : (shape[f.inH], shape[f.outH])
        let (ownRow, otherRow) = convolution ? (outRow, inRow) : (inRow, outRow)
        /// The other tensor's rows band [r0, r1) of the banded tensor needs, and the band's pad_top.
        func needed(_ r0: Int, _ r1: Int) -> (Int, Int, Int) {
            if convolution {
                let lo = max(0, r0 * s - pad), hi = max(lo, min(shape[f.inH], (r1 - 1) * s - pad + k))
                return (lo, hi, pad + lo - r0 * s)
            }
            // Input-gradient rows [r0, r1) take the output-gradient rows that cover them;
            // starting no later than (r0 + pad) / s keeps pad_top ≥ 0 (an extra row covers none).
            let a = r0 + pad - k + 1
            let covering = a >= 0 ? (a + s - 1) / s : -(-a / s)
            let first = max(0, min(covering, (r0 + pad) / s))
            let last = min(shape[f.outH], (r1 - 1 + pad) / s + 1)
            return (first, max(first, last), r0 + pad - first * s)
        }
        func aligned(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        func half(_ h: Int) -> Int {
            var most = 0
            for r0 in stride(from: 0, to: ownRows, by: h) {
                let (lo, hi, _) = needed(r0, min(ownRows, r0 + h))
                most = max(most, hi - lo)
            }
            return aligned(most * otherRow) + aligned(h * ownRow)
        }
        guard let h = (1..<ownRows).reversed().first(where: { shared + 2 * half($0) <= budget }) else { return nil }
        var b = Bands(input: rows.input, output: rows.output, shapes: [], inputs: [], outputs: [], halves: [], outputAt: 0)
        var inputAt = 0
        for r0 in stride(from: 0, to: ownRows, by: h) {
            let r1 = min(ownRows, r0 + h)
            let (lo, hi, padTop) = needed(r0, r1)
            var band = shape
            band[f.padTop] = padTop
            if convolution { (band[f.outH], band[f.inH]) = (r1 - r0, hi - lo) } else { (band[f.inH], band[f.outH]) = (r1 - r0, hi - lo) }
            b.inputs.append(input.offset + lo * otherRow..<input.offset + hi * otherRow)
            b.outputs.append(output.offset + r0 * ownRow..<output.offset + r1 * ownRow)
            inputAt = max(inputAt, aligned((hi - lo) * otherRow))
            b.shapes.append(band)
        }
        b.outputAt = inputAt
        let halfBytes = half(h)
        b.halves = [shared, shared + halfBytes]
        return b
    }
}
