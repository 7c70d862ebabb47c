/*
 * int8_elementwise.c — quantize / dequantize, clamp and ReLU masks on int8
 * tensors (sparrow_kernels_int8.h). fp32 arithmetic only, no libm.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

/* v rounded to the nearest integer, ties to even, for |v| < 2^23 (so the
 * truncation fits and v - t is exact). Integer decisions only: no dependence
 * on the FPU rounding mode. */
static inline int32_t round_half_even(float v) {
  int32_t t = (int32_t)v; /* towards zero */
  float f = v - (float)t; /* exact, in (-1, 1) */
  if (f > 0.5f || (f == 0.5f && (t & 1) != 0)) return t + 1;
  if (f < -0.5f || (f == -0.5f && (t & 1) != 0)) return t - 1;
  return t;
}

void sp_quantize_f32_to_int8(int n, const float *x, float scale, int32_t zero_point, int8_t *q,
                             int core_id, int num_cores) {
  if (x == NULL || q == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    float v = x[i] / scale;
    int32_t r;
    if (v != v)
      r = 0;
    else if (v <= -512.0f)
      r = -512;
    else if (v >= 512.0f)
      r = 512;
    else
      r = round_half_even(v);
    r += zero_point;
    q[i] = (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
  }
}

void sp_dequantize_int8_to_f32(int n, const int8_t *q, float scale, int32_t zero_point, float *x,
                               int core_id, int num_cores) {
  if (x == NULL || q == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) x[i] = (float)((int32_t)q[i] - zero_point) * scale;
}

void sp_clamp_int8(int n, const int8_t *x, int32_t lo_q, int32_t hi_q, int8_t *y, int core_id,
                   int num_cores) {
  if (x == NULL || y == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    int32_t v = x[i];
    v = v < lo_q ? lo_q : v;
    v = v > hi_q ? hi_q : v;
    y[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
  }
}

/* Mask bytes of this core: bit = lo_q < q < hi_q. */
static void build_mask(int n, const int8_t *q, int32_t lo_q, int32_t hi_q, uint8_t *mask,
                       int core_id, int num_cores) {
  if (q == NULL || mask == NULL) return;
  int lo, hi;
  sp_core_range((n + 7) / 8, 1, core_id, num_cores, &lo, &hi);
  for (int byte = lo; byte < hi; byte++) {
    int base = byte * 8, count = sp_min(8, n - base);
    unsigned bits = 0;
    for (int k = 0; k < count; k++) {
      int32_t v = q[base + k];
      bits |= (unsigned)((v > lo_q) & (v < hi_q)) << k;
    }
    mask[byte] = (uint8_t)bits;
  }
}

void sp_relu_mask_int8(int n, const int8_t *q, int32_t zero_point, uint8_t *mask, int core_id,
                       int num_cores) {
  build_mask(n, q, zero_point, 128, mask, core_id, num_cores);
}

void sp_relu6_mask_int8(int n, const int8_t *q, int32_t zero_point, int32_t six, uint8_t *mask,
                        int core_id, int num_cores) {
  build_mask(n, q, zero_point, six, mask, core_id, num_cores);
}
