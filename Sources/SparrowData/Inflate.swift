/// A raw DEFLATE decoder (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// Every value read from the stream is range-checked before it is used as an
/// index or length, so corrupt or hostile input ends in a `DataError`, never a
/// trap. The Huffman loop works on raw pointers for speed (release builds
/// decode the 26 MB Fashion-MNIST training images in well under a second);
/// each pointer access there is guarded by an explicit check.
public enum Inflate {
    /// Default cap on decompressed bytes (2 GiB); a deflate stream can expand
    /// about 1032×, so without a cap a small file could exhaust memory.
    public static let defaultOutputLimit = 1 << 31

    /// Decompresses the raw deflate stream that starts at byte `offset` of `input`.
    ///
    /// - Parameters:
    ///   - source: file name used in errors; error offsets are positions in `input`.
    ///   - sizeHint: expected output size in bytes, only used to size the first
    ///     allocation (untrusted hints are capped).
    ///   - outputLimit: decompressing more than this many bytes throws `.outputTooLarge`.
    /// - Returns: the decompressed bytes and `end`, the offset of the first byte
    ///   after the stream (the final block is padded to a byte boundary).
    public static func decompress(
        _ input: [UInt8], from offset: Int = 0, source: String = "<memory>",
        sizeHint: Int = 0, outputLimit: Int = defaultOutputLimit
    ) throws(DataError) -> (bytes: [UInt8], end: Int) {
        guard offset >= 0, offset <= input.count else {
            throw DataError(file: source, .invalidArgument("deflate offset \(offset) outside the input"))
        }
        let limit = max(0, outputLimit)
        // A wrong hint must not allocate gigabytes: no stream expands more than 1032×.
        let remaining = input.count - offset
        let plausible = remaining > Int.max / 1032 ? Int.max : remaining * 1032
        let initial = max(1 << 16, min(sizeHint, plausible, limit, 1 << 28))
        var inflater = Inflater(input: input, source: source, limit: limit, start: offset, capacity: initial)
        let end = try inflater.run()
        var bytes = inflater.out
        bytes.removeLast(bytes.count - inflater.outCount)
        return (bytes, end)
    }
}

/// Decoder state for one stream. Bits are consumed LSB first from a 64-bit
/// buffer; `bitBuf` may hold copies of input bytes beyond `bitCount` (from
/// 8-byte loads), which are harmless because they equal the bytes the next
/// refill ORs into the same positions.
private struct Inflater {
    let input: [UInt8]
    let source: String
    let limit: Int
    var pos: Int
    var bitBuf: UInt64 = 0
    var bitCount = 0
    var out: [UInt8]
    var outCount = 0

    /// Longest match; the Huffman loop keeps this much room so it never checks per byte.
    static let maxMatch = 258

    init(input: [UInt8], source: String, limit: Int, start: Int, capacity: Int) {
        self.input = input
        self.source = source
        self.limit = limit
        self.pos = start
        self.out = [UInt8](repeating: 0, count: capacity)
    }

    /// Decodes blocks up to and including the final one; returns the offset after it.
    mutating func run() throws(DataError) -> Int {
        while true {
            let header = try bits(3)
            switch header >> 1 {
            case 0: try storedBlock()
            case 1: try huffmanBlock(HuffmanTable.fixedLiteral, HuffmanTable.fixedDistance)
            case 2:
                let (literal, distance) = try dynamicTables()
                try huffmanBlock(literal, distance)
            default: throw corrupt("reserved block type 3")
            }
            if outCount > limit { throw DataError(file: source, .outputTooLarge(limit: limit)) }
            if header & 1 == 1 { break }
        }
        // The final block ends mid-byte; the rest of that byte is padding.
        return pos - bitCount / 8
    }

    // MARK: bit input (checked, for headers and tables)

    /// Byte offset of the next unread bit, for error messages.
    var offset: Int { pos - bitCount / 8 }

    func corrupt(_ reason: String) -> DataError {
        DataError(file: source, .corruptDeflate(offset: offset, reason: reason))
    }

    var truncated: DataError { DataError(file: source, .truncatedStream(format: "deflate")) }

    mutating func refill() {
        while bitCount <= 56 && pos < input.count {
            bitBuf |= UInt64(input[pos]) &<< UInt64(bitCount)
            pos += 1
            bitCount += 8
        }
    }

    /// The next `n` (≤ 32) bits as an integer, first bit least significant.
    mutating func bits(_ n: Int) throws(DataError) -> Int {
        if bitCount < n { refill() }
        guard bitCount >= n else { throw truncated }
        let value = Int(bitBuf & ((1 &<< UInt64(n)) &- 1))
        bitBuf &>>= UInt64(n)
        bitCount -= n
        return value
    }

