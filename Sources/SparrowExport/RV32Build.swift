import Foundation

/// Memory taken by an exported project's rv32 image, by section (bytes).
public struct ImageSizes: Codable, Hashable, Sendable {
    /// Code, in flash.
    public var text: Int
    /// Constants in flash: the frozen-weight image, initial values, tables and the linked samples.
    public var rodata: Int
    /// Initialized variables: in L1, their initial values also in flash.
    public var data: Int
    /// Zeroed variables in L1 (excluding stacks).
    public var bss: Int
    /// Per-core stacks in L1.
    public var stacks: Int
    /// The plan's arena in L2.
    public var arena: Int

    public var flash: Int { text + rodata + data }
    public var l1: Int { data + bss + stacks }
}

/// The clang beside `swift` on PATH (the Swift toolchain's, which targets rv32), if any.
public func toolchainClang() -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let swift = URL(fileURLWithPath: String(dir)).appendingPathComponent("swift")
        guard FileManager.default.isExecutableFile(atPath: swift.path) else { continue }
        let clang = swift.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("clang")
        if FileManager.default.isExecutableFile(atPath: clang.path) { return clang.path }
    }
    return nil
}

/// Runs `make` with `arguments` in `directory`; throws the build's own output on failure.
public func runMake(_ arguments: [String], in directory: URL) throws(ExportError) -> String {
    try runTool("make", arguments, in: directory)
}

/// Runs `tool` (a path, or a name looked up on PATH) with `arguments` in `directory` and
/// returns its output; on failure throws the lines that report errors (or all of it).
public func runTool(_ tool: String, _ arguments: [String], in directory: URL) throws(ExportError) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool.contains("/") ? tool : "/usr/bin/env")
    p.arguments = (tool.contains("/") ? [] : [tool]) + arguments
    p.currentDirectoryURL = directory
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { throw .build("cannot run \(tool): \(error.localizedDescription)") }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        let lines = output.split(separator: "\n").filter { $0.contains("error") || $0.contains("overflowed") || $0.contains("will not fit") }
        let name = URL(fileURLWithPath: tool).lastPathComponent
        throw .build("\(name) \(arguments.first ?? "") failed in \(directory.path):\n" + (lines.isEmpty ? output : lines.joined(separator: "\n")))
    }
    return output
}

/// Builds the project's rv32 image (`make rv32`) with `compiler` and reports its sizes.
public func buildRV32(_ directory: URL, compiler: String, jobs: Int = 2) throws(ExportError) -> ImageSizes {
    _ = try runMake(["-j\(max(jobs, 1))", "rv32", "RV32_CC=\(compiler)"], in: directory)
    let elf = directory.appendingPathComponent("sparrow.elf")
    guard let data = try? Data(contentsOf: elf), let s = ELFSections([UInt8](data)) else {
        throw .build("\(elf.path) is not an ELF32 image")
    }
    return ImageSizes(text: s.size(".text"), rodata: s.size(".rodata"), data: s.size(".data"), bss: s.size(".bss"),
                      stacks: s.size(".stack"), arena: s.size(".l2"))
}
