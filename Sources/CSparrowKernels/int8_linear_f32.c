/*
 * int8_linear_f32.c — int8 fully connected layer whose output stays fp32 (the
 * classifier: its logits feed the fp32 loss; sparrow_kernels_int8.h).
 *
 * The accumulator is sp_linear_fwd_int8's (uint32_t, b[o] + sum of
 * (x - in_zero_point) * w, mod 2^32); instead of requantizing, it is converted
 * to fp32 once and multiplied once by out_scale[o] = s_x * s_w[o].
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

void sp_linear_fwd_int8_f32(int in_features, int out_features, const int8_t *x,
                            int32_t in_zero_point, const int8_t *w, const int32_t *b,
                            const float *out_scale, float *y, int core_id, int num_cores) {
  if (x == NULL || w == NULL || out_scale == NULL || y == NULL || in_features < 0) return;
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    const int8_t *wr = w + (size_t)o * (size_t)in_features;
    uint32_t acc = b != NULL ? (uint32_t)b[o] : 0u;
    for (int i = 0; i < in_features; i++)
      acc += (uint32_t)(((int32_t)x[i] - in_zero_point) * (int32_t)wr[i]);
    y[o] = (float)(int32_t)acc * out_scale[o];
  }
}