    mutating func symbol(_ table: HuffmanTable, _ what: String) throws(DataError) -> Int {
        refill()
        let entry = Int(table.fast[Int(bitBuf & HuffmanTable.fastMask)])
        var symbol = entry >> 4
        var length = entry & 15
        if length == 0 {
            guard let (s, l) = table.decodeSlow(bitBuf, available: bitCount) else {
                throw corrupt("invalid \(what) code")
            }
            symbol = s
            length = l
        }
        guard length > 0, length <= bitCount else { throw truncated }
        bitBuf &>>= UInt64(length)
        bitCount -= length
        return symbol
    }

    // MARK: blocks

    mutating func reserve(_ n: Int) throws(DataError) {
        let free = out.count - outCount
        if free >= n { return }
        // Room for one maximal match beyond the limit so the loop can always run; run() checks the real limit.
        let cap = limit > Int.max - 2 * Inflater.maxMatch ? Int.max : limit + Inflater.maxMatch
        let wanted = min(max(out.count * 2, outCount + n, 1 << 16), cap)
        guard wanted - outCount >= n, outCount <= limit else {
            throw DataError(file: source, .outputTooLarge(limit: limit))
        }
        out.append(contentsOf: repeatElement(0, count: wanted - out.count))
    }

    mutating func storedBlock() throws(DataError) {
        // Stored data starts on a byte boundary; give whole buffered bytes back to the input.
        let drop = bitCount & 7
        bitBuf &>>= UInt64(drop)
        bitCount -= drop
        pos -= bitCount / 8
        bitBuf = 0
        bitCount = 0
        guard input.count - pos >= 4 else { throw truncated }
        let length = Int(input[pos]) | Int(input[pos + 1]) << 8
        let complement = Int(input[pos + 2]) | Int(input[pos + 3]) << 8
        guard length ^ complement == 0xFFFF else {
            throw corrupt("stored block length \(length) does not match its complement")
        }
        pos += 4
        guard input.count - pos >= length else { throw truncated }
        try reserve(length)
        out.replaceSubrange(outCount..<(outCount + length), with: input[pos..<(pos + length)])
        outCount += length
        pos += length
    }

    /// Order in which code-length code lengths are sent (RFC 1951 §3.2.7).
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    mutating func dynamicTables() throws(DataError) -> (HuffmanTable, HuffmanTable) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        // 286/30 are the alphabet sizes; the 5-bit fields can say more.
        guard literalCount <= 286 else { throw corrupt("\(literalCount) literal/length codes (at most 286)") }
        guard distanceCount <= 30 else { throw corrupt("\(distanceCount) distance codes (at most 30)") }

        var codeLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount { codeLengths[Inflater.codeLengthOrder[i]] = UInt8(try bits(3)) }
        let codeLengthTable = try table(codeLengths[...], "code-length")

        let total = literalCount + distanceCount
        var lengths = [UInt8](repeating: 0, count: total)
        var i = 0
        while i < total {
            let sym = try symbol(codeLengthTable, "code-length")
            var repeated: UInt8 = 0
            var times: Int
            switch sym {
            case 0...15:
                lengths[i] = UInt8(sym)
                i += 1
                continue
            case 16:
                guard i > 0 else { throw corrupt("repeat code with no previous length") }
                repeated = lengths[i - 1]
                times = 3 + (try bits(2))
            case 17: times = 3 + (try bits(3))
            case 18: times = 11 + (try bits(7))
            default: throw corrupt("invalid code-length symbol \(sym)")
            }
            guard times <= total - i else { throw corrupt("code-length repeat runs past the end of the table") }
            for j in i..<(i + times) { lengths[j] = repeated }
            i += times
        }
        guard lengths[256] != 0 else { throw corrupt("no end-of-block code") }
        let literal = try table(lengths[0..<literalCount], "literal/length")
        let distance = try table(lengths[literalCount..<total], "distance")
        return (literal, distance)
    }

    func table(_ lengths: ArraySlice<UInt8>, _ what: String) throws(DataError) -> HuffmanTable {
        do throws(HuffmanTable.BuildError) {
            return try HuffmanTable(lengths: lengths)
        } catch {
            switch error {
            case .oversubscribed: throw corrupt("over-subscribed \(what) code")
            case .incomplete: throw corrupt("incomplete \(what) code")
            }
        }
    }

    /// Decodes literal/length + distance symbols until end-of-block.
    mutating func huffmanBlock(_ literal: HuffmanTable, _ distance: HuffmanTable) throws(DataError) {
        while true {
            try reserve(Inflater.maxMatch)
            var state = HuffmanLoop.State(pos: pos, bitBuf: bitBuf, bitCount: bitCount, outCount: outCount)
            var buffer = out
            out = []  // keep `buffer` uniquely referenced so writing to it does not copy
            let status = input.withUnsafeBufferPointer { inp in
                buffer.withUnsafeMutableBufferPointer { dst in
                    HuffmanLoop.run(&state, inp, dst, literal, distance)
                }
            }
            out = buffer
            pos = state.pos
            bitBuf = state.bitBuf
            bitCount = state.bitCount
            outCount = state.outCount
            switch status {
            case .endOfBlock: return
            case .needSpace: continue
            case .truncated: throw truncated
            case .badLiteral: throw corrupt("invalid literal/length code")
            case .badLengthSymbol: throw corrupt("invalid length symbol (286 or 287)")
            case .badDistance: throw corrupt("invalid distance code")
            case .distanceTooFar(let d, let available):
                throw corrupt("distance \(d) reaches before the start of the output (\(available) bytes so far)")
            }
        }
    }
}

