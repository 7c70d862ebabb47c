/*
 * int8_split.c — int8 conv / linear forward and fp32 input gradient that read a
 * weight split into a frozen full tensor and a trainable slice of selected
 * input channels (sparrow_kernels_int8.h; the int8 twin of split.c; helpers
 * in sp_split.h).
 *
 * Forward: the accumulator is a sum modulo 2^32 (uint32_t), which does not
 * depend on the order or grouping of its terms, and the requantization is the
 * plain kernels' (sp_requantize_clamped with the same arguments), so the
 * bytes equal sp_conv2d_fwd_int8 / sp_linear_fwd_int8 on the merged weight
 * whenever the accumulator does; the core splits are the plain kernels'. The
 * accumulator is formed from plain dot products over whole rows of w, with
 * the plain kernels' fast loops (cv.sdotsp.b words on rv32 with xcvsimd, as
 * int8_conv_rv32.c: sum x*w - zx * sum w; loops that vectorise elsewhere):
 *  - a window that fits a small stack buffer (pointwise layers) is copied
 *    once per block of pixels with each selected channel's byte set to zx, so
 *    that channel's term is (zx - zx) * w = 0 whatever w holds there, and the
 *    selected channels' bytes gathered behind it; every output channel is
 *    then a dot product with w's row plus one with w_sel's row;
 *  - otherwise the dot product with w's row is corrected per selected channel
 *    e = sel[j] by (x[e] - zx) * (w_sel[j] - w[e]), which cancels the term of
 *    w[e] (exactly, mod 2^32) and adds w_sel's.
 * Depthwise: the plain kernel on w, then the selected channels' outputs again
 * from w_sel.
 *
 * Input gradient: fp32 sums, so the order matters; every element is summed in
 * exactly the order of sp_conv2d_bwd_input_int8w_f32 /
 * sp_linear_bwd_input_int8w_f32, from +0, with the same dequantization
 * (float)w * w_scale[oc], the same operand order and the same split, so the
 * bits are the same. An element reads its own channel's weights only: every
 * channel is computed from w (the selected ones, made of whatever w holds
 * there, are discarded), then the selected channels again from w_sel, by the
 * same core, over them. The blocks are pixels that apply the same taps times
 * channels: a dequantized weight serves the pixels, a dy value the channels,
 * and the channel lanes vectorise on hosts (AVX2 where the CPU has it).
 */
#include "sp_int8_simd.h"
#include "sp_split.h"

/* 1 when sel[0..k) is a strictly ascending list of channels in [0, channels)
 * and the slice pointers are usable (k == 0 needs neither). */
static int i8s_selection_ok(const int32_t *sel, int k, const int8_t *w_sel, int channels) {
  if (k == 0) return 1;
  if (k < 0 || k > channels || sel == NULL || w_sel == NULL) return 0;
  for (int j = 0; j < k; j++) {
    if (sel[j] < 0 || sel[j] >= channels) return 0;
    if (j > 0 && sel[j] <= sel[j - 1]) return 0;
  }
  return 1;
}

static inline float i8s_deq_w(int8_t q, float scale) { return (float)(int32_t)q * scale; }

/* ----------------------------------------------------------------- forward */

#if SP_INT8_SIMD
typedef uint32_t i8s_u32 __attribute__((may_alias));

