/*
 * sp_int8_simd.h — the int8 forward kernels for rv32 cores with CORE-V packed
 * SIMD (int8_conv_rv32.c; not part of the API). SP_INT8_SIMD is 1 where the
 * compiler targets xcvsimd (-march with _xcvsimd): there the conv (ordinary and
 * grouped) and linear entry points of int8_conv.c and int8_linear.c call these
 * instead of their portable loops, with the same core ranges and bits.
 */
#ifndef SP_INT8_SIMD_H
#define SP_INT8_SIMD_H

#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

#if defined(__riscv) && defined(__riscv_xcvsimd)
#define SP_INT8_SIMD 1

/* The output pixels [lo, hi) of sp_conv2d_fwd_int8 (not depthwise). */
void sp_conv2d_fwd_int8_simd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                             const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int lo,
                             int hi);
/* The outputs [lo, hi) of sp_linear_fwd_int8. */
void sp_linear_fwd_int8_simd(int in_features, const int8_t *x, const int8_t *w, const int32_t *b,
                             const sp_requant_int8 *rq, int8_t *y, int lo, int hi);
#else
#define SP_INT8_SIMD 0
#endif

#endif /* SP_INT8_SIMD_H */
