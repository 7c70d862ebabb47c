import Foundation
import Testing

/// The INT8 conv and linear forward kernels: on rv32 with CORE-V packed SIMD
/// (xcvsimd) they run int8_conv_rv32.c (cv.sdotsp.b dot products in register
/// blocks), on the host the portable loops. One C program, built both ways,
/// hashes every output over shapes with input channels per group that are and
/// are not multiples of 4 (word and byte paths), groups, strides, padding,
/// pixel runs of every length, output-channel tails, buffers at odd byte
/// addresses (byte path only), zero points from -128 to 127, full-range biases
/// (the int32 sums wrap), fused clamps, on 1, 3 and 8 cores and every kernel
/// variant. Each hash must be the host's.
@Suite struct Int8Rv32Tests {
    @Test func int8ForwardKernelsAreTheHostsBits() throws {
        let body = """
        #include "int8_conv.c"
        #include "int8_conv_rv32.c"
        #include "int8_linear.c"
        #include "int8_requant.c"
        #if SP_INT8_SIMD != defined(__riscv)
        #error "the packed int8 kernels run on the rv32 build only"
        #endif
        """ + "\n" + KernelHarness.generator + "\n" + KernelHarness.convVariants + "\n" + """
        /* in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups */
        static const int shapes[][11] = {
          {8, 8, 16, 10, 3, 3, 1, 1, 1, 1, 1}, {7, 6, 3, 9, 3, 3, 1, 1, 1, 1, 1}, {6, 7, 8, 6, 3, 3, 2, 2, 1, 1, 2},
          {5, 9, 12, 6, 3, 3, 1, 1, 1, 1, 2}, {6, 6, 32, 7, 1, 1, 2, 2, 0, 0, 1}, {9, 5, 4, 5, 3, 2, 2, 1, 2, 0, 1},
          {5, 6, 20, 4, 2, 3, 1, 1, 0, 1, 1}, {3, 3, 8, 3, 2, 2, 1, 1, 2, 2, 1}, {4, 11, 16, 17, 3, 3, 1, 1, 1, 1, 1}};
        #define NSHAPES (sizeof shapes / sizeof shapes[0])
        /* in_features, out_features */
        static const int linears[][2] = {{64, 10}, {30, 7}, {16, 4}, {3, 9}};
        #define NLINEARS (sizeof linears / sizeof linears[0])
        static const int32_t zero_points[] = {-128, 0, 127, -39, 5};
        static int8_t xb[4 + 8 * 11 * 32], wb[4 + 17 * 9 * 16], yb[4 + 8 * 11 * 17];
        static int32_t bb[32], mult[32], shift[32];
        static void fill(int8_t *p, int n) { for (int i = 0; i < n; i++) p[i] = (int8_t)next(); }
        static void requant(sp_requant_int8 *rq, int n, int k) {
          for (int i = 0; i < n; i++) {
            bb[i] = (int32_t)next();
            if (k & 1) bb[i] >>= 12; /* small biases: outputs inside the clamp */
            mult[i] = (int32_t)(0x40000000u | (next() >> 2));
            shift[i] = 6 + (int32_t)(next() % 14u);
          }
          rq->in_zero_point = zero_points[k % 5];
          rq->out_zero_point = (int32_t)(next() % 256u) - 128;
          rq->act_min = (k & 2) ? rq->out_zero_point : -128;
          rq->act_max = (k & 4) ? 100 : 127;
          rq->mult = mult;
          rq->shift = shift;
        }
        static void pass(void) {
          static const int core_counts[] = {1, 3, 8};
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int nx = s.in_h * s.in_w * s.in_c, ny = s.out_h * s.out_w * s.out_c;
            int nw = s.out_c * s.k_h * s.k_w * (s.in_c / s.groups);
            begin();
            /* off 0: x and w word-aligned; 1: x at an odd byte; 2: w at an odd byte. */
            for (int off = 0; off < 3; off++) {
              int8_t *x = xb + (off == 1), *w = wb + (off == 2), *y = yb + 1;
              for (int k = 0; k < 6; k++) {
                sp_requant_int8 rq;
                requant(&rq, s.out_c, k + (int)i);
                fill(x, nx);
                fill(w, nw);
                int cores = core_counts[k % 3];
                for (int c = 0; c < cores; c++) sp_conv2d_fwd_int8(&s, x, w, (k & 1) ? NULL : bb, &rq, y, c, cores);
                for (int j = 0; j < ny; j++) mix((uint32_t)(uint8_t)y[j]);
              }
            }
            emit("conv", hash);
          }
          for (unsigned i = 0; i < NLINEARS; i++) {
            int in = linears[i][0], out = linears[i][1];
            begin();
            for (int off = 0; off < 3; off++) {
              int8_t *x = xb + (off == 1), *w = wb + (off == 2), *y = yb + 1;
              for (int k = 0; k < 6; k++) {
                sp_requant_int8 rq;
                requant(&rq, out, k + (int)i);
                fill(x, in);
                fill(w, in * out);
                int cores = core_counts[k % 3];
                for (int c = 0; c < cores; c++) sp_linear_fwd_int8(in, out, x, w, (k & 1) ? NULL : bb, &rq, y, c, cores);
                for (int j = 0; j < out; j++) mix((uint32_t)(uint8_t)y[j]);
              }
            }
            emit("linear", hash);
          }
        }
        static void run(void) { each_variant(pass); }
        """
        try KernelHarness.expectSameOutput(body, lines: (9 + 4) * 4, on: .xcv)
    }
}
