/*
 * sp_qas.h — the one source of the per-element QAS update formulas (not part
 * of the API). The QAS optimizer kernels (int8_update.c: sp_sgd_qas_int8,
 * sp_sgd_qas_bias_int32) and the fused int8 gradient + QAS update kernels
 * (int8_fused_update.c) both update each element through these functions, so
 * an element fused into a gradient kernel gets exactly the operations the
 * optimizer kernel does on it. sparrow_kernels_int8.h documents the formulas
 * and their derivation. fp32 arithmetic, integer rounding decisions (no
 * dependence on the FPU rounding mode), no libm, no 64-bit division.
 */
#ifndef SP_QAS_H
#define SP_QAS_H

#include <stdint.h>

/* v rounded to the nearest integer, ties to even, for |v| < 2^31 - 128 (the
 * truncation fits, and v - t is exact). Integer decisions only: no dependence
 * on the FPU rounding mode. */
static inline int32_t sp_qas_rne_i32(float v) {
  int32_t t = (int32_t)v; /* towards zero */
  float f = v - (float)t; /* exact, in (-1, 1) */
  if (f > 0.5f || (f == 0.5f && (t & 1) != 0)) return t + 1;
  if (f < -0.5f || (f == -0.5f && (t & 1) != 0)) return t - 1;
  return t;
}

/* d rounded to the nearest integer, ties to even, for finite |d| < 2^33. */
static inline int64_t sp_qas_rne_i64(float d) {
  if (d > -1073741824.0f && d < 1073741824.0f) return sp_qas_rne_i32(d);
  /* 2^30 <= |d| < 2^33: d is an integer (a multiple of 64, fp32 has 24 bits),
   * so d / 4 is an exact integer below 2^31 and converts exactly (no int64
   * conversion, which would be a library call on rv32). r stays for safety. */
  float q = d * 0.25f;
  int32_t t = (int32_t)q;
  float r = d - (float)t * 4.0f; /* exact, 0 here */
  return (int64_t)t * 4 + (int64_t)(int32_t)r;
}

/* One int8 weight *w of output channel step `step` (w_scale[c]) with its
 * finished gradient g:
 *     g' = g * grad_scale;  d = (lr * g') / step;  t = (float)*w - d
 *     *w = t >= 127 ? 127 : t <= -127 ? -127 : rne(t)
 * A NaN t leaves *w unchanged (not written). */
static inline void sp_qas_update_weight(int8_t *w, float g, float step, float lr,
                                        float grad_scale) {
  float gi = g * grad_scale;
  float d = (lr * gi) / step;
  float t = (float)(int32_t)*w - d;
  if (t != t) return;
  *w = (int8_t)(t >= 127.0f ? 127 : t <= -127.0f ? -127 : sp_qas_rne_i32(t));
}

/* One int32 bias *b of output channel step w_step (w_scale[c]) with its
 * finished gradient g, bias step s_b = x_scale * w_step:
 *     g' = g * grad_scale;  d = (lr * g') / s_b
 *     *b = sat_int32((int64)*b - rne64(d))   (|d| >= 2^33 saturates by sign)
 * A NaN d leaves *b unchanged (not written). */
static inline void sp_qas_update_bias(int32_t *b, float g, float x_scale, float w_step, float lr,
                                      float grad_scale) {
  float sb = x_scale * w_step;
  float gi = g * grad_scale;
  float d = (lr * gi) / sb;
  if (d != d) return;
  int64_t r;
  if (d >= 8589934592.0f)
    r = INT32_MIN;
  else if (d <= -8589934592.0f)
    r = INT32_MAX;
  else {
    r = (int64_t)*b - sp_qas_rne_i64(d);
    r = r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
  }
  *b = (int32_t)r;
}

#endif /* SP_QAS_H */
