import Foundation
import Testing

/// The split-weight kernels (split.c, f16_split.c, int8_split.c) have their own
/// rv32 code: register blocks with the channel-run walk, fmadd.h / vfmac.r.h
/// (fp16, Xfvec), cv.sdotsp.b (int8, xcvsimd). One C program per precision,
/// built for the host and for an rv32 core, runs each split kernel on shapes
/// that reach every block (pointwise like DS-CNN's, 3x3 with stride 2 and
/// padding, odd channel counts and tails, depthwise, linear), selections (none,
/// all, the first and last channel, a random third, a contiguous run, every
/// other channel, one channel), buffers at odd addresses (no packed or word
/// loads), core counts 1..8 and every kernel variant; and again with the
/// forward kernels' channel table limited to 16 channels (SP_SPLIT_TABLE), so
/// that wider rows walk runs. Each line hashes the split kernels' outputs,
/// which must be the host's on rv32; the last line of a pass counts the
/// elements where a split kernel differs from the plain kernel on the merged
/// weight, which must be 0 on both.
@Suite struct SplitRv32Tests {
    /// The program's shape table, selections, fills and the per-precision loop.
    static let common = KernelHarness.convVariants + "\n" + """
    /* in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, pad_top, pad_left, groups */
    static const int shapes[][11] = {
      {3, 4, 64, 32, 1, 1, 1, 1, 0, 0, 1}, {7, 6, 12, 10, 3, 3, 2, 2, 1, 1, 1}, {6, 5, 13, 7, 3, 3, 1, 1, 1, 1, 1},
      {4, 5, 16, 34, 1, 1, 1, 1, 0, 0, 1}, {7, 6, 8, 6, 5, 3, 1, 2, 2, 1, 1}, {6, 6, 20, 20, 3, 3, 1, 1, 1, 1, 20},
      {7, 5, 9, 9, 3, 3, 2, 2, 1, 1, 9}};
    #define NSHAPES (sizeof shapes / sizeof shapes[0])
    #define WMAX 2048 /* the largest weight, x, y of the table (L1 holds every buffer) */
    #define XMAX 800
    /* in_features, out_features */
    static const int linears[][2] = {{37, 9}, {64, 12}, {16, 4}, {3, 5}};
    #define NLINEARS (sizeof linears / sizeof linears[0])
    #define NSELECTIONS 7
    static int32_t sel[64];
    static uint32_t mismatches;
    /* Selection kind t of c channels into sel; returns k. */
    static int selection(int c, int t) {
      int k = 0;
      for (int i = 0; i < c; i++) {
        int take;
        switch (t) {
          case 0: take = 0; break;                                /* none */
          case 1: take = 1; break;                                /* all */
          case 2: take = i == 0 || i == c - 1; break;             /* first and last */
          case 3: take = next() % 3u == 0; break;                 /* a random third */
          case 4: take = i >= c / 4 && i < c / 4 + c / 3 + 1; break; /* a contiguous run */
          case 5: take = i % 2 == 1; break;                       /* every other */
          default: take = i == c / 2; break;                      /* one channel */
        }
        if (take) sel[k++] = i;
      }
      return k;
    }
    static const int core_counts[] = {1, 2, 3, 5, 8};
    #define NCORES (sizeof core_counts / sizeof core_counts[0])
    """

    /// The program's first lines: the channel table's limit (16: the run walk
    /// for wider rows) before the kernels are included.
    static func prefix(_ table: Int) -> String { table == 256 ? "" : "#define SP_SPLIT_TABLE \(table)\n" }

    /// Every kernel variant with the full channel table, variant 0 only otherwise.
    static func runLine(_ table: Int) -> String {
        table == 256 ? "static void run(void) { each_variant(pass); }" : "static void run(void) { state = SEED; pass(); }"
    }