/* acc + the four products of the signed bytes of a and b (cv.sdotsp.b). */
static inline uint32_t i8s_sdot(uint32_t acc, uint32_t a, uint32_t b) {
  __asm__("cv.sdotsp.b %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));
  return acc;
}
#define I8S_UNROLL _Pragma("GCC unroll 16")
/* Pixels and output channels of a forward block: pairs x 4 (int8_conv_rv32.c's default). */
#define I8S_NP 2
#define I8S_NB 4
#else
#define I8S_UNROLL
/* On other targets one element at a time: its dot product vectorises. */
#define I8S_NP 1
#define I8S_NB 1
#endif

/* acc[q][o] += sum over i < len of (xq[q][i] - zx) * w[o*wstride + i], mod
 * 2^32, for pixels q < np and rows o < nb (literals). words (rv32 with
 * xcvsimd): xq[q] and the rows are 4-byte aligned and len % 4 == 0, and the
 * sum is taken as sum x*w - zx * sum w, four bytes per cv.sdotsp.b. */
SP_BLOCK void i8s_dot(const int8_t *const *xq, const int8_t *w, size_t wstride, int len, int32_t zx,
                      int words, uint32_t acc[I8S_NP][I8S_NB], int np, int nb) {
#if SP_INT8_SIMD
  if (words) {
    uint32_t ws[I8S_NB];
    I8S_UNROLL
    for (int o = 0; o < nb; o++) ws[o] = 0;
    for (int i = 0; i < len; i += 4) {
      uint32_t xv[I8S_NP];
      I8S_UNROLL
      for (int q = 0; q < np; q++) xv[q] = *(const i8s_u32 *)(xq[q] + i);
      I8S_UNROLL
      for (int o = 0; o < nb; o++) {
        uint32_t wv = *(const i8s_u32 *)(w + (size_t)o * wstride + (size_t)i);
        ws[o] = i8s_sdot(ws[o], wv, 0x01010101u);
        I8S_UNROLL
        for (int q = 0; q < np; q++) acc[q][o] = i8s_sdot(acc[q][o], xv[q], wv);
      }
    }
    I8S_UNROLL
    for (int o = 0; o < nb; o++)
      I8S_UNROLL
      for (int q = 0; q < np; q++) acc[q][o] -= (uint32_t)zx * ws[o];
    return;
  }
#endif
  (void)words;
  I8S_UNROLL
  for (int o = 0; o < nb; o++) {
    const int8_t *wr = w + (size_t)o * wstride;
    I8S_UNROLL
    for (int q = 0; q < np; q++) {
      uint32_t a = 0;
      for (int i = 0; i < len; i++) a += (uint32_t)(((int32_t)xq[q][i] - zx) * (int32_t)wr[i]);
      acc[q][o] += a;
    }
  }
}

/* acc[q][o] += the correction of one tap row: for each selected channel
 * e = sel[j], (x_q[e] - zx) * (ws[o*sstride + j] - w[o*wstride + e]). */
SP_BLOCK void i8s_fix(const int8_t *const *xq, const int8_t *w, size_t wstride, const int8_t *ws,
                      size_t sstride, const int32_t *sel, int k, int32_t zx,
                      uint32_t acc[I8S_NP][I8S_NB], int np, int nb) {
  for (int j = 0; j < k; j++) {
    int e = sel[j];
    int32_t xe[I8S_NP];
    I8S_UNROLL
    for (int q = 0; q < np; q++) xe[q] = (int32_t)xq[q][e] - zx;
    I8S_UNROLL
    for (int o = 0; o < nb; o++) {
      int32_t d = (int32_t)ws[(size_t)o * sstride + (size_t)j] - (int32_t)w[(size_t)o * wstride + (size_t)e];
      I8S_UNROLL
      for (int q = 0; q < np; q++) acc[q][o] += (uint32_t)(xe[q] * d);
    }
  }
}

/* The block's sums, requantized as the plain kernel, into pixels p .. p+np-1,
 * output channels oc0 .. oc0+nb-1 of y. */
SP_BLOCK void i8s_store_block(const sp_conv2d_shape *s, uint32_t acc[I8S_NP][I8S_NB],
                              const sp_requant_int8 *rq, int8_t *y, int p, int oc0, int np, int nb) {
  I8S_UNROLL
  for (int o = 0; o < nb; o++)
    I8S_UNROLL
    for (int q = 0; q < np; q++)
      y[(size_t)(p + q) * s->out_c + oc0 + o] =
          sp_requantize_clamped((int32_t)acc[q][o], rq->mult[oc0 + o], rq->shift[oc0 + o],
                                rq->out_zero_point, rq->act_min, rq->act_max);
}

/* Pixels p .. p+np-1 (the same taps t; pixel q's first tap at x0[q]),
 * output channels oc0 .. oc0+nb-1 of an ordinary conv: b + each in-bounds
 * tap row's dot product with w (a row of taps is contiguous in x and w) and
 * each in-bounds tap's correction; requantized as the plain kernel. */
SP_BLOCK void i8s_conv_block(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                             const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                             const sp_requant_int8 *rq, int8_t *y, int p, sp_conv_window t,
                             const size_t *x0, int oc0, int words, int np, int nb) {
  const int c = s->in_c;
  const size_t sf = (size_t)s->k_h * s->k_w * c, ss = (size_t)s->k_h * s->k_w * k;
  const int32_t zx = rq->in_zero_point;
  uint32_t acc[I8S_NP][I8S_NB];
  I8S_UNROLL
  for (int o = 0; o < nb; o++)
    I8S_UNROLL
    for (int q = 0; q < np; q++) acc[q][o] = b != NULL ? (uint32_t)b[oc0 + o] : 0u;
  int len = (t.kw1 - t.kw0) * c;
  for (int kh = t.kh0; kh < t.kh1 && len > 0; kh++) {
    const int8_t *xq[I8S_NP];
    size_t xo = (size_t)(kh - t.kh0) * s->in_w * c;
    I8S_UNROLL
    for (int q = 0; q < np; q++) xq[q] = x + x0[q] + xo;
    const int8_t *wr = w + (size_t)oc0 * sf + ((size_t)kh * s->k_w + t.kw0) * c;
    i8s_dot(xq, wr, sf, len, zx, words, acc, np, nb);
    for (int kw = t.kw0; kw < t.kw1 && k > 0; kw++) {
      const int8_t *xt[I8S_NP];
      I8S_UNROLL
      for (int q = 0; q < np; q++) xt[q] = xq[q] + (size_t)(kw - t.kw0) * c;
      size_t tap = (size_t)kh * s->k_w + kw;
      i8s_fix(xt, w + (size_t)oc0 * sf + tap * c, sf, w_sel + (size_t)oc0 * ss + tap * k, ss, sel, k,
              zx, acc, np, nb);
    }
  }
  i8s_store_block(s, acc, rq, y, p, oc0, np, nb);
}

/* Bytes of one pixel's buffered window (i8s_fill): the stack holds I8S_NP. */
#define I8S_XB (SP_INT8_SIMD ? 128 : 256)

/* The window of pixel q (first tap at x + x0, taps t) as one buffer per row of
 * in-bounds taps: the row's x bytes with every selected channel's byte set to
 * zx (its term then vanishes against whatever w holds there), followed by the
 * row's selected channels' bytes, gathered. Row r starts at r * nkw * (c + k). */
SP_BLOCK void i8s_fill(const sp_conv2d_shape *s, const int8_t *x, size_t x0, sp_conv_window t,
                       const int32_t *sel, int k, int32_t zx, int8_t *buf) {
  const int c = s->in_c, nkw = t.kw1 - t.kw0;
  for (int kh = t.kh0; kh < t.kh1; kh++) {
    const int8_t *xr = x + x0 + (size_t)(kh - t.kh0) * s->in_w * c;
    int8_t *xm = buf + (size_t)(kh - t.kh0) * nkw * (c + k), *xs = xm + (size_t)nkw * c;
    for (int i = 0; i < nkw * c; i++) xm[i] = xr[i];
    for (int kw = 0; kw < nkw; kw++)
      for (int j = 0; j < k; j++) {
        xs[kw * k + j] = xr[kw * c + sel[j]];
        xm[kw * c + sel[j]] = (int8_t)zx;
      }
  }
}

/* i8s_conv_block from the buffered windows buf[q]: per row of in-bounds taps,
 * the dot product of the masked x with w's row plus that of the gathered
 * bytes with w_sel's row. words: every row of w, w_sel and the buffer starts
 * on a word and has a multiple of 4 bytes. */
SP_BLOCK void i8s_conv_block_buf(const sp_conv2d_shape *s, const int8_t *w, const int8_t *w_sel, int k,
                                 const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int p,
                                 sp_conv_window t, const int8_t *const *buf, int oc0, int words,
                                 int np, int nb) {
  const int c = s->in_c, nkw = t.kw1 - t.kw0;
  const size_t sf = (size_t)s->k_h * s->k_w * c, ss = (size_t)s->k_h * s->k_w * k;
  const int32_t zx = rq->in_zero_point;
  uint32_t acc[I8S_NP][I8S_NB];
  I8S_UNROLL
  for (int o = 0; o < nb; o++)
    I8S_UNROLL
    for (int q = 0; q < np; q++) acc[q][o] = b != NULL ? (uint32_t)b[oc0 + o] : 0u;
  for (int kh = t.kh0; kh < t.kh1 && nkw > 0; kh++) {
    const int8_t *xq[I8S_NP];
    size_t at = (size_t)(kh - t.kh0) * nkw * (c + k), tap = (size_t)kh * s->k_w + t.kw0;
    I8S_UNROLL
    for (int q = 0; q < np; q++) xq[q] = buf[q] + at;
    i8s_dot(xq, w + (size_t)oc0 * sf + tap * c, sf, nkw * c, zx, words, acc, np, nb);
    I8S_UNROLL
    for (int q = 0; q < np; q++) xq[q] += (size_t)nkw * c;
    i8s_dot(xq, w_sel + (size_t)oc0 * ss + tap * k, ss, nkw * k, zx, words, acc, np, nb);
  }
  i8s_store_block(s, acc, rq, y, p, oc0, np, nb);
}

/* Ordinary conv (groups == 1), the core's output pixels [lo, hi): pixel runs
 * with the same taps (I8S_NP at a time) times blocks of I8S_NB channels. A
 * run whose windows fit the stack buffer (pointwise layers) is buffered once
 * and serves every output channel; other runs add the corrections per tap. */
SP_BLOCK void i8s_conv_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                           const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                           const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  const int c = s->in_c;
  int words = SP_INT8_SIMD && c % 4 == 0 && (((uintptr_t)x | (uintptr_t)w) & 3u) == 0;
  int bwords = SP_INT8_SIMD && c % 4 == 0 && k % 4 == 0 && (((uintptr_t)w | (uintptr_t)w_sel) & 3u) == 0;
  uint32_t store[I8S_NP][I8S_XB / 4]; /* word-aligned window buffers */
  const int8_t *buf[I8S_NP];
  for (int q = 0; q < I8S_NP; q++) buf[q] = (const int8_t *)store[q];
  for (int p = lo, np; p < hi; p += np) {
    sp_conv_window t;
    size_t x0[4];
    np = sp_conv_tap_run(s, p, hi - p >= I8S_NP ? I8S_NP : 1, &t, x0) == I8S_NP ? I8S_NP : 1;
    int buffered = k > 0 && (t.kh1 - t.kh0) * (t.kw1 - t.kw0) * (c + k) <= I8S_XB;
    if (buffered)
      for (int q = 0; q < np; q++) i8s_fill(s, x, x0[q], t, sel, k, rq->in_zero_point, (int8_t *)store[q]);
    for (int oc0 = 0, nb; oc0 < s->out_c; oc0 += nb) {
      nb = s->out_c - oc0 >= I8S_NB ? I8S_NB : 1;
#define I8S_BLOCK(P, N)                                                                             \
  do {                                                                                              \
    if (buffered)                                                                                   \
      i8s_conv_block_buf(s, w, w_sel, k, b, rq, y, p, t, buf, oc0, bwords, P, N);                   \
    else                                                                                            \
      i8s_conv_block(s, x, w, w_sel, sel, k, b, rq, y, p, t, x0, oc0, words, P, N);                 \
  } while (0)
      if (np == I8S_NP && nb == I8S_NB)
        I8S_BLOCK(I8S_NP, I8S_NB);
      else if (np == I8S_NP)
        I8S_BLOCK(I8S_NP, 1);
      else if (nb == I8S_NB)
        I8S_BLOCK(1, I8S_NB);
      else
        I8S_BLOCK(1, 1);
#undef I8S_BLOCK
    }
  }
}