/// The per-symbol loop, on raw pointers. Kept apart from `Inflater` so the
/// state lives in locals (registers) while it runs.
private enum HuffmanLoop {
    struct State {
        var pos: Int
        var bitBuf: UInt64
        var bitCount: Int
        var outCount: Int
    }

    enum Status {
        case endOfBlock, needSpace, truncated, badLiteral, badLengthSymbol, badDistance
        case distanceTooFar(Int, Int)
    }

    static func run(
        _ state: inout State, _ input: UnsafeBufferPointer<UInt8>, _ output: UnsafeMutableBufferPointer<UInt8>,
        _ literal: HuffmanTable, _ distance: HuffmanTable
    ) -> Status {
        var pos = state.pos
        var buf = state.bitBuf
        var count = state.bitCount
        var outPos = state.outCount
        defer {
            state.pos = pos
            state.bitBuf = buf
            state.bitCount = count
            state.outCount = outPos
        }
        guard let out = output.baseAddress else { return .needSpace }
        let inCount = input.count
        // Every iteration writes at most 258 bytes, so one check per symbol bounds all writes.
        let outLimit = output.count - 258
        let mask = HuffmanTable.fastMask

        return literal.fast.withUnsafeBufferPointer { litFast in
            distance.fast.withUnsafeBufferPointer { distFast in
                while true {
                    if outPos > outLimit { return .needSpace }
                    // One refill per symbol suffices: a length/distance pair needs at most 15+5+15+13 = 48 bits.
                    if inCount - pos >= 8, let base = input.baseAddress {
                        let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
                        buf |= word &<< UInt64(count)
                        pos += (63 - count) >> 3
                        count |= 56
                    } else {
                        while count <= 56 && pos < inCount {
                            buf |= UInt64(input[pos]) &<< UInt64(count)
                            pos += 1
                            count += 8
                        }
                    }

                    var entry = Int(litFast[Int(buf & mask)])
                    var sym = entry >> 4
                    var len = entry & 15
                    if len == 0 {
                        guard let (s, l) = literal.decodeSlow(buf, available: count) else { return .badLiteral }
                        sym = s
                        len = l
                    }
                    if len == 0 || len > count { return .truncated }
                    buf &>>= UInt64(len)
                    count -= len
                    if sym < 256 {
                        out[outPos] = UInt8(truncatingIfNeeded: sym)
                        outPos += 1
                        continue
                    }
                    if sym == 256 { return .endOfBlock }

                    // Length: symbols 257...284 come in groups of four with one more extra bit per group.
                    let li = sym - 257
                    var length: Int
                    if li < 8 {
                        length = li + 3
                    } else if li < 28 {
                        let extra = (li >> 2) - 1
                        if extra > count { return .truncated }
                        length = (((li & 3) + 4) << extra) + 3 + Int(buf & ((1 &<< UInt64(extra)) &- 1))
                        buf &>>= UInt64(extra)
                        count -= extra
                    } else if li == 28 {
                        length = 258
                    } else {
                        return .badLengthSymbol
                    }

                    entry = Int(distFast[Int(buf & mask)])
                    var dsym = entry >> 4
                    len = entry & 15
                    if len == 0 {
                        guard let (s, l) = distance.decodeSlow(buf, available: count) else { return .badDistance }
                        dsym = s
                        len = l
                    }
                    if len == 0 || len > count { return .truncated }
                    buf &>>= UInt64(len)
                    count -= len
                    // Distance: symbols 4...29 come in pairs with one more extra bit per pair.
                    var dist: Int
                    if dsym < 4 {
                        dist = dsym + 1
                    } else if dsym < 30 {
                        let extra = (dsym >> 1) - 1
                        if extra > count { return .truncated }
                        dist = ((2 | (dsym & 1)) << extra) + 1 + Int(buf & ((1 &<< UInt64(extra)) &- 1))
                        buf &>>= UInt64(extra)
                        count -= extra
                    } else {
                        return .badDistance
                    }
                    if dist > outPos { return .distanceTooFar(dist, outPos) }

                    let from = outPos - dist
                    if dist >= length {
                        UnsafeMutableRawPointer(out + outPos).copyMemory(from: out + from, byteCount: length)
                    } else {
                        // Overlapping copy repeats the last `dist` bytes; must go forward byte by byte.
                        for k in 0..<length { out[outPos + k] = out[from + k] }
                    }
                    outPos += length
                }
            }
        }
    }
}
