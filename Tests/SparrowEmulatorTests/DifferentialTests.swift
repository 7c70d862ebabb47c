import Foundation
import Testing
import SparrowEmulator

/// Small C programs compiled for the host (cc) and for rv32 print the same text
/// natively and in the emulator: integer arithmetic, division corner cases,
/// float and half arithmetic (correctly rounded on both), conversions.
@Suite struct DifferentialTests {
    /// Host build of a program using `emit(uint32_t)`; returns its output.
    static func host(_ body: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = "#include <stdio.h>\n#include <stdint.h>\nstatic void emit(uint32_t v) { printf(\"%08x\\n\", v); }\n" + body
            + "\nint main(void) { run(); return 0; }\n"
        try source.write(to: dir.appendingPathComponent("p.c"), atomically: true, encoding: .utf8)
        let cc = FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") ? "/usr/bin/cc" : RV32.clang
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(cc) -std=c11 -O2 -ffp-contract=off -fno-fast-math p.c -o p -lm && ./p"]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw RV32.Failure(description: "host build failed") }
        return text
    }

    static func emulated(_ body: String) throws -> String {
        let source = """
        #include <stdint.h>
        #define REG(o) (*(volatile unsigned int *)(0x1A000000 + (o)))
        static void emit(uint32_t v) {
          for (int s = 28; s >= 0; s -= 4) { unsigned d = (v >> s) & 15; REG(4) = d < 10 ? '0' + d : 'a' + d - 10; }
          REG(4) = '\\n';
        }
        """ + body + "\nint main(void) { run(); return 0; }\n"
        return try RV32.run(try RV32.build(c: source)).console
    }

    static let values = """
    static const uint32_t bits[] = {0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40490fdb, 0x7f7fffff, 0xff7fffff,
      0x00800000, 0x007fffff, 0x00000001, 0x80000001, 0x7f800000, 0xff800000, 0x4b000001, 0x33800000, 0x3eaaaaab, 0xc2f6e979,
      0x4f000000, 0xcf000001, 0x5f800000, 0x3f000001};
    #define N (sizeof bits / sizeof bits[0])
    static float f(uint32_t b) { union { uint32_t u; float f; } v = {b}; return v.f; }
    static uint32_t u(float x) { union { float f; uint32_t u; } v = {x}; return v.u; }
    """

    @Test func floatArithmeticMatchesTheHost() throws {
        let body = Self.values + """
        static void run(void) {
          for (unsigned i = 0; i < N; i++) {
            volatile float a = f(bits[i]);
            for (unsigned j = 0; j < N; j++) {
              volatile float b = f(bits[j]);
              float s = a + b, d = a - b, p = a * b, q = a / b;
              /* NaN payloads differ between x86 and RISC-V (canonical NaN): emit NaN as one value */
              emit(s != s ? 0x7fc00000u : u(s)); emit(d != d ? 0x7fc00000u : u(d));
              emit(p != p ? 0x7fc00000u : u(p)); emit(q != q ? 0x7fc00000u : u(q));
              emit((uint32_t)(a < b) | (uint32_t)(a <= b) << 1 | (uint32_t)(a == b) << 2);
            }
            float r = __builtin_sqrtf(a);
            emit(r != r ? 0x7fc00000u : u(r));
            if (a == a && a > -2147483648.0f && a < 2147483648.0f) emit((uint32_t)(int32_t)a);
            emit(u((float)(int32_t)bits[i])); emit(u((float)bits[i]));
          }
        }
        """
        let expected = try Self.host(body), got = try Self.emulated(body)
        #expect(got == expected)
        #expect(got.split(separator: "\n").count > 2000)
    }

    @Test func integerCornerCasesMatchTheHost() throws {
        let body = """
        static const uint32_t v[] = {0, 1, 2, 3, 7, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 12345678, 0x80000001, 31, 32, 33};
        #define M (sizeof v / sizeof v[0])
        static void run(void) {
          for (unsigned i = 0; i < M; i++) for (unsigned j = 0; j < M; j++) {
            volatile uint32_t a = v[i], b = v[j];
            volatile int32_t sa = (int32_t)a, sb = (int32_t)b;
            emit(a * b); emit((uint32_t)(((uint64_t)a * b) >> 32)); emit((uint32_t)(((int64_t)sa * sb) >> 32));
            emit((uint32_t)(((int64_t)sa * (int64_t)(uint64_t)b) >> 32));
            if (b) emit(a / b); if (b) emit(a % b);
            if (sb && !(sa == (int32_t)0x80000000 && sb == -1)) { emit((uint32_t)(sa / sb)); emit((uint32_t)(sa % sb)); }
            emit(a << (b & 31)); emit(a >> (b & 31)); emit((uint32_t)(sa >> (b & 31)));
            emit((uint32_t)(sa < sb)); emit((uint32_t)(a < b));
            emit((uint32_t)(int32_t)(int8_t)a); emit((uint32_t)(int32_t)(int16_t)a); emit((uint32_t)(uint16_t)a);
          }
        }
        """
        #expect(try Self.emulated(body) == (try Self.host(body)))
    }
}