SP_VARIANTS(i8s_conv_fwd,
            (const sp_conv2d_shape *s, const int8_t *x, const int8_t *w, const int8_t *w_sel,
             const int32_t *sel, int k, const int32_t *b, const sp_requant_int8 *rq, int8_t *y,
             int lo, int hi),
            (s, x, w, w_sel, sel, k, b, rq, y, lo, hi), (s, x, w, w_sel, sel, k, b, rq, y, lo, hi))

/* Depthwise, the selected channels of the output pixels [lo, hi): b + the
 * in-bounds taps' (x - zx) * w_sel, requantized. */
static void i8s_dw_fwd_selected(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w_sel,
                                const int32_t *sel, int k, const int32_t *b, const sp_requant_int8 *rq,
                                int8_t *y, int lo, int hi) {
  const int c = s->in_c;
  const int32_t zx = rq->in_zero_point;
  for (int p = lo; p < hi; p++) {
    sp_conv_window t = sp_conv_window_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      uint32_t acc = b != NULL ? (uint32_t)b[ch] : 0u;
      for (int kh = t.kh0; kh < t.kh1; kh++)
        for (int kw = t.kw0; kw < t.kw1; kw++) {
          int32_t xv = x[t.x0 + ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c + (size_t)ch];
          acc += (uint32_t)((xv - zx) * (int32_t)w_sel[((size_t)kh * s->k_w + kw) * k + j]);
        }
      y[(size_t)p * c + ch] = sp_requantize_clamped((int32_t)acc, rq->mult[ch], rq->shift[ch],
                                                    rq->out_zero_point, rq->act_min, rq->act_max);
    }
  }
}

