/*
 * conv.c — 2-D convolution forward (ordinary and grouped; depthwise is in
 * depthwise.c) and the scratch size of the conv kernels.
 *
 * Split: each core owns a contiguous range of output pixels (oh*out_w + ow) and
 * computes all out_c channels of them. One output element is
 *     b[oc] + x*w (kh, kw, ic ascending, out-of-bounds taps skipped)
 * whichever core computes it, so every core count gives the same bits.
 *
 * Speed: the inner loop runs over SP_VB output channels at once (independent
 * lanes, so the compiler may vectorise them without reassociating any sum). That
 * needs the weights of SP_VB channels interleaved per tap, [k][SP_VB]; each core
 * packs one channel block at a time into its own scratch chunk. With SIMD, up
 * to SP_PAIR (SP_WIDE with AVX2, see sp_internal.h) neighbouring output pixels
 * of a row that have the same in-bounds taps go through one pass: they share
 * the weight loads, and their independent sums keep the FP adders busy; each
 * pixel's own order is unchanged. Without scratch a direct loop computes the
 * same sums in the same order.
 */
#include "sp_internal.h"

/* Floats of one core's scratch chunk: one packed block of SP_VB channels. */
static size_t fwd_chunk_floats(const sp_conv2d_shape *s) {
  if (s->groups <= 0) return 0;
  return (size_t)s->k_h * (size_t)s->k_w * (size_t)(s->in_c / s->groups) * SP_VB;
}

size_t sp_conv2d_scratch_floats(const sp_conv2d_shape *s, int num_cores) {
  if (s == NULL || num_cores <= 0 || s->groups <= 0 || sp_conv_is_depthwise(s)) return 0;
  return (size_t)num_cores * fwd_chunk_floats(s);
}

/* wt[k][j] = w[oc0 + j][k] for j < nb, zero for the unused lanes. */
SP_BLOCK void pack_block(const float *w, int taps, int nb, float *wt) {
  for (int k = 0; k < taps; k++) {
    float *row = wt + (size_t)k * SP_VB;
    for (int j = 0; j < SP_VB; j++) row[j] = j < nb ? w[(size_t)j * taps + k] : 0.0f;
  }
}

/* npx (1..4) horizontally adjacent output pixels (oh, ow + i), SP_VB channels of
 * a packed block, with the same valid tap window (the caller checks); yp is the
 * first pixel's output, the next ones follow out_c floats apart. The pixels
 * share every weight load and their accumulators are independent, so the adds
 * of one overlap with those of the others instead of waiting on their own
 * previous add; each pixel's sum keeps the order bias, (kh, kw, ic) ascending.
 * nb and npx are literals at every call. Plain local arrays (no pointers into
 * them) let the compiler keep them in registers. */
SP_BLOCK void fwd_pixels_packed(const sp_conv2d_shape *s, const float *x, const float *wt,
                                const float *bias, float *yp, int oh, int ow, int ic0, int icg,
                                int nb, int npx) {
  float a0[SP_VB], a1[SP_VB], a2[SP_VB], a3[SP_VB];
  for (int j = 0; j < SP_VB; j++)
    a0[j] = a1[j] = a2[j] = a3[j] = (bias != NULL && j < nb) ? bias[j] : 0.0f;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  size_t xs = (size_t)s->stride_w * s->in_c; /* the next pixel's input window */
  int dense = icg == s->in_c; /* groups == 1: a row's taps (kw, ic) are contiguous in x */
  int nkw = kw1 - kw0, run = dense ? nkw * icg : icg;
  for (int kh = kh0; kh < kh1; kh++) {
    const float *xr = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw0)) * s->in_c + ic0;
    const float *wr = wt + (size_t)(kh * s->k_w + kw0) * icg * SP_VB;
    for (int kw = 0; kw < (dense ? 1 : nkw); kw++) {
      const float *xk = xr + (size_t)kw * s->in_c;
      const float *wk = wr + (size_t)kw * icg * SP_VB;
      /* With three or four pixels, two taps per iteration: the compiler then
       * keeps every accumulator in its register across iterations instead of
       * copying them all once per tap. */
#define FWD_TAP(t)                                                     \
  do {                                                                 \
    const float *wv = wk + (size_t)(t) * SP_VB;                        \
    float x0 = xk[t], x1 = 0.0f, x2 = 0.0f, x3 = 0.0f;                 \
    if (npx > 1) x1 = xk[xs + (size_t)(t)];                            \
    if (npx > 2) x2 = xk[2 * xs + (size_t)(t)];                        \
    if (npx > 3) x3 = xk[3 * xs + (size_t)(t)];                        \
    for (int j = 0; j < SP_VB; j++) {                                  \
      a0[j] += x0 * wv[j];                                             \
      if (npx > 1) a1[j] += x1 * wv[j];                                \
      if (npx > 2) a2[j] += x2 * wv[j];                                \
      if (npx > 3) a3[j] += x3 * wv[j];                                \
    }                                                                  \
  } while (0)
      int t = 0;
      for (; npx > 2 && t + 2 <= run; t += 2) {
        FWD_TAP(t);
        FWD_TAP(t + 1);
      }
      for (; t < run; t++) FWD_TAP(t);
#undef FWD_TAP
    }
  }
  size_t oc = (size_t)s->out_c;
  for (int j = 0; j < nb; j++) {
    yp[j] = a0[j];
    if (npx > 1) yp[oc + j] = a1[j];
    if (npx > 2) yp[2 * oc + j] = a2[j];
    if (npx > 3) yp[3 * oc + j] = a3[j];
  }
}

