/*
 * sparrow_kernels_f16.h — the FP16 half of the Sparrow kernel library
 * (DESIGN.md invariant 1: one source of numerics, bit-identical on the host and
 * on rv32).
 *
 * Storage: IEEE 754 binary16 as raw bits (sp_f16 = uint16_t). Nothing here uses
 * the compiler's _Float16, so results do not depend on whether a target has
 * native half arithmetic, nor on its excess-precision rules (FLT_EVAL_METHOD).
 * Every fp16 operation is one of the sp_f16_* functions below, each correctly
 * rounded (round to nearest, ties to even; subnormals kept; overflow gives
 * +-inf), computed with fp32 +, -, *, /, sqrt and integer bit manipulation only
 * (no double, no libm). Every NaN result is the canonical quiet NaN 0x7E00, so
 * even NaNs are bit-identical across targets.
 *
 * Kernels: the same shapes (sp_conv2d_shape), layouts (HWC activations, conv
 * weights [out_c][k_h][k_w][in_c/groups], depthwise [k_h][k_w][c], linear
 * [out][in]), core splits and summation orders as the FP32 kernels in
 * sparrow_kernels.h — read that header's conventions; they all hold here. Each
 * kernel takes an accumulation mode:
 *
 *  SP_F16_ACC_F16  the accumulator is fp16; every multiply-accumulate is one
 *                  sp_f16_fma(a, b, acc) (one rounding per term, as the packed
 *                  FP16 SIMD MACs of PULP do), every plain sum term one
 *                  sp_f16_add.
 *  SP_F16_ACC_F32  the accumulator is fp32: inputs are widened exactly, each
 *                  product is exact in fp32 (11 x 11 significand bits), each
 *                  sum is rounded to fp32, and the finished sum is rounded to
 *                  fp16 once (as an expanding fp16 -> fp32 dot product does).
 *                  So the result equals, bit for bit, sp_f16_from_f32 of the
 *                  FP32 kernel run on the widened inputs (accumulate = 0).
 *
 * A bias (fp16) is the accumulator's start value, as in the FP32 kernels.
 * accumulate = 1 adds the finished fp16 result once: dst = sp_f16_add(dst,
 * result with accumulate = 0), so accumulating equals old + fresh, bit for bit.
 * An unknown mode makes a kernel do nothing.
 *
 * Accuracy against the FP32 kernels run on the same (fp16-valued) inputs
 * (u = 2^-11, fp16's unit roundoff; S = sum of |terms| of an element, bias
 * included; n = its number of terms). Measured by
 * Tests/CSparrowKernelsTests/F16AccuracyTests on inputs uniform in [-1, 1):
 *  SP_F16_ACC_F32  |y16 - y32| <= 0.5 fp16 ulp of y32 (one rounding; tested on
 *                  every element). Tensor RMS error 0.37..0.47 u * RMS(y),
 *                  independent of n (measured n = 16..4096).
 *  SP_F16_ACC_F16  one rounding per term, so the error grows with n. Tested
 *                  bound: |y16 - y32| <= n * (u * S + 2^-25) (first-order
 *                  recursive summation). Measured: max |y16 - y32| <= 2.8 u * S
 *                  for n = 2..4096 (mean 0.3 u * S); tensor RMS error 1.3,
 *                  2.3, 7.0, 10, 18 u * RMS(y) for n = 16, 64, 256, 1024, 4096
 *                  (about 0.3 sqrt(n) u). With cancellation an element can be
 *                  off by hundreds of its own fp16 ulps (726 at n = 4096).
 *                  Prefer SP_F16_ACC_F32 for long reductions (weight gradients
 *                  sum over all output positions).
 */
#ifndef SPARROW_KERNELS_F16_H
#define SPARROW_KERNELS_F16_H

#include <stddef.h>
#include <stdint.h>

#include "sparrow_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** IEEE 754 binary16, stored as its bits. */
typedef uint16_t sp_f16;

