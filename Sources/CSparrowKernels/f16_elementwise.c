/*
 * f16_elementwise.c — fp16 add, ReLU, ReLU6, their 1-bit masks, the masked
 * gradient, tensor conversions and the non-finite count for loss scaling
 * (sparrow_kernels_f16.h).
 *
 * Split as elementwise.c: contiguous element ranges; mask kernels in whole
 * bytes, the masked gradient in multiples of 8 elements, so no two cores write
 * the same byte. Comparisons are made on the exact fp32 value of each fp16, so
 * they follow IEEE 754 as the FP32 kernels do, and the masks equal the FP32
 * masks of the widened tensor. Outputs may alias inputs of the same width.
 */
#include "sp_f16.h"

void sp_add_f16(int n, const sp_f16 *a, const sp_f16 *b, sp_f16 *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) y[i] = sp_h_add(a[i], b[i]);
}

void sp_relu_f16(int n, const sp_f16 *x, sp_f16 *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    sp_f16 v = x[i];
    y[i] = sp_h2f(v) < 0.0f ? (sp_f16)0 : v;
  }
}

void sp_relu6_f16(int n, const sp_f16 *x, sp_f16 *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    sp_f16 v = x[i];
    float f = sp_h2f(v);
    y[i] = f < 0.0f ? (sp_f16)0 : (f > 6.0f ? (sp_f16)0x4600u : v);
  }
}

/* Mask bytes [lo, hi) of n elements; upper6 selects the band 0 < x < 6. */
static void build_mask_f16(int n, const sp_f16 *x, uint8_t *mask, int upper6, int core_id,
                           int num_cores) {
  int lo, hi;
  sp_core_range((n + 7) / 8, 1, core_id, num_cores, &lo, &hi);
  for (int byte = lo; byte < hi; byte++) {
    int base = byte * 8, count = sp_min(8, n - base);
    unsigned bits = 0;
    for (int k = 0; k < count; k++) {
      float v = sp_h2f(x[base + k]);
      unsigned on = upper6 ? (unsigned)(v > 0.0f) & (unsigned)(v < 6.0f) : (unsigned)(v > 0.0f);
      bits |= on << k;
    }
    mask[byte] = (uint8_t)bits;
  }
}

void sp_relu_mask_f16(int n, const sp_f16 *x, uint8_t *mask, int core_id, int num_cores) {
  build_mask_f16(n, x, mask, 0, core_id, num_cores);
}

void sp_relu6_mask_f16(int n, const sp_f16 *x, uint8_t *mask, int core_id, int num_cores) {
  build_mask_f16(n, x, mask, 1, core_id, num_cores);
}

/* dx = bit ? dy : +0 as dy's bits AND an all-ones/all-zeros halfword. Element i
 * is read before it is written, by the same core, so dx == dy is fine. */
void sp_mask_grad_f16(int n, const sp_f16 *dy, const uint8_t *mask, sp_f16 *dx, int core_id,
                      int num_cores) {
  int lo, hi;
  sp_core_range(n, 8, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    uint32_t on = ((uint32_t)mask[i >> 3] >> (i & 7)) & 1u;
    dx[i] = (sp_f16)((uint32_t)dy[i] & (0u - on));
  }
}

void sp_f32_to_f16_tensor(int n, const float *x, sp_f16 *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) y[i] = sp_f2h(x[i]);
}

void sp_f16_to_f32_tensor(int n, const sp_f16 *x, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) y[i] = sp_h2f(x[i]);
}

/* Inf and NaN are exactly the fp16s whose exponent field is all ones. */
void sp_f16_count_nonfinite(int n, const sp_f16 *x, int32_t *count, int core_id, int num_cores) {
  if (count == NULL || num_cores <= 0 || core_id < 0 || core_id >= num_cores) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  int32_t c = 0;
  for (int i = lo; i < hi; i++) c += (x[i] & 0x7c00u) == 0x7c00u;
  count[core_id] = c;
}

void sp_f16_overflow_total(int32_t *status, int core_id, int num_cores) {
  if (status == NULL || core_id != 0 || num_cores <= 0) return;
  for (int k = 1; k <= num_cores; k++) status[0] += status[k];
}
