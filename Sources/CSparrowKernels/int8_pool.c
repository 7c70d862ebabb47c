/*
 * int8_pool.c — int8 max pool and global average pool, forward only
 * (sparrow_kernels_int8.h). Integer arithmetic only.
 *
 * Max pool: the max of quantized values is the quantized max (same scale and
 * zero point), so no requantization. Tie rule as sp_maxpool_fwd_f32: taps
 * row-major, a value wins only when strictly greater (the first maximum).
 * Global average pool: an exact int32 sum per channel, then one
 * sp_requantize (single rounding, ties towards +infinity).
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

void sp_maxpool_fwd_int8(const sp_pool_shape *s, const int8_t *x, int8_t *y, uint8_t *argmax,
                         int core_id, int num_cores) {
  if (s == NULL || x == NULL || y == NULL) return;
  int c = s->c, lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int8_t *yp = y + (size_t)p * c;
    uint8_t *ap = argmax != NULL ? argmax + (size_t)p * c : NULL;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    if (kh0 >= kh1 || kw0 >= kw1) {
      for (int ch = 0; ch < c; ch++) {
        yp[ch] = -128;
        if (ap != NULL) ap[ch] = 255;
      }
      continue;
    }
    for (int ch = 0; ch < c; ch++) {
      int best = 0, arg = 255, first = 1;
      for (int kh = kh0; kh < kh1; kh++) {
        const int8_t *xr = x + ((size_t)(ih0 + kh) * s->in_w) * c + ch;
        for (int kw = kw0; kw < kw1; kw++) {
          int v = xr[(size_t)(iw0 + kw) * c];
          if (first || v > best) {
            best = v;
            arg = kh * s->k_w + kw;
            first = 0;
          }
        }
      }
      yp[ch] = (int8_t)best;
      if (ap != NULL) ap[ch] = (uint8_t)arg;
    }
  }
}

void sp_global_avgpool_fwd_int8(int positions, int channels, const int8_t *x,
                                int32_t in_zero_point, int32_t mult, int32_t shift,
                                int32_t out_zero_point, int8_t *y, int core_id, int num_cores) {
  if (x == NULL || y == NULL) return;
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int ch = lo; ch < hi; ch++) {
    uint32_t acc = 0; /* mod 2^32, exact below 2^23 positions */
    for (int p = 0; p < positions; p++)
      acc += (uint32_t)((int32_t)x[(size_t)p * channels + ch] - in_zero_point);
    y[ch] = sp_requantize((int32_t)acc, mult, shift, out_zero_point);
  }
}