void sp_conv2d_fwd_split_int8(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores) {
  if (s == NULL || x == NULL || w == NULL || rq == NULL || rq->mult == NULL ||
      rq->shift == NULL || y == NULL)
    return;
  int depthwise = sp_conv_is_depthwise(s);
  if ((s->groups != 1 && !depthwise) || s->out_w <= 0) return;
  if (!i8s_selection_ok(sel, k, w_sel, s->in_c)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (depthwise) {
    sp_conv2d_fwd_int8(s, x, w, b, rq, y, core_id, num_cores);
    i8s_dw_fwd_selected(s, x, w_sel, sel, k, b, rq, y, lo, hi);
  } else {
    SP_CALL_BEST(i8s_conv_fwd, (s, x, w, w_sel, sel, k, b, rq, y, lo, hi));
  }
}

void sp_linear_fwd_split_int8(int in_features, int out_features, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores) {
  if (x == NULL || w == NULL || rq == NULL || rq->mult == NULL || rq->shift == NULL || y == NULL ||
      in_features < 0)
    return;
  if (!i8s_selection_ok(sel, k, w_sel, in_features)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  int words = SP_INT8_SIMD && in_features % 4 == 0 && (((uintptr_t)x | (uintptr_t)w) & 3u) == 0;
  const int8_t *xq[I8S_NP] = {x};
  const size_t n = (size_t)in_features;
  /* Rows o .. o+nb-1: b + the row's dot product with x + the correction. */
#define I8S_ROWS(nb)                                                                           \
  do {                                                                                         \
    uint32_t acc[I8S_NP][I8S_NB];                                                              \
    I8S_UNROLL                                                                                 \
    for (int r = 0; r < nb; r++) acc[0][r] = b != NULL ? (uint32_t)b[o + r] : 0u;              \
    i8s_dot(xq, w + (size_t)o * n, n, in_features, rq->in_zero_point, words, acc, 1, nb);      \
    i8s_fix(xq, w + (size_t)o * n, n, w_sel + (size_t)o * k, (size_t)k, sel, k,                \
            rq->in_zero_point, acc, 1, nb);                                                    \
    I8S_UNROLL                                                                                 \
    for (int r = 0; r < nb; r++)                                                               \
      y[o + r] = sp_requantize_clamped((int32_t)acc[0][r], rq->mult[o + r], rq->shift[o + r],  \
                                       rq->out_zero_point, rq->act_min, rq->act_max);          \
  } while (0)
  for (int o = lo; o < hi;) {
    if (hi - o >= I8S_NB) {
      I8S_ROWS(I8S_NB);
      o += I8S_NB;
    } else {
      I8S_ROWS(1);
      o += 1;
    }
  }
#undef I8S_ROWS
}

/* ---------------------------------------------------------- input gradient */

/* Input pixels p .. p+np-1 (the same window grid and taps as win[0]; pixel
 * q's windows start at win[q]), channels ch0 .. ch0+nb-1 of an int8 weight
 * whose element (oc, tap, ch) is wv[oc*st + tap*cs + ch]: +0, then
 * dy * ((float)w * w_scale[oc]) over the windows (oh, ow ascending) and,
 * within one, oc ascending; stored to dx[pixel][map[ch]] (map NULL: ch). The
 * dequantized weight serves the pixels, dy the channels. nb, np literals. */
SP_BLOCK void i8s_dx_block(const sp_conv2d_shape *s, const float *dy, const int8_t *wv, size_t st,
                           int cs, const int32_t *map, const float *w_scale, float *dx, int p,
                           const sp_split_win *win, int ch0, int nb, int np) {
  float acc[4][SP_VB];
  for (int q = 0; q < np; q++)
    for (int l = 0; l < nb; l++) acc[q][l] = 0.0f;
  for (int a = 0; a < win[0].nh; a++) {
    for (int bb = 0; bb < win[0].nw; bb++) {
      const float *d[4];
      for (int q = 0; q < np; q++)
        d[q] = dy + sp_split_win_out(s, &win[q], a, bb) * s->out_c;
      const int8_t *wp = wv + sp_split_win_tap(s, &win[0], a, bb) * cs + ch0;
      _Pragma("GCC unroll 2") /* two output channels per iteration: half the taken branches */
      for (int oc = 0; oc < s->out_c; oc++, wp += st) {
        float sc = w_scale[oc], dv[4];
        for (int q = 0; q < np; q++) dv[q] = d[q][oc];
        for (int l = 0; l < nb; l++) {
          float wr = i8s_deq_w(wp[l], sc);
          for (int q = 0; q < np; q++) acc[q][l] += dv[q] * wr;
        }
      }
    }
  }
  for (int q = 0; q < np; q++) {
    float *out = dx + (size_t)(p + q) * s->in_c;
    for (int l = 0; l < nb; l++) out[map != NULL ? map[ch0 + l] : ch0 + l] = acc[q][l];
  }
}

/* The channels [0, n) of the core's input pixels from the weight (wv, st, cs)
 * into dx[pixel][map[ch]]: runs of up to 4 pixels that apply the same taps
 * times channel blocks (sp_split_dx_lanes). */
SP_BLOCK void i8s_dx_channels(const sp_conv2d_shape *s, const float *dy, const int8_t *wv, size_t st,
                              int cs, const int32_t *map, int n, const float *w_scale, float *dx,
                              int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo, np; p < hi; p += np) {
    sp_split_win win[4] = {{0, 0, 0, 0, 0, 0}}; /* (all set before use; quiets gcc) */
    np = sp_split_win_run(s, p, hi, 4, win);
    for (int ch0 = 0, nb; ch0 < n; ch0 += nb) {
      nb = sp_split_dx_lanes(np, n - ch0);
#define I8S_DX(P, N) i8s_dx_block(s, dy, wv, st, cs, map, w_scale, dx, p, win, ch0, N, P)
      SP_SPLIT_DX_DISPATCH(np, nb, I8S_DX);
#undef I8S_DX
    }
  }
}

/* Both passes of the ordinary conv's input gradient: every channel from w,
 * then the selected ones from w_sel. */
SP_BLOCK void i8s_conv_dx(const sp_conv2d_shape *s, const float *dy, const int8_t *w, const int8_t *w_sel,
                          const int32_t *sel, int k, const float *w_scale, float *dx, int core_id,
                          int num_cores) {
  size_t taps = (size_t)s->k_h * s->k_w;
  i8s_dx_channels(s, dy, w, taps * s->in_c, s->in_c, NULL, s->in_c, w_scale, dx, core_id, num_cores);
  if (k > 0)
    i8s_dx_channels(s, dy, w_sel, taps * k, k, sel, k, w_scale, dx, core_id, num_cores);
}

SP_VARIANTS(i8s_conv_dx,
            (const sp_conv2d_shape *s, const float *dy, const int8_t *w, const int8_t *w_sel,
             const int32_t *sel, int k, const float *w_scale, float *dx, int core_id, int num_cores),
            (s, dy, w, w_sel, sel, k, w_scale, dx, core_id, num_cores),
            (s, dy, w, w_sel, sel, k, w_scale, dx, core_id, num_cores))

/* Depthwise, the selected channels of the core's input pixels: +0, then
 * dy * ((float)w_sel * w_scale[c]) over the covering outputs (oh, ow ascending). */
static void i8s_dw_dx_selected(const sp_conv2d_shape *s, const float *dy, const int8_t *w_sel,
                               const int32_t *sel, int k, const float *w_scale, float *dx, int core_id,
                               int num_cores) {
  int lo, hi, c = s->in_c;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    sp_split_win win = sp_split_win_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      float acc = 0.0f;
      for (int a = 0; a < win.nh; a++)
        for (int bb = 0; bb < win.nw; bb++)
          acc += dy[sp_split_win_out(s, &win, a, bb) * c + (size_t)ch] *
                 i8s_deq_w(w_sel[sp_split_win_tap(s, &win, a, bb) * k + j], w_scale[ch]);
      dx[(size_t)p * c + ch] = acc;
    }
  }
}

