/*
 * int8_conv_rv32.c — the int8 conv (ordinary and grouped) and linear forward
 * kernels of int8_conv.c and int8_linear.c on rv32 cores with CORE-V packed
 * SIMD (xcvsimd), in register blocks of dot products.
 *
 * An output element is acc = b + sum over its taps of (x - zx) * w, modulo
 * 2^32 (sparrow_kernels_int8.h). Modulo 2^32 the sum splits into
 * sum x * w - zx * sum w, and the order of the terms cannot matter, so it is
 * computed four bytes at a time: cv.sdotsp.b adds the four int8 x int8
 * products of a word pair to an int32 (sum x * w), and the same instruction
 * against the word 0x01010101 adds up four weights (sum w). The requantization
 * is the reference's own call (sp_requantize_clamped), so the bits are the
 * reference's on any core count; the core splits are the reference's too.
 *
 * Blocks: a run of up to px neighbouring output pixels of the core's range with
 * the same in-bounds taps (forward), times up to nb output channels of a group:
 * each x word serves the channels, each weight word the pixels. Word loads need
 * 4-byte aligned x and w and a group width (input channels per group) that is
 * a multiple of 4, so that every run of taps starts on a word; otherwise the
 * same blocks run on bytes. The block shape is the call's kernel variant
 * (sparrow_kernels_tuning.h), see the table at the entry point.
 */
#include "sp_int8_simd.h"

#if SP_INT8_SIMD

typedef uint32_t sp_u32a __attribute__((may_alias));

/* acc + the four products of the signed bytes of a and b (cv.sdotsp.b). */
static inline uint32_t i8_sdot(uint32_t acc, uint32_t a, uint32_t b) {
  __asm__("cv.sdotsp.b %0, %1, %2" : "+r"(acc) : "r"(a), "r"(b));
  return acc;
}

/* Before each loop over a block's pixels or channels (np, nb are literals):
 * fully unrolled, the accumulator arrays become registers. */
#define I8_UNROLL _Pragma("GCC unroll 16")

/* The four bytes of a word, each 1: i8_sdot against it adds the word's bytes. */
#define I8_ONES 0x01010101u

/* The terms of one output element: nr x nc runs of len contiguous bytes, run
 * (r, c) at x offset r*xr + c*xc from the pixel's first tap and weight offset
 * r*wr + c*wc from the channel's. */
typedef struct {
  int nr, nc, len;
  size_t xr, xc, wr, wc;
} i8_runs;

/* sum over the runs of x * w (into acc[q][j]) and of w (into ws[j]) for pixels
 * q < np (their first taps at xq[q]) and channels j < nb (their first taps at
 * wj + j*wstride); words: whole words first (aligned runs of a multiple of 4
 * bytes), bytes for the rest. */
SP_BLOCK void i8_dot_block(const int8_t *const *xq, const int8_t *wj, size_t wstride, i8_runs t,
                           int words, uint32_t acc[4][8], uint32_t ws[8], int np, int nb) {
  int nw = words ? t.len >> 2 : 0;
  for (int r = 0; r < t.nr; r++) {
    for (int c = 0; c < t.nc; c++) {
      const int8_t *xp[4], *wp[8];
      I8_UNROLL
      for (int q = 0; q < np; q++) xp[q] = xq[q] + r * t.xr + c * t.xc;
      I8_UNROLL
      for (int j = 0; j < nb; j++) wp[j] = wj + j * wstride + r * t.wr + c * t.wc;
      for (int k = 0; k < nw; k++) {
        uint32_t xv[4];
        I8_UNROLL
        for (int q = 0; q < np; q++) {
          xv[q] = *(const sp_u32a *)xp[q];
          xp[q] += 4;
        }
        I8_UNROLL
        for (int j = 0; j < nb; j++) {
          uint32_t wv = *(const sp_u32a *)wp[j];
          wp[j] += 4;
          ws[j] = i8_sdot(ws[j], wv, I8_ONES);
          I8_UNROLL
          for (int q = 0; q < np; q++) acc[q][j] = i8_sdot(acc[q][j], xv[q], wv);
        }
      }
      for (int i = 4 * nw; i < t.len; i++) {
        I8_UNROLL
        for (int j = 0; j < nb; j++) {
          int32_t wv = wp[j][i - 4 * nw];
          ws[j] += (uint32_t)wv;
          I8_UNROLL
          for (int q = 0; q < np; q++) acc[q][j] += (uint32_t)((int32_t)xp[q][i - 4 * nw] * wv);
        }
      }
    }
  }
}

