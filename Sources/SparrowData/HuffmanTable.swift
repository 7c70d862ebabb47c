/// A canonical Huffman code (RFC 1951 §3.2.2) prepared for decoding.
///
/// Codes of at most `fastBits` bits decode with one lookup in `fast`; longer
/// codes (rare by construction: each is used less than once in 2^fastBits
/// symbols) fall back to a walk over the code-length counts.
struct HuffmanTable: Sendable {
    /// Bits resolved by one lookup. 10 keeps the table in L1 (2 KB) and still
    /// covers almost every literal/length code real encoders emit.
    static let fastBits = 10
    static let fastMask: UInt64 = (1 << UInt64(fastBits)) - 1

    /// Indexed by the next `fastBits` stream bits (first bit in the LSB).
    /// Entry = symbol << 4 | code length; length 0 means "longer code or unused".
    private(set) var fast: [UInt16]
    /// counts[n] = number of codes of length n (n in 1...15; counts[0] unused).
    private var counts: [Int]
    /// Symbols sorted by (code length, symbol value): the canonical order.
    private var symbols: [UInt16]

    /// Why a set of code lengths cannot form a prefix code.
    enum BuildError: Error {
        case oversubscribed
        case incomplete
    }

    /// Builds the code from per-symbol code lengths (0 = symbol unused, else 1...15).
    ///
    /// Over-subscribed length sets are always rejected. Incomplete sets are
    /// rejected unless they hold a single code of length 1 (some encoders send
    /// that for an alphabet with one used symbol) or no code at all (a block
    /// without matches may send an empty distance code); a stream that uses an
    /// unassigned code then fails at decode time.
    init(lengths: ArraySlice<UInt8>) throws(BuildError) {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths { counts[Int(length & 15)] += 1 }
        counts[0] = 0

        // Each length-n code takes 2^-n of the code space; overusing it means no prefix code exists.
        var left = 1
        var maxLength = 0
        for n in 1...15 {
            left = left * 2 - counts[n]
            if left < 0 { throw .oversubscribed }
            if counts[n] > 0 { maxLength = n }
        }
        let used = counts.reduce(0, +)
        if left > 0 && used > 0 && !(used == 1 && maxLength == 1) {
            throw .incomplete
        }

        var offsets = [Int](repeating: 0, count: 16)
        for n in 1..<15 { offsets[n + 1] = offsets[n] + counts[n] }
        var symbols = [UInt16](repeating: 0, count: max(used, 1))
        for (symbol, length) in lengths.enumerated() where length > 0 {
            symbols[offsets[Int(length)]] = UInt16(symbol)
            offsets[Int(length)] += 1
        }

        // Canonical codes are assigned in (length, symbol) order; the stream
        // sends them MSB first, so the lookup index is the bit-reversed code.
        var fast = [UInt16](repeating: 0, count: 1 << HuffmanTable.fastBits)
        var code = 0
        var index = 0
        for n in 1...15 {
            for _ in 0..<counts[n] {
                if n <= HuffmanTable.fastBits {
                    let entry = UInt16(truncatingIfNeeded: Int(symbols[index]) << 4 | n)
                    var slot = HuffmanTable.reverse(code, bits: n)
                    while slot < fast.count {
                        fast[slot] = entry
                        slot += 1 << n
                    }
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
        self.fast = fast
        self.counts = counts
        self.symbols = symbols
    }

    /// Decodes a code longer than `fastBits` (or an unassigned one) from the
    /// low bits of `bits`, of which `available` are real stream bits.
    /// - Returns: (symbol, code length), or nil when no code matches, or
    ///   length 0 when the matching code would need more bits than are available.
    func decodeSlow(_ bits: UInt64, available: Int) -> (symbol: Int, length: Int)? {
        var code = 0   // bits read so far, MSB first
        var first = 0  // first canonical code of the current length
        var index = 0  // index in `symbols` of that first code
        for n in 1...15 {
            code |= Int((bits >> UInt64(n - 1)) & 1)
            let count = counts[n]
            if code - first < count {
                if n > available { return (0, 0) }
                return (Int(symbols[index + code - first]), n)
            }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        return nil
    }

    private static func reverse(_ value: Int, bits: Int) -> Int {
        var v = value
        var r = 0
        for _ in 0..<bits {
            r = (r << 1) | (v & 1)
            v >>= 1
        }
        return r
    }

    /// The fixed literal/length code of block type 1 (RFC 1951 §3.2.6).
    static let fixedLiteral: HuffmanTable = {
        var lengths = [UInt8](repeating: 8, count: 288)
        for s in 144..<256 { lengths[s] = 9 }
        for s in 256..<280 { lengths[s] = 7 }
        // Cannot fail: the RFC's lengths form a complete code.
        return (try? HuffmanTable(lengths: lengths[...])) ?? HuffmanTable.emptyTable
    }()

    /// The fixed distance code: 30 (+2 unusable) symbols of 5 bits.
    static let fixedDistance: HuffmanTable = {
        let lengths = [UInt8](repeating: 5, count: 32)
        return (try? HuffmanTable(lengths: lengths[...])) ?? HuffmanTable.emptyTable
    }()

    /// A table with no codes; every lookup fails cleanly.
    static let emptyTable = HuffmanTable(unchecked: ())

    private init(unchecked: Void) {
        fast = [UInt16](repeating: 0, count: 1 << HuffmanTable.fastBits)
        counts = [Int](repeating: 0, count: 16)
        symbols = [0]
    }
}
