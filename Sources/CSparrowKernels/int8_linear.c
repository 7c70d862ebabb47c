/*
 * int8_linear.c — int8 fully connected forward (sparrow_kernels_int8.h).
 * The same terms, accumulator (uint32_t, mod 2^32) and requantization as a 1x1
 * conv in int8_conv.c, so the two are bit-identical. On rv32 with xcvsimd the
 * dot products run in int8_conv_rv32.c (same terms mod 2^32, same bits).
 */
#include "sp_int8_simd.h"

void sp_linear_fwd_int8(int in_features, int out_features, const int8_t *x, const int8_t *w,
                        const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int core_id,
                        int num_cores) {
  if (x == NULL || w == NULL || rq == NULL || rq->mult == NULL || rq->shift == NULL || y == NULL ||
      in_features < 0)
    return;
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
#if SP_INT8_SIMD
  sp_linear_fwd_int8_simd(in_features, x, w, b, rq, y, lo, hi);
#else
  int32_t amin = rq->act_min < -128 ? -128 : (rq->act_min > 127 ? 127 : rq->act_min);
  int32_t amax = rq->act_max < -128 ? -128 : (rq->act_max > 127 ? 127 : rq->act_max);
  if (amin > amax) amin = amax;
  const int32_t zx = rq->in_zero_point, zy = rq->out_zero_point;
  for (int o = lo; o < hi; o++) {
    const int8_t *wr = w + (size_t)o * (size_t)in_features;
    uint32_t acc = b != NULL ? (uint32_t)b[o] : 0u;
    for (int i = 0; i < in_features; i++) acc += (uint32_t)(((int32_t)x[i] - zx) * (int32_t)wr[i]);
    y[o] = sp_requantize_clamped((int32_t)acc, rq->mult[o], rq->shift[o], zy, amin, amax);
  }
#endif
}
