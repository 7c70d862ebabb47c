import Foundation
import Testing

/// The FP16 depthwise conv kernels: on rv32 with Zfh they run the register
/// blocks of f16_conv_rv32.c ("depthwise": pixels gathered by the taps they
/// apply, channel pairs packed with Xfvec), on the host the portable loops of
/// f16_conv.c. One C program, built both ways, hashes every output of the
/// forward, input grad and weight grad (accumulate 0 and 1) under both
/// accumulation modes, on 1, 3 and 8 cores and every kernel variant, over
/// shapes with odd and even channel counts, channel tails, strides 1 and 2,
/// asymmetric kernels, padding that leaves whole windows outside the input,
/// neighbouring pixels whose windows differ only in their first tap, and
/// buffers at odd halfword addresses (all of them, or only the outputs: no
/// packed loads or stores). Each hash must be the host's.
@Suite struct F16DepthwiseRv32Tests {
    @Test(arguments: [false, true]) func depthwiseKernelsAreTheHostsBits(xfvec: Bool) throws {
        let body = KernelHarness.f16Conv + "\n" + """
        /* in_h, in_w, channels, k_h, k_w, stride_h, stride_w, pad_top, pad_left */
        static const int shapes[][9] = {
          {7, 6, 10, 3, 3, 1, 1, 1, 1}, {6, 7, 7, 3, 3, 2, 2, 1, 1}, {9, 5, 34, 3, 3, 1, 1, 1, 1},
          {8, 8, 16, 5, 5, 2, 1, 2, 2}, {5, 6, 6, 2, 3, 1, 2, 0, 1}, {3, 3, 4, 2, 2, 1, 1, 2, 2},
          {10, 5, 64, 3, 3, 1, 1, 1, 1}, {6, 5, 12, 3, 3, 2, 2, 0, 1},
          /* 2 columns: neighbours whose windows have as many taps but start at different ones */
          {4, 2, 6, 3, 3, 1, 1, 1, 1}};
        #define NSHAPES (sizeof shapes / sizeof shapes[0])
        #define MAXPIX (10 * 5 * 64)
        static sp_f16 xb[2 + MAXPIX], wb[2 + 25 * 64], bb[2 + 64], yb[2 + MAXPIX], dyb[2 + MAXPIX], dxb[2 + MAXPIX],
          dwb[2 + 25 * 64];
        static void pass(void) {
          static const int core_counts[] = {1, 3, 8};
          begin();
          for (unsigned i = 0; i < NSHAPES; i++) {
            const int *v = shapes[i];
            const int row[11] = {v[0], v[1], v[2], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[2]};
            sp_conv2d_shape s = conv_shape(row);
            int nx = s.in_h * s.in_w * s.in_c, ny = s.out_h * s.out_w * s.out_c, nw = s.k_h * s.k_w * s.in_c;
            /* off 0: every buffer word-aligned; 1: every buffer at an odd halfword; 2: only the outputs. */
            for (int off = 0; off < 3; off++) {
              int in = off == 1, out = off >= 1;
              const sp_f16 *x = xb + in, *w = wb + in, *b = bb + in, *dy = dyb + in;
              sp_f16 *y = yb + out, *dx = dxb + out, *dw = dwb + out;
              for (int mode = 0; mode < 2; mode++) {
                for (int k = 0; k < 3; k++) {
                  int cores = core_counts[k];
                  fill(xb + in, nx); fill(wb + in, nw); fill(bb + in, s.out_c); fill(dyb + in, ny);
                  conv_pass(&s, x, w, (i & 1) ? b : NULL, y, dy, dx, dw, nx, nw, ny, mode, cores);
                }
              }
            }
            emit("dwconv", hash);
          }
        }
        static void run(void) { each_variant(pass); }
        """
        try KernelHarness.expectSameOutput(body, lines: 9 * 4, on: .zfh(xfvec: xfvec))
    }
}
