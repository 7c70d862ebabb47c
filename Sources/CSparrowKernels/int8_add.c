/*
 * int8_add.c — elementwise add of two int8 tensors with their own scales and
 * zero points into a third quantization (a residual join;
 * sparrow_kernels_int8.h). fp32 arithmetic only, no libm.
 *
 * The real sum is formed in fp32 (two exact int-to-float conversions, two
 * multiplies, one add) and then quantized by sp_quantize_f32_to_int8 itself,
 * so the rounding (one division, ties to even, saturation) has one source.
 * Elements are independent: any split gives the same bytes.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

/* Elements dequantized per sp_quantize_f32_to_int8 call (a stack buffer). */
#define ADD_CHUNK 32

void sp_add_int8(int n, const int8_t *a, float a_scale, int32_t a_zero_point, const int8_t *b,
                 float b_scale, int32_t b_zero_point, float y_scale, int32_t y_zero_point,
                 int8_t *y, int core_id, int num_cores) {
  if (a == NULL || b == NULL || y == NULL) return;
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  float r[ADD_CHUNK];
  for (int i0 = lo; i0 < hi; i0 += ADD_CHUNK) {
    int m = sp_min(ADD_CHUNK, hi - i0);
    /* Every element of the chunk is read before any is written, so y may be a or b. */
    for (int t = 0; t < m; t++) {
      float ra = (float)((int32_t)a[i0 + t] - a_zero_point) * a_scale;
      float rb = (float)((int32_t)b[i0 + t] - b_zero_point) * b_scale;
      r[t] = ra + rb;
    }
    sp_quantize_f32_to_int8(m, r, y_scale, y_zero_point, y + i0, 0, 1);
  }
}