/* Pixels p .. p+np-1 (window t, pixel q's first tap at x0[q]), channels
 * oc0 .. oc0+nb-1 of group g: b[oc] + sum x * w - zx * sum w, requantized. */
SP_BLOCK void i8_conv_block(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                            const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int p,
                            sp_conv_window t, const size_t *x0, int g, int oc0, int words, int np,
                            int nb) {
  int icg = s->in_c / s->groups;
  size_t wstride = (size_t)s->k_h * s->k_w * icg;
  i8_runs runs;
  runs.nr = t.kh1 - t.kh0;
  runs.xr = (size_t)s->in_w * s->in_c;
  runs.wr = (size_t)s->k_w * icg;
  if (s->groups == 1) { /* a row of taps is contiguous in x and in w */
    runs.nc = 1;
    runs.len = (t.kw1 - t.kw0) * icg;
  } else {
    runs.nc = t.kw1 - t.kw0;
    runs.len = icg;
  }
  runs.xc = (size_t)s->in_c;
  runs.wc = (size_t)icg;
  if (runs.nc <= 0) runs.nr = 0; /* no column in bounds: no terms */
  const int8_t *xq[4];
  I8_UNROLL
  for (int q = 0; q < np; q++) xq[q] = x + x0[q] + (size_t)g * icg;
  uint32_t acc[4][8], ws[8];
  I8_UNROLL
  for (int j = 0; j < nb; j++) {
    ws[j] = 0;
    I8_UNROLL
    for (int q = 0; q < np; q++) acc[q][j] = 0;
  }
  i8_dot_block(xq, w + (((size_t)oc0 * s->k_h + t.kh0) * s->k_w + t.kw0) * icg, wstride, runs,
               words, acc, ws, np, nb);
  uint32_t zx = (uint32_t)rq->in_zero_point;
  I8_UNROLL
  for (int j = 0; j < nb; j++) {
    int oc = oc0 + j;
    uint32_t base = (b != NULL ? (uint32_t)b[oc] : 0u) - zx * ws[j];
    I8_UNROLL
    for (int q = 0; q < np; q++)
      y[(size_t)(p + q) * s->out_c + oc] =
          sp_requantize_clamped((int32_t)(base + acc[q][j]), rq->mult[oc], rq->shift[oc],
                                rq->out_zero_point, rq->act_min, rq->act_max);
  }
}

/* A variant's block limits: at most px pixels and nb channels side by side. */
#define I8_CFG(px, nb) ((px) | (nb) << 4)

/* The conv forward of the core's pixels [lo, hi) with the limits of cfg (a
 * literal): runs of px pixels with the same taps (else single pixels) times
 * blocks of nb channels (else single channels, for a group's tail). */
