/*
 * int8_gather.c — copy selected channels (the last dimension) of an int8 HWC
 * tensor (sparrow_kernels_int8.h). The int8 twin of gather.c.
 *
 * Split over positions: each core copies whole rows of its own positions, so no
 * two cores write the same byte and the bytes do not depend on the split.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

void sp_gather_channels_int8(int positions, int channels, const int8_t *x, const int32_t *sel,
                             int k, int8_t *x_sel, int core_id, int num_cores) {
  if (x == NULL || x_sel == NULL || k <= 0 || sel == NULL || channels <= 0) return;
  int lo, hi;
  sp_core_range(positions, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    const int8_t *row = x + (size_t)p * (size_t)channels;
    int8_t *out = x_sel + (size_t)p * (size_t)k;
    for (int j = 0; j < k; j++) out[j] = row[sel[j]];
  }
}