    @Test(arguments: [256, 16]) func fp32SplitKernelsAreTheHostsBits(table: Int) throws {
        let body = Self.prefix(table) + """
        #include "conv.c"
        #include "conv_backward.c"
        #include "depthwise.c"
        #include "linear.c"
        #include "split.c"
        """ + "\n" + KernelHarness.generator + "\n" + Self.common + "\n" + """
        static float xb[1 + XMAX], wb[1 + WMAX], wfb[1 + WMAX], wsb[1 + WMAX], bb[1 + 64], yb[XMAX], rb[XMAX], dyb[1 + XMAX];
        static float bitsf(uint32_t u) { union { float f; uint32_t u; } v; v.u = u; return v.f; }
        static float rndf(void) { return (float)(int32_t)next() * 4.656612873e-10f; }
        static void fill(float *p, int n) { for (int i = 0; i < n; i++) p[i] = rndf(); }
        static uint32_t fb(float f) { union { float f; uint32_t u; } v; v.f = f; return v.u; }
        static void check(const float *got, const float *want, int n) {
          for (int i = 0; i < n; i++) { mix(fb(got[i])); mismatches += fb(got[i]) != fb(want[i]); }
        }
        /* The slice of selection k and the frozen copy with NaN garbage in the selected channels. */
        static void split_w(const float *w, float *wf, float *ws, int rows, int c, int k) {
          for (int i = 0; i < rows * c; i++) wf[i] = w[i];
          for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) { ws[r * k + j] = w[r * c + sel[j]]; wf[r * c + sel[j]] = bitsf(0x7fc01234u); }
        }
        static void pass(void) {
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int dw = s.groups > 1, c = s.in_c, nx = s.in_h * s.in_w * c, ny = s.out_h * s.out_w * s.out_c;
            int rows = dw ? s.k_h * s.k_w : s.out_c * s.k_h * s.k_w;
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              if (i == 0 && t > 3) break; /* the large pointwise shape: fewer selections */
              int off = t & 1;
              float *x = xb + off, *w = wb + off, *wf = wfb + off, *ws = wsb + off, *b = bb + off, *dy = dyb + off;
              int k = selection(c, t);
              fill(x, nx); fill(w, rows * c); fill(b, s.out_c); fill(dy, ny);
              split_w(w, wf, ws, rows, c, k);
              const float *bias = (t % 3) ? b : NULL;
              sp_conv2d_fwd_f32(&s, x, w, bias, rb, NULL, 0, 1);
              int cores = core_counts[(i + t) % NCORES];
              for (int cc = 0; cc < cores; cc++) sp_conv2d_fwd_split_f32(&s, x, wf, k ? ws : NULL, k ? sel : NULL, k, bias, yb, cc, cores);
              check(yb, rb, ny);
              sp_conv2d_bwd_input_f32(&s, dy, w, rb, NULL, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_conv2d_bwd_input_split_f32(&s, dy, wf, k ? ws : NULL, k ? sel : NULL, k, yb, cc, cores);
              check(yb, rb, nx);
            }
            emit("conv", hash);
          }
          for (unsigned i = 0; i < NLINEARS; i++) {
            int in = linears[i][0], out = linears[i][1];
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              int k = selection(in, t), cores = core_counts[(i + t) % NCORES];
              fill(xb, in); fill(wb, in * out); fill(bb, out); fill(dyb, out);
              split_w(wb, wfb, wsb, out, in, k);
              sp_linear_fwd_f32(in, out, xb, wb, bb, rb, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_linear_fwd_split_f32(in, out, xb, wfb, wsb, sel, k, bb, yb, cc, cores);
              check(yb, rb, out);
              sp_linear_bwd_input_f32(in, out, dyb, wb, rb, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_linear_bwd_input_split_f32(in, out, dyb, wfb, wsb, sel, k, yb, cc, cores);
              check(yb, rb, in);
            }
            emit("linear", hash);
          }
          emit("mismatches", mismatches);
        }
        """ + "\n" + Self.runLine(table)
        try Self.expect(body, on: .zfh(), passes: table == 256 ? 4 : 1)
    }

