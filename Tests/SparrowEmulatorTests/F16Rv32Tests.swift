import Foundation
import Testing

/// The fp16 arithmetic of the kernel library (Sources/CSparrowKernels/sp_f16.h) is
/// native Zfh instructions on rv32 and integer code on the host: one C program,
/// built both ways, must give the same bits. It prints an FNV-1a hash of every
/// result of each operation over exhaustive (unary) or large seeded (binary,
/// fma) input sets, rounding boundaries and special values included.
@Suite struct F16Rv32Tests {
    @Test func conversionsAndSqrtAreTheIntegerCodesBits() throws {
        let body = KernelHarness.f16Support + "\n" + """
        static void run(void) {
          begin();
          for (uint32_t h = 0; h < 65536; h++) { float f = sp_h2f_arith((sp_f16)h); mix(fkey(f)); mix(f == f ? fbits(f) : 0u); }
          emit("h2f_arith", hash);
          begin();
          for (uint32_t h = 0; h < 65536; h++) mix(sp_f2h(sp_h2f((sp_f16)h)));
          emit("roundtrip", hash);
          begin();
          for (uint32_t h = 0; h < 65536; h++) mix(sp_h_sqrt((sp_f16)h));
          emit("sqrt", hash);
          /* Every fp16 value, the fp32 neighbours of it, the midpoints to the next fp16 (ties)
           * and their fp32 neighbours; then random fp32 bit patterns. */
          begin();
          for (uint32_t h = 0; h < 0x7c00; h++) {
            for (uint32_t s = 0; s < 2; s++) {
              uint32_t u = fbits(sp_h2f((sp_f16)h)), m = fbits((sp_h2f((sp_f16)h) + sp_h2f((sp_f16)(h + 1))) * 0.5f);
              uint32_t sign = s << 31;
              mix(sp_f2h(bitsf(u | sign))); mix(sp_f2h(bitsf((u + 1u) | sign)));
              if (u != 0) mix(sp_f2h(bitsf((u - 1u) | sign)));
              mix(sp_f2h(bitsf(m | sign))); mix(sp_f2h(bitsf((m + 1u) | sign))); mix(sp_f2h(bitsf((m - 1u) | sign)));
            }
          }
          for (int i = 0; i < 200000; i++) mix(sp_f2h(bitsf(next())));
          emit("f2h", hash);
        }
        """
        try KernelHarness.expectSameOutput(body, lines: 4)
    }

    @Test func arithmeticIsTheIntegerCodesBits() throws {
        let body = KernelHarness.f16Support + "\n" + """
        static void pair(sp_f16 a, sp_f16 b, uint32_t h[4]) {
          hash = h[0]; mix(sp_h_add(a, b)); h[0] = hash;
          hash = h[1]; mix(sp_h_sub(a, b)); h[1] = hash;
          hash = h[2]; mix(sp_h_mul(a, b)); h[2] = hash;
          hash = h[3]; mix(sp_h_div(a, b)); h[3] = hash;
        }
        static void run(void) {
          uint32_t h[4] = {2166136261u, 2166136261u, 2166136261u, 2166136261u};
          for (unsigned i = 0; i < NSPECIAL; i++)
            for (unsigned j = 0; j < NSPECIAL; j++) pair(special[i], special[j], h);
          for (int i = 0; i < 150000; i++) { sp_f16 a = rnd(); pair(a, rnd(), h); }
          emit("add", h[0]); emit("sub", h[1]); emit("mul", h[2]); emit("div", h[3]);
          /* fma: specials, random triples, and c near -(a*b) (cancellation, ties after it). */
          begin();
          for (unsigned i = 0; i < NSPECIAL; i++)
            for (unsigned j = 0; j < NSPECIAL; j++)
              for (unsigned k = 0; k < NSPECIAL; k++) mix(sp_h_fma(special[i], special[j], special[k]));
          for (int i = 0; i < 150000; i++) { sp_f16 a = rnd(), b = rnd(); mix(sp_h_fma(a, b, rnd())); }
          for (int i = 0; i < 40000; i++) {
            sp_f16 a = rnd(), b = rnd(), c = sp_f2h(-(sp_h2f(a) * sp_h2f(b)));
            for (int d = -2; d <= 2; d++) mix(sp_h_fma(a, b, (sp_f16)(c + d)));
          }
          emit("fma", hash);
          /* The fp32 accumulator: acc + x * y (fmadd.s on rv32), any fp32 acc. */
          begin();
          for (int i = 0; i < 150000; i++) {
            uint32_t r = next();
            float acc = (r & 1u) ? bitsf(next()) : bitsf((r & 0x807fffffu) | ((100u + ((r >> 24) & 63u)) << 23));
            sp_f16 x = rnd(), y = rnd();
            mix(fkey(sp_f32_mac(acc, sp_h2f_arith(x), sp_h2f_arith(y))));
            sp_f16_accum a = sp_acc_start(SP_F16_ACC_F32, &x);
            sp_acc_mac(SP_F16_ACC_F32, &a, y, x);
            sp_acc_add(SP_F16_ACC_F32, &a, y);
            sp_f16 out = x;
            sp_acc_store(SP_F16_ACC_F32, a, &out, 1);
            mix(out);
          }
          emit("f32mac", hash);
        }
        """
        try KernelHarness.expectSameOutput(body, lines: 6)
    }

