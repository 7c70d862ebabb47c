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

/* Bit k of the mask byte for x[0..7]: x[k] > 0, or 0 < x[k] < 6 when upper6.
 * NaN compares false either way. A fixed count of 8 lets the compiler turn the
 * byte into one vector compare and a sign-bit gather, without branches. */
static inline unsigned mask_byte8(const float *x, int upper6) {
  unsigned bits = 0;
  for (int k = 0; k < 8; k++) {
    float v = x[k];
    unsigned on = upper6 ? (unsigned)(v > 0.0f) & (unsigned)(v < 6.0f) : (unsigned)(v > 0.0f);
    bits |= on << k;
  }
  return bits;
}

/* Mask bytes [lo, hi) of n elements; upper6 selects the ReLU6 band 0 < x < 6. */
static void build_mask(int n, const float *x, uint8_t *mask, int upper6, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range((n + 7) / 8, 1, core_id, num_cores, &lo, &hi);
  int full = sp_min(hi, n / 8); /* bytes with all 8 elements present */
  int byte = lo;
  if (upper6) {
    for (; byte < full; byte++) mask[byte] = (uint8_t)mask_byte8(x + (size_t)byte * 8, 1);
  } else {
    for (; byte < full; byte++) mask[byte] = (uint8_t)mask_byte8(x + (size_t)byte * 8, 0);
  }
  for (; byte < hi; byte++) {
    int base = byte * 8, count = sp_min(8, n - base);
    unsigned bits = 0;
    for (int k = 0; k < count; k++) {
      float v = x[base + k];
      unsigned on = upper6 ? (unsigned)(v > 0.0f) & (unsigned)(v < 6.0f) : (unsigned)(v > 0.0f);
      bits |= on << k;
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

/* dx = bit ? dy : +0, as dy's bits AND an all-ones/all-zeros word: the same bits
 * as the branch, and no data-dependent jump. One mask byte covers 8 elements;
 * all 8 dy are loaded before any dx is stored, so dx == dy (in place) is fine. */
void sp_mask_grad_f32(int n, const float *dy, const uint8_t *mask, float *dx, int core_id,
                      int num_cores) {
  int lo, hi;
  sp_core_range(n, 8, core_id, num_cores, &lo, &hi);
  int i = lo; /* a multiple of 8 */
  for (; i + 8 <= hi; i += 8) {
    uint32_t m = mask[i >> 3], t[8];
    for (int k = 0; k < 8; k++) t[k] = sp_f2u(dy[i + k]) & (0u - (uint32_t)((m & (1u << k)) != 0));
    for (int k = 0; k < 8; k++) dx[i + k] = sp_u2f(t[k]);
  }
  for (; i < hi; i++) {
    uint32_t on = ((uint32_t)mask[i >> 3] >> (i & 7)) & 1u;
    dx[i] = sp_u2f(sp_f2u(dy[i]) & (0u - on));
  }
}