    @Test(arguments: [false, true], [256, 16]) func fp16SplitKernelsAreTheHostsBits(xfvec: Bool, table: Int) throws {
        let body = Self.prefix(table) + KernelHarness.f16Support + "\n" + """
        #include "f16_conv.c"
        #include "f16_conv_rv32.c"
        #include "f16_linear.c"
        #include "f16_split.c"
        """ + "\n" + Self.common + "\n" + """
        static sp_f16 xb[2 + XMAX], wb[2 + WMAX], wfb[2 + WMAX], wsb[2 + WMAX], bb[2 + 64], yb[XMAX], rb[XMAX], dyb[2 + XMAX];
        static void fill(sp_f16 *p, int n) { for (int i = 0; i < n; i++) p[i] = (sp_f16)(rnd() & 0xbfffu); }
        static void check(const sp_f16 *got, const sp_f16 *want, int n) {
          for (int i = 0; i < n; i++) { mix(got[i]); mismatches += got[i] != want[i]; }
        }
        static void split_w(const sp_f16 *w, sp_f16 *wf, sp_f16 *ws, int rows, int c, int k) {
          for (int i = 0; i < rows * c; i++) wf[i] = w[i];
          for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) { ws[r * k + j] = w[r * c + sel[j]]; wf[r * c + sel[j]] = 0x7D5A; }
        }
        static void pass(void) {
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int dw = s.groups > 1, c = s.in_c, nx = s.in_h * s.in_w * c, ny = s.out_h * s.out_w * s.out_c;
            int rows = dw ? s.k_h * s.k_w : s.out_c * s.k_h * s.k_w;
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              if (i == 0 && t > 3) break;
              int off = (t >> 1) & 1; /* odd halfword addresses: no packed loads */
              sp_f16 *x = xb + off, *w = wb + off, *wf = wfb + off, *ws = wsb + off, *b = bb + off, *dy = dyb + off;
              int k = selection(c, t);
              fill(x, nx); fill(w, rows * c); fill(b, s.out_c); fill(dy, ny);
              split_w(w, wf, ws, rows, c, k);
              const sp_f16 *bias = (t % 3) ? b : NULL;
              for (int mode = 0; mode < 2; mode++) {
                int cores = core_counts[(i + t + mode) % NCORES];
                sp_conv2d_fwd_f16(&s, x, w, bias, rb, (sp_f16_acc)mode, 0, 1);
                for (int cc = 0; cc < cores; cc++)
                  sp_conv2d_fwd_split_f16(&s, x, wf, k ? ws : NULL, k ? sel : NULL, k, bias, yb, (sp_f16_acc)mode, cc, cores);
                check(yb, rb, ny);
                sp_conv2d_bwd_input_f16(&s, dy, w, rb, (sp_f16_acc)mode, 0, 1);
                for (int cc = 0; cc < cores; cc++)
                  sp_conv2d_bwd_input_split_f16(&s, dy, wf, k ? ws : NULL, k ? sel : NULL, k, yb, (sp_f16_acc)mode, cc, cores);
                check(yb, rb, nx);
              }
            }
            emit("conv", hash);
          }
          for (unsigned i = 0; i < NLINEARS; i++) {
            int in = linears[i][0], out = linears[i][1];
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              int k = selection(in, t);
              fill(xb, in); fill(wb, in * out); fill(bb, out); fill(dyb, out);
              split_w(wb, wfb, wsb, out, in, k);
              for (int mode = 0; mode < 2; mode++) {
                int cores = core_counts[(i + t + mode) % NCORES];
                sp_linear_fwd_f16(in, out, xb, wb, bb, rb, (sp_f16_acc)mode, 0, 1);
                for (int cc = 0; cc < cores; cc++) sp_linear_fwd_split_f16(in, out, xb, wfb, wsb, sel, k, bb, yb, (sp_f16_acc)mode, cc, cores);
                check(yb, rb, out);
                sp_linear_bwd_input_f16(in, out, dyb, wb, rb, (sp_f16_acc)mode, 0, 1);
                for (int cc = 0; cc < cores; cc++) sp_linear_bwd_input_split_f16(in, out, dyb, wfb, wsb, sel, k, yb, (sp_f16_acc)mode, cc, cores);
                check(yb, rb, in);
              }
            }
            emit("linear", hash);
          }
          emit("mismatches", mismatches);
        }
        """ + "\n" + Self.runLine(table)
        try Self.expect(body, on: .zfh(xfvec: xfvec), passes: table == 256 ? 4 : 1)
    }