    /// The conv kernels (f16_conv.c, and f16_conv_rv32.c's register blocks on rv32)
    /// over shapes that reach every block width, pixel and tap run, groups,
    /// strides, padding, odd channel counts, misaligned buffers (no packed loads)
    /// and depthwise; both accumulation modes, accumulate 0 and 1, 1, 4 and 7 cores,
    /// and every kernel variant (sparrow_kernels_tuning.h): each must give the
    /// host's bits (the host ignores the variant).
    @Test(arguments: [false, true]) func convKernelsAreTheHostsBits(xfvec: Bool) throws {
        let body = KernelHarness.f16Conv + "\n" + """
        /* in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups */
        static const int shapes[][11] = {
          {7, 6, 12, 10, 3, 3, 1, 1, 1, 1, 1}, {6, 7, 5, 7, 3, 3, 2, 2, 1, 1, 1}, {8, 8, 8, 12, 3, 3, 1, 1, 1, 1, 2},
          {6, 6, 6, 6, 3, 3, 1, 1, 1, 1, 3}, {5, 5, 16, 34, 1, 1, 1, 1, 0, 0, 1}, {9, 5, 3, 4, 3, 2, 2, 1, 2, 0, 1},
          {4, 4, 32, 18, 3, 3, 1, 1, 1, 1, 1}, {6, 6, 10, 10, 3, 3, 1, 1, 1, 1, 10}, {5, 6, 4, 6, 2, 2, 2, 2, 0, 1, 2}};
        #define NSHAPES (sizeof shapes / sizeof shapes[0])
        static sp_f16 xb[2 + 8 * 8 * 32], wb[2 + 36 * 32 * 9], bb[2 + 36], yb[2 + 8 * 8 * 36], dyb[2 + 8 * 8 * 36],
          dxb[2 + 8 * 8 * 32], dwb[2 + 36 * 32 * 9];
        static void pass(void) {
          begin();
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int nx = s.in_h * s.in_w * s.in_c, ny = s.out_h * s.out_w * s.out_c;
            int nw = s.out_c * s.k_h * s.k_w * (s.in_c / s.groups);
            for (int off = 0; off < 2; off++) { /* off = 1: buffers at odd halfword addresses */
              sp_f16 *x = xb + off, *w = wb + off, *b = bb + off, *y = yb + off, *dy = dyb + off, *dx = dxb + off, *dw = dwb + off;
              for (int mode = 0; mode < 2; mode++) {
                for (int cores = 1; cores <= 7; cores += 3) {
                  fill(x, nx); fill(w, nw); fill(b, s.out_c); fill(dy, ny);
                  conv_pass(&s, x, w, (i & 1) ? b : NULL, y, dy, dx, dw, nx, nw, ny, mode, cores);
                }
              }
            }
            emit("conv", hash);
          }
        }
        static void run(void) { each_variant(pass); }
        """
        try KernelHarness.expectSameOutput(body, lines: 9 * 4, on: .zfh(xfvec: xfvec))
    }
}