SP_BLOCK void i8_conv_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                          const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo, int hi,
                          int cfg) {
  const int px = cfg & 15, nbmax = cfg >> 4;
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int words = icg % 4 == 0 && (((uintptr_t)x | (uintptr_t)w) & 3u) == 0;
  for (int p = lo; p < hi;) {
    sp_conv_window t;
    size_t x0[4];
    int np = sp_conv_tap_run(s, p, p + px <= hi ? px : 1, &t, x0) == px ? px : 1;
    for (int g = 0; g < s->groups; g++) {
      for (int oc0 = g * ocg; oc0 < (g + 1) * ocg;) {
        int nb = (g + 1) * ocg - oc0 >= nbmax ? nbmax : 1;
        if (np == px && nb == nbmax)
          i8_conv_block(s, x, w, b, rq, y, p, t, x0, g, oc0, words, px, nbmax);
        else if (np == px)
          i8_conv_block(s, x, w, b, rq, y, p, t, x0, g, oc0, words, px, 1);
        else if (nb == nbmax)
          i8_conv_block(s, x, w, b, rq, y, p, t, x0, g, oc0, words, 1, nbmax);
        else
          i8_conv_block(s, x, w, b, rq, y, p, t, x0, g, oc0, words, 1, 1);
        oc0 += nb;
      }
    }
    p += np;
  }
}

static void i8_conv_fwd_4x2(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                            const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  i8_conv_fwd(s, x, w, b, rq, y, lo, hi, I8_CFG(4, 2));
}
static void i8_conv_fwd_2x4(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                            const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  i8_conv_fwd(s, x, w, b, rq, y, lo, hi, I8_CFG(2, 4));
}
static void i8_conv_fwd_1x4(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                            const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  i8_conv_fwd(s, x, w, b, rq, y, lo, hi, I8_CFG(1, 4));
}

/* The variants: 0 pixel pairs x 4 channels (the fastest over ResNet-8's int8
 * forward on vega-like), 1 runs of 4 pixels x 2 channels (each weight word
 * serves 4 pixels: faster on wide layers with few channels), 2 single pixels x
 * 4 channels (no pixel runs), 3 as 0. */
void sp_conv2d_fwd_int8_simd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                             const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo,
                             int hi) {
  switch (sp_variant()) {
    case 1: i8_conv_fwd_4x2(s, x, w, b, rq, y, lo, hi); break;
    case 2: i8_conv_fwd_1x4(s, x, w, b, rq, y, lo, hi); break;
    default: i8_conv_fwd_2x4(s, x, w, b, rq, y, lo, hi); break;
  }
}

/* Outputs o .. o+nb-1 of the linear layer: b[o] + sum x * w - zx * sum w. */
SP_BLOCK void i8_linear_block(int in_features, const int8_t *x, const int8_t *w, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int o, int words, int nb) {
  i8_runs runs = {1, 1, in_features, 0, 0, 0, 0};
  uint32_t acc[4][8], ws[8];
  I8_UNROLL
  for (int j = 0; j < nb; j++) ws[j] = acc[0][j] = 0;
  i8_dot_block(&x, w + (size_t)o * in_features, (size_t)in_features, runs, words, acc, ws, 1, nb);
  uint32_t zx = (uint32_t)rq->in_zero_point;
  I8_UNROLL
  for (int j = 0; j < nb; j++) {
    uint32_t sum = (b != NULL ? (uint32_t)b[o + j] : 0u) - zx * ws[j] + acc[0][j];
    y[o + j] = sp_requantize_clamped((int32_t)sum, rq->mult[o + j], rq->shift[o + j],
                                     rq->out_zero_point, rq->act_min, rq->act_max);
  }
}

/* The linear forward of the core's outputs [lo, hi): blocks of 4 outputs (the
 * x word serves them), else single ones. One shape in every variant. */
void sp_linear_fwd_int8_simd(int in_features, const int8_t *x, const int8_t *w, const int32_t *b,
                             const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  int words = in_features % 4 == 0 && (((uintptr_t)x | (uintptr_t)w) & 3u) == 0;
  for (int o = lo; o < hi;) {
    if (hi - o >= 4) {
      i8_linear_block(in_features, x, w, b, rq, y, o, words, 4);
      o += 4;
    } else {
      i8_linear_block(in_features, x, w, b, rq, y, o, words, 1);
      o += 1;
    }
  }
}

#endif /* SP_INT8_SIMD */
