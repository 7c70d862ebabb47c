/*
 * gather.c — copy selected channels (the last dimension) of an HWC tensor.
 *
 * Split over positions: each core copies whole rows of its own positions, so no
 * two cores write the same element and the bytes do not depend on the split.
 */
#include "sp_internal.h"

void sp_gather_channels_f32(int positions, int channels, const float *x, const int32_t *sel, int k,
                            float *x_sel, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(positions, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    const float *row = x + (size_t)p * (size_t)channels;
    float *out = x_sel + (size_t)p * (size_t)k;
    for (int j = 0; j < k; j++) out[j] = row[sel[j]];
  }
}
