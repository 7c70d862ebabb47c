import Foundation

/// Whole-file reads and atomic writes with `DataError`s that name the file.
public enum FileBytes {
    /// The bytes of the file at `path`.
    public static func read(_ path: String) throws(DataError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError(file: path, .cannotRead(reason: reason(error)))
        }
    }

    /// The bytes of the file at `path`, gunzipped when the file starts with the
    /// gzip magic (whatever its name says). Empty files are an error.
    /// - Parameter outputLimit: cap on decompressed bytes (see `Inflate.defaultOutputLimit`).
    public static func readDecompressed(
        _ path: String, outputLimit: Int = Inflate.defaultOutputLimit
    ) throws(DataError) -> [UInt8] {
        try decompressIfGzip(try read(path), source: path, outputLimit: outputLimit)
    }

    /// `bytes` gunzipped when they start with the gzip magic, else unchanged.
    /// Empty input is an error naming `source`.
    public static func decompressIfGzip(
        _ bytes: [UInt8], source: String, outputLimit: Int = Inflate.defaultOutputLimit
    ) throws(DataError) -> [UInt8] {
        guard !bytes.isEmpty else { throw DataError(file: source, .empty) }
        return Gzip.hasMagic(bytes) ? try Gzip.decompress(bytes, source: source, outputLimit: outputLimit) : bytes
    }

    /// Writes `bytes` to a temporary file next to `path` and renames it over
    /// `path`, so readers never see a half-written file (DESIGN.md invariant 5).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(DataError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError(file: path, .cannotWrite(reason: reason(error)))
        }
    }

    /// The most specific message Foundation offers (the POSIX one when there is one).
    private static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