void sp_conv2d_bwd_input_split_int8w_f32(const sp_conv2d_shape *s, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores) {
  if (s == NULL || dy == NULL || w == NULL || w_scale == NULL || dx == NULL) return;
  int depthwise = sp_conv_is_depthwise(s);
  if (s->groups != 1 && !depthwise) return;
  if (!i8s_selection_ok(sel, k, w_sel, s->in_c)) return;
  if (depthwise) {
    sp_conv2d_bwd_input_int8w_f32(s, dy, w, w_scale, dx, core_id, num_cores);
    i8s_dw_dx_selected(s, dy, w_sel, sel, k, w_scale, dx, core_id, num_cores);
    return;
  }
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  SP_CALL_BEST(i8s_conv_dx, (s, dy, w, w_sel, sel, k, w_scale, dx, core_id, num_cores));
}

/* Selected inputs sel[j0] .. sel[j0+nb-1]: dx = +0, then
 * dy[o] * ((float)w_sel[o][j] * w_scale[o]), o ascending. nb a literal for 16. */
SP_BLOCK void i8s_linear_dx_sel(int n_out, const float *dy, const int8_t *w_sel, const int32_t *sel,
                                int k, const float *w_scale, float *dx, int j0, int nb) {
  float acc[SP_VB];
  for (int l = 0; l < nb; l++) acc[l] = 0.0f;
  for (int o = 0; o < n_out; o++) {
    float d = dy[o], sc = w_scale[o];
    const int8_t *wp = w_sel + (size_t)o * k + j0;
    for (int l = 0; l < nb; l++) acc[l] += d * i8s_deq_w(wp[l], sc);
  }
  for (int l = 0; l < nb; l++) dx[sel[j0 + l]] = acc[l];
}

void sp_linear_bwd_input_split_int8w_f32(int in_features, int out_features, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores) {
  if (dy == NULL || w == NULL || w_scale == NULL || dx == NULL || in_features < 0) return;
  if (!i8s_selection_ok(sel, k, w_sel, in_features)) return;
  sp_linear_bwd_input_int8w_f32(in_features, out_features, dy, w, w_scale, dx, core_id, num_cores);
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  int j1 = sp_split_first(sel, k, hi);
  for (int j = sp_split_first(sel, k, lo), nb; j < j1; j += nb) {
    nb = sp_min(SP_VB, j1 - j);
    if (nb == SP_VB)
      i8s_linear_dx_sel(out_features, dy, w_sel, sel, k, w_scale, dx, j, SP_VB);
    else
      i8s_linear_dx_sel(out_features, dy, w_sel, sel, k, w_scale, dx, j, nb);
  }
}