    @Test func int8SplitKernelsAreTheHostsBits() throws {
        let body = """
        #include "int8_conv.c"
        #include "int8_conv_rv32.c"
        #include "int8_linear.c"
        #include "int8_requant.c"
        #include "int8_backward.c"
        #include "int8_split.c"
        """ + "\n" + KernelHarness.generator + "\n" + Self.common + "\n" + """
        static int8_t xb[4 + XMAX], wb[4 + WMAX], wfb[4 + WMAX], wsb[4 + WMAX], yb[XMAX], rb[XMAX];
        static float dyb[XMAX], dxb[XMAX], dxr[XMAX], scale[64];
        static int32_t bb[64], mult[64], shift[64];
        static const int32_t zero_points[] = {-128, 0, 127, -39, 5};
        static float rndf(void) { return (float)(int32_t)next() * 4.656612873e-10f; }
        static uint32_t fb(float f) { union { float f; uint32_t u; } v; v.f = f; return v.u; }
        static void fill(int8_t *p, int n) { for (int i = 0; i < n; i++) p[i] = (int8_t)next(); }
        static void fillw(int8_t *p, int n) { for (int i = 0; i < n; i++) { int8_t v = (int8_t)next(); p[i] = v == -128 ? 127 : v; } }
        static void check8(const int8_t *got, const int8_t *want, int n) {
          for (int i = 0; i < n; i++) { mix((uint8_t)got[i]); mismatches += got[i] != want[i]; }
        }
        static void checkf(const float *got, const float *want, int n) {
          for (int i = 0; i < n; i++) { mix(fb(got[i])); mismatches += fb(got[i]) != fb(want[i]); }
        }
        static void split_w(const int8_t *w, int8_t *wf, int8_t *ws, int rows, int c, int k) {
          for (int i = 0; i < rows * c; i++) wf[i] = w[i];
          for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) {
              int8_t v = w[r * c + sel[j]];
              ws[r * k + j] = v;
              wf[r * c + sel[j]] = v == 0x55 ? -0x56 : 0x55; /* garbage that would change a term */
            }
        }
        static void requant(sp_requant_int8 *rq, int n, int t) {
          for (int i = 0; i < n; i++) {
            bb[i] = (int32_t)next() >> ((t & 1) ? 12 : 0);
            mult[i] = (int32_t)(0x40000000u | (next() >> 2));
            shift[i] = 6 + (int32_t)(next() % 14u);
            scale[i] = 0.001f + 0.05f * (rndf() + 1.0f);
          }
          rq->in_zero_point = zero_points[t % 5];
          rq->out_zero_point = (int32_t)(next() % 256u) - 128;
          rq->act_min = (t & 2) ? rq->out_zero_point : -128;
          rq->act_max = 127;
          rq->mult = mult;
          rq->shift = shift;
        }
        static void pass(void) {
          for (unsigned i = 0; i < NSHAPES; i++) {
            sp_conv2d_shape s = conv_shape(shapes[i]);
            int dw = s.groups > 1, c = s.in_c, nx = s.in_h * s.in_w * c, ny = s.out_h * s.out_w * s.out_c;
            int rows = dw ? s.k_h * s.k_w : s.out_c * s.k_h * s.k_w;
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              int off = t % 3; /* 1: x at an odd byte, 2: w at an odd byte (no word loads) */
              int8_t *x = xb + (off == 1), *w = wb + (off == 2), *wf = wfb + (off == 2), *ws = wsb + (off == 2);
              int k = selection(c, t), cores = core_counts[(i + t) % NCORES];
              sp_requant_int8 rq;
              requant(&rq, s.out_c, t + (int)i);
              fill(x, nx); fillw(w, rows * c);
              for (int j = 0; j < ny; j++) dyb[j] = rndf();
              split_w(w, wf, ws, rows, c, k);
              const int32_t *bias = (t % 3) ? bb : NULL;
              sp_conv2d_fwd_int8(&s, x, w, bias, &rq, rb, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_conv2d_fwd_split_int8(&s, x, wf, k ? ws : NULL, k ? sel : NULL, k, bias, &rq, yb, cc, cores);
              check8(yb, rb, ny);
              sp_conv2d_bwd_input_int8w_f32(&s, dyb, w, scale, dxr, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_conv2d_bwd_input_split_int8w_f32(&s, dyb, wf, k ? ws : NULL, k ? sel : NULL, k, scale, dxb, cc, cores);
              checkf(dxb, dxr, nx);
            }
            emit("conv", hash);
          }
          for (unsigned i = 0; i < NLINEARS; i++) {
            int in = linears[i][0], out = linears[i][1];
            begin();
            for (int t = 0; t < NSELECTIONS; t++) {
              int k = selection(in, t), cores = core_counts[(i + t) % NCORES];
              sp_requant_int8 rq;
              requant(&rq, out, t + (int)i);
              fill(xb, in); fillw(wb, in * out);
              for (int j = 0; j < out; j++) dyb[j] = rndf();
              split_w(wb, wfb, wsb, out, in, k);
              sp_linear_fwd_int8(in, out, xb, wb, bb, &rq, rb, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_linear_fwd_split_int8(in, out, xb, wfb, wsb, sel, k, bb, &rq, yb, cc, cores);
              check8(yb, rb, out);
              sp_linear_bwd_input_int8w_f32(in, out, dyb, wb, scale, dxr, 0, 1);
              for (int cc = 0; cc < cores; cc++) sp_linear_bwd_input_split_int8w_f32(in, out, dyb, wfb, wsb, sel, k, scale, dxb, cc, cores);
              checkf(dxb, dxr, in);
            }
            emit("linear", hash);
          }
          emit("mismatches", mismatches);
        }
        static void run(void) { each_variant(pass); }
        """
        try Self.expect(body, on: .xcv, passes: 4)
    }

    /// Same output on the host and on `core`, and no mismatch with the plain kernels on either.
    static func expect(_ body: String, on core: KernelHarness.Core, passes: Int,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let lines = passes * (7 + 4 + 1)
        let expected = try KernelHarness.host(body), got = try KernelHarness.emulated(body, on: core)
        let rows = expected.split(separator: "\n")
        #expect(rows.count == lines, sourceLocation: sourceLocation)
        #expect(rows.filter { $0.hasPrefix("mismatches") }.allSatisfy { $0 == "mismatches 00000000" },
                "split kernels differ from the plain kernels on the merged weight:\n\(expected)", sourceLocation: sourceLocation)
        #expect(got == expected, sourceLocation: sourceLocation)
    }
}
