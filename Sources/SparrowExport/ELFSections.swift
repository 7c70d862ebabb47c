/// The sections of an ELF32 little-endian file: name, address and size (what
/// `size` reports). Nil for anything that is not such a file.
struct ELFSections {
    struct Section {
        var name: String
        var size: Int
    }

    let sections: [Section]

    init?(_ bytes: [UInt8]) {
        func u16(_ at: Int) -> Int? { at + 2 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : nil }
        func u32(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        guard bytes.count >= 52, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 1, bytes[5] == 1,
              let shoff = u32(0x20), let entsize = u16(0x2E), let count = u16(0x30), let names = u16(0x32),
              entsize >= 40, names < count else { return nil }
        func header(_ k: Int) -> (name: UInt32, offset: UInt32, size: UInt32)? {
            let at = Int(shoff) + k * entsize
            guard let n = u32(at), let o = u32(at + 16), let s = u32(at + 20) else { return nil }
            return (n, o, s)
        }
        guard let strtab = header(names) else { return nil }
        func name(_ offset: UInt32) -> String {
            var at = Int(strtab.offset) + Int(offset), chars: [UInt8] = []
            while at < bytes.count, bytes[at] != 0 { chars.append(bytes[at]); at += 1 }
            return String(decoding: chars, as: UTF8.self)
        }
        var result: [Section] = []
        for k in 1..<count {
            guard let h = header(k) else { return nil }
            result.append(Section(name: name(h.name), size: Int(h.size)))
        }
        sections = result
    }

    func size(_ name: String) -> Int { sections.first { $0.name == name }?.size ?? 0 }
}
