import Foundation
import SparrowEmulator
import SparrowPlanner
import Testing

/// The kernel tests' harness: one C program that includes kernel sources, built
/// for the host (the portable code) and for an rv32 core (its native code) and
/// run in the emulator, must print the same text. A program defines
/// `run(void)` and prints with `emit(name, value)`, one line per call.
enum KernelHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernels = root.appendingPathComponent("Sources/CSparrowKernels").path
    static let includes = ["-I\(kernels)", "-I\(kernels)/include"]

    /// An rv32 core to run on: clang's -march, the emulated target, extra flags.
    struct Core {
        var march: String
        var target: Target
        var flags: [String] = []

        /// Zfh; with `xfvec`, also packed FP16 (Xfvec), which clang's -march does
        /// not know: the build defines SPARROW_XFVEC, the kernels' packed paths.
        static func zfh(xfvec: Bool = false) -> Core {
            var core = Core(march: RV32.target.march, target: RV32.target)
            if xfvec {
                core.target.march += "_xfvec"
                core.flags = ["-DSPARROW_XFVEC=1"]
            }
            return core
        }

        /// Zfh and the CORE-V extensions (packed int8 SIMD among them).
        static let xcv = Core(march: XcvTests.march, target: XcvTests.target)
    }

    /// Host build of `body`; returns its output.
    static func host(_ body: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = "#include <stdio.h>\n#include <stdint.h>\n"
            + "static void emit(const char *name, uint32_t v) { printf(\"%s %08x\\n\", name, v); }\n"
            + body + "\nint main(void) { run(); return 0; }\n"
        try source.write(to: dir.appendingPathComponent("p.c"), atomically: true, encoding: .utf8)
        let cc = FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") ? "/usr/bin/cc" : RV32.clang
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cc)
        p.arguments = ["-std=c11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"] + includes + ["p.c", "-o", "p"]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw RV32.Failure(description: "host build failed") }
        let run = Process()
        run.executableURL = dir.appendingPathComponent("p")
        let out = Pipe()
        run.standardOutput = out
        try run.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        return text
    }

    /// The same program built for `core` and run in the emulator; returns its
    /// console output. The image is freestanding: `emit` writes the console
    /// register, and byte-loop memcpy and memset stand in for the libc that
    /// clang calls for struct copies.
    static func emulated(_ body: String, on core: Core = .zfh()) throws -> String {
        let source = """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static void emit(const char *name, uint32_t v) {
          while (*name) REG(4) = (unsigned)*name++;
          REG(4) = ' ';
          for (int s = 28; s >= 0; s -= 4) { unsigned d = (v >> s) & 15; REG(4) = d < 10 ? '0' + d : 'a' + d - 10; }
          REG(4) = '\\n';
        }
        void *memcpy(void *d, const void *s, unsigned long n) { char *o = d; const char *i = s; while (n--) *o++ = *i++; return d; }
        void *memset(void *d, int c, unsigned long n) { char *o = d; while (n--) *o++ = (char)c; return d; }
        """ + "\n" + body + "\nint main(void) { run(); return 0; }\n"
        let flags = ["-O2", "-fno-fast-math"] + includes + core.flags
        return try RV32.run(try RV32.build(c: source, flags: flags, march: core.march), target: core.target).console
    }

    /// Expects `body` to print `lines` lines on the host and the same text on `core`.
    static func expectSameOutput(_ body: String, lines: Int, on core: Core = .zfh(),
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try host(body), got = try emulated(body, on: core)
        #expect(expected.split(separator: "\n").count == lines, sourceLocation: sourceLocation)
        #expect(got == expected, sourceLocation: sourceLocation)
    }

    /// The seeded generator (xorshift32 from SEED) and the FNV-1a hash that
    /// `mix` feeds and `begin` restarts.
    static let generator = """
    #define SEED 0x9e3779b9u
    static uint32_t state = SEED;
    static uint32_t next(void) { state ^= state << 13; state ^= state >> 17; state ^= state << 5; return state; }
    static uint32_t hash;
    static void mix(uint32_t v) { for (int i = 0; i < 4; i++) { hash = (hash ^ (v & 0xffu)) * 16777619u; v >>= 8; } }
    static void begin(void) { hash = 2166136261u; }
    """

    /// The fp16 programs' support: sp_f16.h (native on rv32 with Zfh only), the
    /// generator, float bits, special fp16 values and random fp16 inputs.
    static let f16Support = """
    #include "sp_f16.h"
    #if SP_F16_NATIVE != defined(__riscv)
    #error "sp_f16.h: native fp16 on rv32 with Zfh only"
    #endif
    """ + "\n" + generator + "\n" + """
    static uint32_t fbits(float f) { union { float f; uint32_t u; } v; v.f = f; return v.u; }
    static float bitsf(uint32_t u) { union { float f; uint32_t u; } v; v.u = u; return v.f; }
    /* fp32 NaN payloads differ between x86 and RISC-V; fp16 results must not. */
    static uint32_t fkey(float f) { return f != f ? 0x7fc00000u : fbits(f); }
    static const sp_f16 special[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x0401, 0x3bff, 0x3c00, 0xbc00, 0x3c01,
      0x3555, 0x7bff, 0xfbff, 0x7bfe, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x7fff, 0x0200, 0x1400, 0x5bff, 0x2001, 0xc500};
    #define NSPECIAL (sizeof special / sizeof special[0])
    /* A random fp16: half of them from narrow exponent bands (sums and products near each other). */
    static sp_f16 rnd(void) {
      uint32_t r = next();
      return (r & 0x10000u) ? (sp_f16)r : (sp_f16)((r & 0x83ffu) | ((12u + ((r >> 20) & 7u)) << 10));
    }
    """

    /// For the conv kernel programs (after the generator and the kernels'
    /// includes): `each_variant` runs a pass once per kernel variant
    /// (sparrow_kernels_tuning.h), each from SEED, and `conv_shape` makes the
    /// shape of a table row.
    static let convVariants = """
    #include "tuning.c"
    static void each_variant(void (*pass)(void)) {
      for (int variant = 0; variant < sp_kernel_variant_count(); variant++) {
        sp_kernel_variant_set(variant);
        state = SEED;
        pass();
      }
    }
    /* v: in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups */
    static sp_conv2d_shape conv_shape(const int v[11]) {
      sp_conv2d_shape s = {v[0], v[1], v[2], 0, 0, v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
      s.out_h = (s.in_h + 2 * s.pad_top - s.k_h) / s.stride_h + 1;
      s.out_w = (s.in_w + 2 * s.pad_left - s.k_w) / s.stride_w + 1;
      return s;
    }
    """

    /// The fp16 conv programs' kernels (f16_conv.c, and on rv32 the register
    /// blocks of f16_conv_rv32.c), with fp16 buffer fills and hashes, and one pass
    /// of all three conv kernels.
    static let f16Conv = f16Support + "\n" + """
    #include "f16_conv.c"
    #include "f16_conv_rv32.c"
    """ + "\n" + convVariants + "\n" + """
    static void fill(sp_f16 *p, int n) { for (int i = 0; i < n; i++) p[i] = (sp_f16)(rnd() & 0xbfffu); }
    static void mixall(const sp_f16 *p, int n) { for (int i = 0; i < n; i++) mix(p[i]); }
    /* One training pass of a conv on `cores` cores, each result hashed: forward (b may be
     * NULL), input gradient, and weight gradient both overwriting and accumulating. */
    static void conv_pass(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w, const sp_f16 *b, sp_f16 *y,
                          const sp_f16 *dy, sp_f16 *dx, sp_f16 *dw, int nx, int nw, int ny, int mode, int cores) {
      for (int c = 0; c < cores; c++) sp_conv2d_fwd_f16(s, x, w, b, y, (sp_f16_acc)mode, c, cores);
      mixall(y, ny);
      for (int c = 0; c < cores; c++) sp_conv2d_bwd_input_f16(s, dy, w, dx, (sp_f16_acc)mode, c, cores);
      mixall(dx, nx);
      for (int acc = 0; acc < 2; acc++) {
        fill(dw, nw);
        for (int c = 0; c < cores; c++) sp_conv2d_bwd_weight_f16(s, x, dy, dw, acc, (sp_f16_acc)mode, c, cores);
        mixall(dw, nw);
      }
    }
    """
}
