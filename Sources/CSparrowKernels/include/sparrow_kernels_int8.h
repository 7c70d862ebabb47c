/*
 * sparrow_kernels_int8.h — the INT8 half of Sparrow's reduced-precision kernel
 * library (TTE-style quantized graph: int8 activations and weights, int32 bias,
 * per-output-channel requantization). Same contract as sparrow_kernels.h:
 * HWC batch 1, (core_id, num_cores) fork-join slices with the same splits as
 * the FP32 kernels, no libm, no allocation, no double, and every result is
 * bit-identical on every platform and for every num_cores (DESIGN.md
 * invariants 1 and 6). Sizes are element counts.
 *
 * Quantization: a real value r is stored as q with r = scale * (q - zero_point).
 *  - Activations: int8, one (scale, zero_point) per tensor, zero_point in
 *    [-128, 127].
 *  - Weights: int8, symmetric (zero point 0), one scale per output channel.
 *  - Bias: int32 with scale s_x * s_w[oc] (zero point 0).
 *  - Accumulators: int32. A conv/linear output element is
 *        acc = b[oc] + sum over taps of (x - x_zero_point) * w
 *    computed modulo 2^32 (two's complement wrap-around, so the order of the
 *    terms cannot matter; layers whose accumulators do not fit in int32 are a
 *    planning error, the result is then defined but meaningless). Taps in the
 *    padding read the input zero point (a real zero): they add nothing.
 *  - Requantization of acc to the output (see sp_requantize): the real
 *    multiplier s_x * s_w[oc] / s_y as a Q31 multiplier mult[oc] and a right
 *    shift shift[oc], then + y_zero_point, then clamp to [act_min, act_max]
 *    (ReLU / ReLU6 fused in the quantized domain; [-128, 127] for none).
 */
#ifndef SPARROW_KERNELS_INT8_H
#define SPARROW_KERNELS_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "sparrow_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- requantization */

/** Smallest and largest right shift sp_requantize accepts. */
#define SP_REQUANT_SHIFT_MIN (-31)
#define SP_REQUANT_SHIFT_MAX 31

/** acc scaled by the real multiplier M = mult * 2^-(31 + shift), rounded ONCE
 *  to the nearest integer with ties rounded UP (towards +infinity), plus
 *  zero_point, saturated to [-128, 127]. Exactly:
 *      n = 31 + shift                          (0 <= n <= 62)
 *      p = (int64) acc * (int64) mult          (exact, |p| < 2^62)
 *      r = n == 0 ? p : (p + 2^(n-1)) >> n     (arithmetic shift = floor)
 *      result = clamp(r + zero_point, -128, 127)
 *  i.e. r = floor(acc * M + 1/2). This is the "single rounding" of CMSIS-NN
 *  (CMSIS_NN_USE_SINGLE_ROUNDING) and TFLite (TFLITE_SINGLE_ROUNDING), written
 *  with a right shift: there is no intermediate rounding and no intermediate
 *  saturation, so every (acc, mult, shift) gives the correctly rounded value.
 *  Arguments: mult in [0, 2^31 - 1] (normally [2^30, 2^31): M = mult/2^31 in
 *  [0.5, 1) scaled by 2^-shift), shift in [SP_REQUANT_SHIFT_MIN,
 *  SP_REQUANT_SHIFT_MAX], any acc, any zero_point. Out-of-range mult (< 0) or
 *  shift are clamped into range (a caller bug, but still a defined result).
 *  Cost on rv32: mul + mulh, a 64-bit add and shift. */
int8_t sp_requantize(int32_t acc, int32_t mult, int32_t shift, int32_t zero_point);

/** sp_requantize with the result clamped to [lo, hi] instead of [-128, 127]
 *  (lo and hi are first clamped into [-128, 127]; lo > hi collapses to hi, as a
 *  clamp written max-then-min would). The conv / linear kernels use it with
 *  [act_min, act_max], which fuses ReLU / ReLU6. */
int8_t sp_requantize_clamped(int32_t acc, int32_t mult, int32_t shift, int32_t zero_point,
                             int32_t lo, int32_t hi);

