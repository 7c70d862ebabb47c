/*
 * int8_update.c — QAS SGD updates of int8 weights and int32 biases in place
 * (sparrow_kernels_int8.h has the per-element formulas and their derivation).
 * fp32 arithmetic, integer rounding decisions, no libm; split over elements.
 * The per-element formulas live in sp_qas.h, shared with the fused gradient +
 * QAS update kernels (int8_fused_update.c).
 */
#include "sp_internal.h"
#include "sp_qas.h"
#include "sparrow_kernels_int8.h"

void sp_sgd_qas_int8(int n, int channel_stride, int channels, int8_t *w, const float *g,
                     const float *w_scale, float lr, float grad_scale, int core_id, int num_cores) {
  if (w == NULL || g == NULL || w_scale == NULL || channel_stride <= 0 || channels <= 0) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++)
    sp_qas_update_weight(w + i, g[i], w_scale[(i / channel_stride) % channels], lr, grad_scale);
}

void sp_sgd_qas_bias_int32(int n, int32_t *b, const float *g, float x_scale, const float *w_scale,
                           float lr, float grad_scale, int core_id, int num_cores) {
  if (b == NULL || g == NULL || w_scale == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int c = lo; c < hi; c++)
    sp_qas_update_bias(b + c, g[c], x_scale, w_scale[c], lr, grad_scale);
}
