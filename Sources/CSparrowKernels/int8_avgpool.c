/*
 * int8_avgpool.c — int8 average pool with a k_h x k_w window, forward only
 * (sparrow_kernels_int8.h). Integer arithmetic only.
 *
 * An exact int32 sum of (x - in_zero_point) over the window's in-bounds taps,
 * then one sp_requantize (single rounding, ties towards +infinity). The
 * divisor k_h*k_w (padding counts, as sp_avgpool_fwd_f32) and the scales live
 * in the caller's (mult, shift). Split over output pixels; channels in blocks
 * of SP_VB accumulators.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

void sp_avgpool_fwd_int8(const sp_pool_shape *s, const int8_t *x, int32_t in_zero_point,
                         int32_t mult, int32_t shift, int32_t out_zero_point, int8_t *y,
                         int core_id, int num_cores) {
  if (s == NULL || x == NULL || y == NULL || s->out_w <= 0) return;
  const int c = s->c;
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    int8_t *yp = y + (size_t)p * (size_t)c;
    for (int c0 = 0; c0 < c; c0 += SP_VB) {
      int nb = sp_min(SP_VB, c - c0);
      uint32_t acc[SP_VB]; /* mod 2^32; exact for any window of int8 taps that fits */
      for (int t = 0; t < nb; t++) acc[t] = 0u;
      for (int kh = kh0; kh < kh1; kh++) {
        for (int kw = kw0; kw < kw1; kw++) {
          const int8_t *xp =
              x + ((size_t)(ih0 + kh) * (size_t)s->in_w + (size_t)(iw0 + kw)) * (size_t)c + (size_t)c0;
          for (int t = 0; t < nb; t++) acc[t] += (uint32_t)((int32_t)xp[t] - in_zero_point);
        }
      }
      for (int t = 0; t < nb; t++)
        yp[c0 + t] = sp_requantize((int32_t)acc[t], mult, shift, out_zero_point);
    }
  }
}
