import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees either the old content or the new, never a
/// part of it (DESIGN.md invariant 5): the bytes go to a temporary file in the same
/// directory, are flushed to disk, and the file is renamed over the target.
/// `rename(2)` within one directory is atomic on POSIX file systems; a temporary in
/// another directory could be on another file system, where rename fails.
public enum AtomicFile {
    /// Why a file could not be written. The target is untouched when this is thrown.
    public struct WriteError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file that was to be written.
        public var path: String
        /// What failed, with the system's reason.
        public var detail: String
        public var description: String { "cannot write \(path): \(detail)" }
    }

    /// Replaces (or creates) the file at `url` with `data`, atomically.
    ///
    /// The new file gets mode 0644 (less the umask). On any failure the temporary
    /// file is removed and the target keeps its previous content. The containing
    /// directory must exist.
    public static func write(_ data: Data, to url: URL) throws(WriteError) {
        let target = url.standardizedFileURL.path
        let directory = (target as NSString).deletingLastPathComponent
        let base = (target as NSString).lastPathComponent
        guard !base.isEmpty else { throw WriteError(path: target, detail: "not a file path") }
        var random = SystemRandomNumberGenerator()
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(base).tmp-\(getpid())-\(String(random.next(), radix: 36))"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw WriteError(path: target, detail: "cannot create a temporary file in \(directory): \(errnoText())") }
        var closed = false
        func fail(_ what: String) -> WriteError {
            let reason = errnoText()
            if !closed { _ = close(fd) }
            _ = unlink(temporary)
            return WriteError(path: target, detail: "\(what): \(reason)")
        }

        var written = 0
        let total = data.count
        let failedWrite: Bool = data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            while written < total {
                let n = systemWrite(fd, base + written, total - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                written += n
            }
            return false
        }
        if failedWrite { throw fail("writing the temporary file failed") }
        if fsync(fd) != 0 { throw fail("flushing the temporary file failed") }
        closed = true
        if close(fd) != 0 { throw fail("closing the temporary file failed") }
        if rename(temporary, target) != 0 { throw fail("renaming the temporary file over the target failed") }

        // Make the rename itself durable; failure here leaves a correct file, so it is not an error.
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

/// `write(2)`; a file-scope name because inside `AtomicFile` the method shadows it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
