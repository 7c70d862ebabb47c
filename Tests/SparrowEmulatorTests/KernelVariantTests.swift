import Foundation
import Testing

/// The FP32 conv kernels (conv.c, conv_backward.c) under every kernel variant
/// (sparrow_kernels_tuning.h): on rv32 each variant runs its own block limits
/// (pixels or taps side by side) and must give the host's bits, which ignore
/// the variant. Shapes reach full and partial channel blocks, pixel runs of 1
/// to 4, groups, strides, padding and depthwise; forward with and without
/// scratch, input and weight gradients (accumulate 0 and 1), the fused weight
/// update (momentum); 1, 2 and 3 cores. The FP16 conv kernels' variants are
/// checked by F16Rv32Tests.
@Suite struct KernelVariantTests {
    @Test func fp32ConvVariantsAreTheHostsBits() throws {
        let body = KernelHarness.f16Support + "\n" + """
        #include "conv.c"
        #include "conv_backward.c"
        #include "depthwise.c"
        """ + "\n" + KernelHarness.convVariants + "\n" + """
        /* in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups */
        static const int shapes[][11] = {
          {7, 6, 8, 16, 3, 3, 1, 1, 1, 1, 1}, {6, 7, 5, 7, 3, 3, 2, 2, 1, 1, 1}, {8, 8, 8, 12, 3, 3, 1, 1, 1, 1, 2},
          {5, 5, 16, 24, 1, 1, 1, 1, 0, 0, 1}, {9, 5, 3, 4, 3, 2, 2, 1, 2, 0, 1}, {4, 4, 8, 18, 3, 3, 1, 1, 1, 1, 1},
          {6, 6, 10, 10, 3, 3, 1, 1, 1, 1, 10}, {5, 6, 4, 6, 2, 2, 2, 2, 0, 1, 2}};
        #define NSHAPES (sizeof shapes / sizeof shapes[0])
        static float xs[512], ws[1536], bs[32], ys[768], dys[768], dxs[512], dws[1536], ms[1536], scratch[3 * 1152];
        /* Finite floats from a few exponent bands: sums that cancel and round. */
        static void fill(float *p, int n) {
          for (int i = 0; i < n; i++) { uint32_t r = next(); p[i] = bitsf((r & 0x807fffffu) | ((120u + ((r >> 23) & 7u)) << 23)); }
        }
        static void mixall(const float *p, int n) { for (int i = 0; i < n; i++) mix(fbits(p[i])); }
        static void pass(void) {
          begin();
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int nx = s.in_h * s.in_w * s.in_c, ny = s.out_h * s.out_w * s.out_c;
            int nw = sp_conv_is_depthwise(&s) ? s.k_h * s.k_w * s.in_c : s.out_c * s.k_h * s.k_w * (s.in_c / s.groups);
            for (int cores = 1; cores <= 3; cores++) {
              fill(xs, nx); fill(ws, nw); fill(bs, s.out_c); fill(dys, ny);
              for (int scr = 0; scr < 2; scr++) {
                for (int c = 0; c < cores; c++) sp_conv2d_fwd_f32(&s, xs, ws, (i & 1) ? bs : NULL, ys, scr ? scratch : NULL, c, cores);
                mixall(ys, ny);
              }
              for (int c = 0; c < cores; c++) sp_conv2d_bwd_input_f32(&s, dys, ws, dxs, NULL, c, cores);
              mixall(dxs, nx);
              for (int acc = 0; acc < 2; acc++) {
                fill(dws, nw);
                for (int c = 0; c < cores; c++) sp_conv2d_bwd_weight_f32(&s, xs, dys, dws, acc, NULL, c, cores);
                mixall(dws, nw);
              }
              fill(ms, nw);
              sp_update u = {SP_UPDATE_MOMENTUM, ws, ms, NULL, 0.01f, 0.0005f, 0.5f, 0.9f, 0, 0, 0, 1, 1};
              for (int c = 0; c < cores; c++) sp_conv2d_bwd_weight_update_f32(&s, xs, dys, &u, NULL, c, cores);
              mixall(ws, nw);
              mixall(ms, nw);
            }
            emit("conv", hash);
          }
        }
        static void run(void) { each_variant(pass); }
        """
        try KernelHarness.expectSameOutput(body, lines: 8 * 4)
    }
}
