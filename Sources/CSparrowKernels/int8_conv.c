/*
 * int8_conv.c — int8 conv2d forward (ordinary, grouped, depthwise), int32
 * accumulation, per-output-channel requantization (sparrow_kernels_int8.h).
 *
 * Accumulators are uint32_t: the sum of int32 terms modulo 2^32 is what the
 * header defines, it has no undefined overflow, and it does not depend on the
 * order of the terms, so the blocking below is free to change. On rv32 with
 * xcvsimd, ordinary and grouped convs run the packed dot products of
 * int8_conv_rv32.c (same terms mod 2^32, same requantization, same bits).
 */
#include "sp_int8_simd.h"

#if !SP_INT8_SIMD
/* sum over i of (x[i] - zx) * w[i], mod 2^32. Each term fits in int32
 * (|x - zx| <= 255, |w| <= 128). */
static inline uint32_t dot_i8(const int8_t *x, const int8_t *w, int n, int32_t zx) {
  uint32_t acc = 0;
  for (int i = 0; i < n; i++) acc += (uint32_t)(((int32_t)x[i] - zx) * (int32_t)w[i]);
  return acc;
}

#endif /* !SP_INT8_SIMD */

/* The output clamp [act_min, act_max] within int8 (as sp_requantize_clamped). */
static void act_range(const sp_requant_int8 *rq, int32_t *lo, int32_t *hi) {
  int32_t a = rq->act_min < -128 ? -128 : (rq->act_min > 127 ? 127 : rq->act_min);
  int32_t b = rq->act_max < -128 ? -128 : (rq->act_max > 127 ? 127 : rq->act_max);
  *lo = a > b ? b : a;
  *hi = b;
}

/* Depthwise: weights [k_h][k_w][c]; channels in blocks of SP_VB accumulators. */
static void dw_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w, const int32_t *b,
                   const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  const int c = s->in_c;
  int32_t amin, amax;
  act_range(rq, &amin, &amax);
  const int32_t zx = rq->in_zero_point, zy = rq->out_zero_point;
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    int8_t *yp = y + (size_t)p * c;
    for (int c0 = 0; c0 < c; c0 += SP_VB) {
      int nb = sp_min(SP_VB, c - c0);
      uint32_t acc[SP_VB];
      for (int j = 0; j < nb; j++) acc[j] = b != NULL ? (uint32_t)b[c0 + j] : 0u;
      for (int kh = kh0; kh < kh1; kh++) {
        for (int kw = kw0; kw < kw1; kw++) {
          const int8_t *xp = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c + c0;
          const int8_t *wp = w + ((size_t)kh * s->k_w + (size_t)kw) * c + c0;
          for (int j = 0; j < nb; j++) acc[j] += (uint32_t)(((int32_t)xp[j] - zx) * (int32_t)wp[j]);
        }
      }
      for (int j = 0; j < nb; j++)
        yp[c0 + j] = sp_requantize_clamped((int32_t)acc[j], rq->mult[c0 + j], rq->shift[c0 + j], zy,
                                           amin, amax);
    }
  }
}

#if !SP_INT8_SIMD
/* Ordinary / grouped: weights [out_c][k_h][k_w][in_c/groups]. With one group a
 * row of in-bounds taps is contiguous in x and in w, so it is one dot product. */
static void conv_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w, const int32_t *b,
                     const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  const int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int32_t amin, amax;
  act_range(rq, &amin, &amax);
  const int32_t zx = rq->in_zero_point, zy = rq->out_zero_point;
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    int8_t *yp = y + (size_t)p * s->out_c;
    for (int oc = 0; oc < s->out_c; oc++) {
      int g = oc / ocg;
      uint32_t acc = b != NULL ? (uint32_t)b[oc] : 0u;
      if (kw0 < kw1) {
        for (int kh = kh0; kh < kh1; kh++) {
          const int8_t *xr = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw0)) * s->in_c +
                             (size_t)g * icg;
          const int8_t *wr = w + (((size_t)oc * s->k_h + kh) * s->k_w + kw0) * icg;
          if (s->groups == 1) {
            acc += dot_i8(xr, wr, (kw1 - kw0) * icg, zx);
          } else {
            for (int kw = 0; kw < kw1 - kw0; kw++)
              acc += dot_i8(xr + (size_t)kw * s->in_c, wr + (size_t)kw * icg, icg, zx);
          }
        }
      }
      yp[oc] = sp_requantize_clamped((int32_t)acc, rq->mult[oc], rq->shift[oc], zy, amin, amax);
    }
  }
}

#endif /* !SP_INT8_SIMD */

void sp_conv2d_fwd_int8(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                        const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int core_id,
                        int num_cores) {
  if (s == NULL || x == NULL || w == NULL || rq == NULL || rq->mult == NULL ||
      rq->shift == NULL || y == NULL)
    return;
  if (s->groups <= 0 || s->in_c % s->groups != 0 || s->out_c % s->groups != 0 || s->out_w <= 0)
    return;
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (sp_conv_is_depthwise(s))
    dw_fwd(s, x, w, b, rq, y, lo, hi);
  else
#if SP_INT8_SIMD
    sp_conv2d_fwd_int8_simd(s, x, w, b, rq, y, lo, hi);
#else
    conv_fwd(s, x, w, b, rq, y, lo, hi);
#endif
}
