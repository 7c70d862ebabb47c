/*
 * elementwise.c — add, ReLU, ReLU6, their 1-bit masks and the masked gradient.
 *
 * Split: contiguous element ranges; mask kernels split in whole bytes (multiples
 * of 8 elements) so no two cores write the same byte. Every element depends on
 * its own inputs only, so any split gives the same bits. Outputs may alias
 * inputs: element i is read before it is written, by the same core.
 */
#include "sp_internal.h"

void sp_add_f32(int n, const float *a, const float *b, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) y[i] = a[i] + b[i];
}

void sp_relu_f32(int n, const float *x, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    float v = x[i];
    y[i] = v < 0.0f ? 0.0f : v;
  }
}

void sp_relu6_f32(int n, const float *x, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    float v = x[i];
    y[i] = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
  }
}

/* Mask bytes [lo, hi) of n elements; upper6 selects the ReLU6 band 0 < x < 6. */
static void build_mask(int n, const float *x, uint8_t *mask, int upper6, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range((n + 7) / 8, 1, core_id, num_cores, &lo, &hi);
  for (int byte = lo; byte < hi; byte++) {
    int base = byte * 8, count = sp_min(8, n - base);
    unsigned bits = 0;
    for (int k = 0; k < count; k++) {
      float v = x[base + k];
      int on = upper6 ? (v > 0.0f && v < 6.0f) : (v > 0.0f);
      bits |= (unsigned)on << k;
    }
    mask[byte] = (uint8_t)bits;
  }
}

void sp_relu_mask(int n, const float *x, uint8_t *mask, int core_id, int num_cores) {
  build_mask(n, x, mask, 0, core_id, num_cores);
}

void sp_relu6_mask(int n, const float *x, uint8_t *mask, int core_id, int num_cores) {
  build_mask(n, x, mask, 1, core_id, num_cores);
}

void sp_mask_grad_f32(int n, const float *dy, const uint8_t *mask, float *dx, int core_id,
                      int num_cores) {
  int lo, hi;
  sp_core_range(n, 8, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    int on = (mask[i >> 3] >> (i & 7)) & 1;
    dx[i] = on ? dy[i] : 0.0f;
  }
}