/* Pixels p, p+1, ... (at most maxpx, below hi, in output row oh) whose valid kw
 * range equals that of pixel p: these can share one pass. */
SP_BLOCK int fwd_run_length(const sp_conv2d_shape *s, int p, int hi, int ow, int maxpx) {
  int iw0 = ow * s->stride_w - s->pad_left, kw0, kw1, n = 1;
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  while (n < maxpx && p + n < hi && ow + n < s->out_w) {
    int a, b;
    sp_valid_taps(iw0 + n * s->stride_w, s->k_w, s->in_w, &a, &b);
    if (a != kw0 || b != kw1) break;
    n++;
  }
  return n;
}

/* fwd_pixels_packed with npx (<= maxpx) and, for a full block, nb as literals:
 * a full block's loads and stores are then whole vectors. */
SP_BLOCK void fwd_pixels_dispatch(const sp_conv2d_shape *s, const float *x, const float *wt,
                                  const float *bias, float *yp, int oh, int ow, int ic0, int icg,
                                  int nb, int npx, int maxpx) {
#define FWD_PIXELS(n)                                                                   \
  do {                                                                                  \
    if (nb == SP_VB)                                                                    \
      fwd_pixels_packed(s, x, wt, bias, yp, oh, ow, ic0, icg, SP_VB, n);                \
    else                                                                                \
      fwd_pixels_packed(s, x, wt, bias, yp, oh, ow, ic0, icg, nb, n);                   \
  } while (0)
  if (maxpx >= 4 && npx == 4)
    FWD_PIXELS(4);
  else if (maxpx >= 3 && npx == 3)
    FWD_PIXELS(3);
  else if (maxpx >= 2 && npx == 2)
    FWD_PIXELS(2);
  else
    FWD_PIXELS(1);
#undef FWD_PIXELS
}

/* The same sum for one output element, straight from the [oc][kh][kw][icg] weights. */
SP_BLOCK float fwd_element_direct(const sp_conv2d_shape *s, const float *x, const float *wrow,
                                  const float *bias, int oh, int ow, int ic0, int icg) {
  float acc = bias != NULL ? *bias : 0.0f;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xk = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * s->in_c + ic0;
      const float *wk = wrow + (size_t)(kh * s->k_w + kw) * icg;
      for (int ic = 0; ic < icg; ic++) acc += xk[ic] * wk[ic];
    }
  }
  return acc;
}

/* The ordinary/grouped forward (groups >= 1, not depthwise), up to maxpx (a
 * literal) pixels per pass. */
SP_BLOCK void conv_fwd(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                       float *y, float *scratch, int core_id, int num_cores, int maxpx) {
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  float *wt = scratch != NULL ? scratch + (size_t)core_id * fwd_chunk_floats(s) : NULL;

  for (int g = 0; g < s->groups; g++) {
    for (int o0 = 0; o0 < ocg; o0 += SP_VB) {
      int nb = sp_min(SP_VB, ocg - o0);
      int oc0 = g * ocg + o0;
      const float *wblock = w + (size_t)oc0 * taps;
      const float *bias = b != NULL ? b + oc0 : NULL;
      if (wt != NULL) pack_block(wblock, taps, nb, wt);
      /* (oh, ow) of pixel p, advanced without dividing; a step never leaves the row. */
      int oh = lo / s->out_w, ow = lo % s->out_w;
      for (int p = lo, np; p < hi; p += np) {
        float *yp = y + (size_t)p * s->out_c + oc0;
        if (wt != NULL) {
          np = fwd_run_length(s, p, hi, ow, maxpx);
          fwd_pixels_dispatch(s, x, wt, bias, yp, oh, ow, g * icg, icg, nb, np, maxpx);
        } else {
          np = 1;
          for (int j = 0; j < nb; j++)
            yp[j] = fwd_element_direct(s, x, wblock + (size_t)j * taps, bias != NULL ? bias + j : NULL,
                                       oh, ow, g * icg, icg);
        }
        ow += np;
        if (ow == s->out_w) {
          ow = 0;
          oh++;
        }
      }
    }
  }
}

SP_TUNED_VARIANTS(conv_fwd,
                  (const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                   float *y, float *scratch, int core_id, int num_cores),
                  (s, x, w, b, y, scratch, core_id, num_cores), 4, 3, 2, 1)

void sp_conv2d_fwd_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                       float *y, float *scratch, int core_id, int num_cores) {
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_fwd(s, x, w, b, y, core_id, num_cores);
    return;
  }
  SP_CALL_BEST(conv_fwd, (s, x, w, b, y, scratch, core_id, num_cores));
}