/** The same before the clamp to int8: floor(acc * M + 1/2) as int64 (|r| < 2^62).
 *  For users that requantize to other widths (e.g. int32 bias rescaling). */
int64_t sp_requantize_raw(int32_t acc, int32_t mult, int32_t shift);

/** Per-output-channel requantization of a conv / linear layer. */
typedef struct {
  int32_t in_zero_point;   /* x zero point, [-128, 127] */
  int32_t out_zero_point;  /* y zero point, [-128, 127] */
  int32_t act_min;         /* output clamp (quantized): [-128, 127] for no */
  int32_t act_max;         /*   activation, [zp, 127] for ReLU, [zp, q6] for ReLU6 */
  const int32_t *mult;     /* [out_c] Q31 multipliers (see sp_requantize) */
  const int32_t *shift;    /* [out_c] right shifts */
} sp_requant_int8;

/* --------------------------------------------------------- conv2d / linear */

/** y[oh][ow][oc] = sp_requantize_clamped(acc, mult[oc], shift[oc], out_zero_point,
 *  act_min, act_max) with acc = b[oc] + sum over in-bounds taps (kh, kw, ic) of
 *  (x[oh*sh-pt+kh][ow*sw-pl+kw][ic] - in_zero_point) * w[oc][kh][kw][ic]
 *  (mod 2^32). Weights [out_c][k_h][k_w][in_c/groups]; depthwise (in_c ==
 *  out_c == groups) [k_h][k_w][c]. b may be NULL (acc starts from 0). Same
 *  sp_conv2d_shape as FP32 (the caller computes out_h / out_w); no scratch.
 *  Split over output pixels. A NULL s, x, w, rq, mult, shift or y does nothing. */
void sp_conv2d_fwd_int8(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                        const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int core_id,
                        int num_cores);

/** y[o] = sp_requantize_clamped(acc, mult[o], shift[o], out_zero_point, act_min,
 *  act_max), acc = b[o] + sum over i of (x[i] - in_zero_point) * w[o][i]
 *  (mod 2^32); w is [out][in], b may be NULL. Bit-identical to a 1x1 conv on a
 *  1x1xin input. Split over outputs. */
void sp_linear_fwd_int8(int in_features, int out_features, const int8_t *x, const int8_t *w,
                        const int32_t *b, const sp_requant_int8 *rq, int8_t *y, int core_id,
                        int num_cores);

/* ------------------------------------------------------------- elementwise */
/* n elements; y may alias x (in place). Split over elements. */

/** q = clamp(rne(x / scale) + zero_point, -128, 127), where x / scale is one
 *  fp32 division and rne rounds to the nearest integer, ties to even (as
 *  torch.quantize_per_tensor). |x / scale| beyond 512 saturates; NaN gives
 *  zero_point. scale must be positive and finite. */
void sp_quantize_f32_to_int8(int n, const float *x, float scale, int32_t zero_point, int8_t *q,
                             int core_id, int num_cores);
/** x = (float)(q - zero_point) * scale (one fp32 multiply; q - zero_point is exact). */
void sp_dequantize_int8_to_f32(int n, const int8_t *q, float scale, int32_t zero_point, float *x,
                               int core_id, int num_cores);
/** y = clamp(x, lo, hi) (a standalone ReLU / ReLU6 in the quantized domain). */
void sp_clamp_int8(int n, const int8_t *x, int32_t lo, int32_t hi, int8_t *y, int core_id,
                   int num_cores);
/** Bit i (byte i/8, bit i%8, LSB first) = q[i] > zero_point (the real value is
 *  positive); unused high bits of the last byte are 0. mask holds (n+7)/8 bytes;
 *  cores split it in whole bytes. Applied to a fused-ReLU output it equals the
 *  mask of the unclamped value. */
void sp_relu_mask_int8(int n, const int8_t *q, int32_t zero_point, uint8_t *mask, int core_id,
                       int num_cores);
/** Like sp_relu_mask_int8 with bit = zero_point < q[i] < six, six being the
 *  quantized 6.0 (the ReLU6 clamp's act_max). */
void sp_relu6_mask_int8(int n, const int8_t *q, int32_t zero_point, int32_t six, uint8_t *mask,
                        int core_id, int num_cores);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_INT8_H */