/** The canonical quiet NaN every NaN-producing fp16 operation returns. */
#define SP_F16_NAN ((sp_f16)0x7E00)

/** How a kernel accumulates its sums (see the top of this header). */
typedef enum { SP_F16_ACC_F16 = 0, SP_F16_ACC_F32 = 1 } sp_f16_acc;

/* --------------------------------------------------------------- scalar core
 * Correctly rounded (nearest, ties to even), subnormals kept, overflow -> +-inf,
 * any NaN result -> SP_F16_NAN. Signed zeros as IEEE 754 (x + (-x) = +0). */

/** fp32 -> fp16, rounded once. */
sp_f16 sp_f16_from_f32(float x);
/** fp16 -> fp32, exact (a NaN gives a quiet fp32 NaN with the same payload). */
float sp_f16_to_f32(sp_f16 h);
sp_f16 sp_f16_add(sp_f16 a, sp_f16 b);
sp_f16 sp_f16_sub(sp_f16 a, sp_f16 b);
sp_f16 sp_f16_mul(sp_f16 a, sp_f16 b);
sp_f16 sp_f16_div(sp_f16 a, sp_f16 b);
/** sqrt(-0) = -0; sqrt(x < 0) = NaN. */
sp_f16 sp_f16_sqrt(sp_f16 a);
/** a * b + c with one rounding (IEEE fusedMultiplyAdd). */
sp_f16 sp_f16_fma(sp_f16 a, sp_f16 b, sp_f16 c);

/* ------------------------------------------------------------------ conv2d */

/** y[oh][ow][oc] = b[oc] + sum over (kh, kw, ic) ascending of x * w (taps
 *  outside x skipped); b may be NULL (start from +0). As sp_conv2d_fwd_f32
 *  (ordinary, grouped, depthwise); no scratch. Split over output pixels. */
void sp_conv2d_fwd_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w, const sp_f16 *b,
                       sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores);

/** dx (overwritten): for each input element, +0 then the terms dy * w over the
 *  output positions that read it (oh, ow ascending) and, within one position,
 *  the group's output channels (oc ascending). Split over input pixels. */
void sp_conv2d_bwd_input_f16(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                             sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores);

/** dw (+)= for each weight, +0 then x[tap] * dy over the output positions
 *  (oh, ow ascending) whose tap is inside x. Split over taps (kh, kw,
 *  ic-in-group) for ordinary/grouped convs, over (tap, block of 16 channels)
 *  items for depthwise, as sp_conv2d_bwd_weight_f32. */
void sp_conv2d_bwd_weight_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                              sp_f16 *dw, int accumulate, sp_f16_acc mode, int core_id,
                              int num_cores);

/** db[c] (+)= +0 then dy[p][c] over p ascending (an add per term; no product).
 *  Conv and linear (positions = 1). Split over channels. */
void sp_bias_grad_f16(int positions, int channels, const sp_f16 *dy, sp_f16 *db, int accumulate,
                      sp_f16_acc mode, int core_id, int num_cores);

/* ------------------------------------------------------------------ linear */

/** y[o] = b[o] + sum over i ascending of w[o][i] * x[i]; b may be NULL.
 *  Bit-identical to sp_conv2d_fwd_f16 as a 1x1 conv on a 1x1 input. Split over outputs. */
void sp_linear_fwd_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *w,
                       const sp_f16 *b, sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores);
/** dx[i] (overwritten) = +0 then dy[o] * w[o][i] over o ascending. Split over inputs. */
void sp_linear_bwd_input_f16(int in_features, int out_features, const sp_f16 *dy, const sp_f16 *w,
                             sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores);
/** dw[o][i] (+)= +0 + dy[o] * x[i] (one term: the correctly rounded product in
 *  both modes, -0 becoming +0). Split over rows o. */
void sp_linear_bwd_weight_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *dy,
                              sp_f16 *dw, int accumulate, sp_f16_acc mode, int core_id,
                              int num_cores);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_F16_H */
