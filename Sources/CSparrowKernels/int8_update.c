/*
 * int8_update.c — QAS SGD updates of int8 weights and int32 biases in place
 * (sparrow_kernels_int8.h has the per-element formulas and their derivation).
 * fp32 arithmetic, integer rounding decisions, no libm; split over elements.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

/* v rounded to the nearest integer, ties to even, for |v| < 2^31 - 128 (the
 * truncation fits, and v - t is exact). Integer decisions only: no dependence
 * on the FPU rounding mode. */
static inline int32_t rne_i32(float v) {
  int32_t t = (int32_t)v; /* towards zero */
  float f = v - (float)t; /* exact, in (-1, 1) */
  if (f > 0.5f || (f == 0.5f && (t & 1) != 0)) return t + 1;
  if (f < -0.5f || (f == -0.5f && (t & 1) != 0)) return t - 1;
  return t;
}

void sp_sgd_qas_int8(int n, int channel_stride, int channels, int8_t *w, const float *g,
                     const float *w_scale, float lr, float grad_scale, int core_id, int num_cores) {
  if (w == NULL || g == NULL || w_scale == NULL || channel_stride <= 0 || channels <= 0) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    float s = w_scale[(i / channel_stride) % channels];
    float gi = g[i] * grad_scale;
    float d = (lr * gi) / s;
    float t = (float)(int32_t)w[i] - d;
    if (t != t) continue;
    w[i] = (int8_t)(t >= 127.0f ? 127 : t <= -127.0f ? -127 : rne_i32(t));
  }
}

/* d rounded to the nearest integer, ties to even, for finite |d| < 2^33. */
static inline int64_t rne_i64(float d) {
  if (d > -1073741824.0f && d < 1073741824.0f) return rne_i32(d);
  /* 2^30 <= |d| < 2^33: d is an integer (a multiple of 64, fp32 has 24 bits),
   * so d / 4 is an exact integer below 2^31 and converts exactly (no int64
   * conversion, which would be a library call on rv32). r stays for safety. */
  float q = d * 0.25f;
  int32_t t = (int32_t)q;
  float r = d - (float)t * 4.0f; /* exact, 0 here */
  return (int64_t)t * 4 + (int64_t)(int32_t)r;
}

void sp_sgd_qas_bias_int32(int n, int32_t *b, const float *g, float x_scale, const float *w_scale,
                           float lr, float grad_scale, int core_id, int num_cores) {
  if (b == NULL || g == NULL || w_scale == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int c = lo; c < hi; c++) {
    float sb = x_scale * w_scale[c];
    float gi = g[c] * grad_scale;
    float d = (lr * gi) / sb;
    if (d != d) continue;
    int64_t r;
    if (d >= 8589934592.0f)
      r = INT32_MIN;
    else if (d <= -8589934592.0f)
      r = INT32_MAX;
    else {
      r = (int64_t)b[c] - rne_i64(d);
      r = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
    }
    b[c] = (int32_t)r;
  }
}
