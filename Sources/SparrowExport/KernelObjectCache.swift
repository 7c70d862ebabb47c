import Foundation

/// Compiled kernel objects shared between exported projects: every export holds
/// the same kernel sources, so their objects (for one compiler and set of flags)
/// can be built once and copied into the next project's build folder, where make
/// then finds them up to date. Used by tests and benchmarks that build many exports.
public struct KernelObjectCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// The cache entry for `project`'s kernels built into `subdirectory` (e.g.
    /// `build/host/kernels`) with `key` (compiler and flags).
    private func entry(_ project: URL, subdirectory: String, key: String) throws -> URL {
        var digest = ContentDigest()
        let fm = FileManager.default
        for dir in ["kernels", "kernels/include", "rv32"] {
            let url = project.appendingPathComponent(dir)
            for f in ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []).sorted() where f.hasSuffix(".c") || f.hasSuffix(".h") {
                digest.mix((dir + "/" + f).utf8)
                digest.mix(try Data(contentsOf: url.appendingPathComponent(f)))
            }
        }
        digest.mix(subdirectory.utf8)
        digest.mix(key.utf8)
        return directory.appendingPathComponent(digest.hex)
    }

    /// Copies cached objects into the project (marked newer than its sources). Returns whether there were any.
    @discardableResult
    public func restore(into project: URL, subdirectory: String, key: String) -> Bool {
        let fm = FileManager.default
        guard let source = try? entry(project, subdirectory: subdirectory, key: key),
              let objects = try? fm.contentsOfDirectory(atPath: source.path), !objects.isEmpty else { return false }
        let target = project.appendingPathComponent(subdirectory)
        try? fm.createDirectory(at: target, withIntermediateDirectories: true)
        let now = Date().addingTimeInterval(1)
        for o in objects {
            let to = target.appendingPathComponent(o)
            guard (try? fm.copyItem(at: source.appendingPathComponent(o), to: to)) != nil else { return false }
            try? fm.setAttributes([.modificationDate: now], ofItemAtPath: to.path)
        }
        return true
    }

    /// Stores the project's freshly built objects (atomically: a whole entry appears at once).
    public func store(from project: URL, subdirectory: String, key: String) {
        let fm = FileManager.default
        guard let destination = try? entry(project, subdirectory: subdirectory, key: key), !fm.fileExists(atPath: destination.path) else { return }
        let staging = directory.appendingPathComponent(".staging-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            try fm.copyItem(at: project.appendingPathComponent(subdirectory), to: staging)
            try fm.moveItem(at: staging, to: destination)
        } catch {
            try? fm.removeItem(at: staging)  // another writer won, or no objects: nothing to keep
        }
    }
}

/// A 64-bit FNV-1a digest of bytes fed in order: the key of the build caches
/// (not cryptographic; it only has to tell different project files apart).
public struct ContentDigest: Sendable {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix(_ bytes: some Sequence<UInt8>) {
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }

    public var hex: String { String(hash, radix: 16) }
}

/// A digest of the kernel library's sources (names and bytes): what a measurement
/// made with them (a cached profile) depends on.
public func kernelSourcesDigest(_ directory: URL? = nil) -> String {
    let root = directory ?? defaultKernelSources
    var digest = ContentDigest()
    let files = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
        .filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") }.sorted()
    for f in files {
        digest.mix(f.utf8)
        digest.mix((try? Data(contentsOf: root.appendingPathComponent(f))) ?? Data())
    }
    return digest.hex
}
