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


/* ================================================================ training
 * TTE's int8 training path (REFERENCES.md "TTE"): int8 forward, fp32 backward
 * from the int8 tensors the forward saved, QAS updates applied to the int8
 * weights and int32 biases in place (plain SGD, no momentum). */

/* ------------------------------------------------------------------ pooling */

/** y = max over the window's in-bounds taps (kh, kw row-major) of x (int8, the
 *  input's scale and zero point carry over unchanged: a max of quantized values
 *  is exact, no requantization). argmax (nullable) gets the tap index
 *  kh*k_w+kw of the FIRST maximum (a later equal value does not win), exactly
 *  as sp_maxpool_fwd_f32, so sp_maxpool_bwd_f32 consumes it; k_h*k_w <= 255.
 *  Padded taps never win. A window with no in-bounds tap gives y = -128,
 *  argmax = 255. Split over output pixels. A NULL s, x or y does nothing. */
void sp_maxpool_fwd_int8(const sp_pool_shape *s, const int8_t *x, int8_t *y, uint8_t *argmax,
                         int core_id, int num_cores);

/** y[c] = sp_requantize(acc, mult, shift, out_zero_point) with
 *  acc = sum over p of (x[p][c] - in_zero_point) (exact int32 for positions <
 *  2^23). The mean's 1/positions is folded into the multiplier by the caller:
 *  mult * 2^-(31+shift) = s_x / (s_y * positions). Rounding: the single
 *  rounding of sp_requantize, floor(acc * M + 1/2) (ties towards +infinity),
 *  then + out_zero_point and saturation to [-128, 127]. Split over channels. */
void sp_global_avgpool_fwd_int8(int positions, int channels, const int8_t *x,
                                int32_t in_zero_point, int32_t mult, int32_t shift,
                                int32_t out_zero_point, int8_t *y, int core_id, int num_cores);

/* ------------------------------------------- fp32 backward from int8 tensors
 * Dequantization enters each product term per element, as ONE fp32 multiply,
 * the same as sp_dequantize_int8_to_f32:
 *     x_real = (float)(x_q - x_zero_point) * x_scale      (activations)
 *     w_real = (float)w_q * w_scale[oc]                    (weights, per out channel)
 * and the term is x_real * dy (w_real * dy), summed from +0 in the order the
 * matching FP32 kernel documents. So every result equals, bit for bit, the FP32
 * kernel (sp_conv2d_bwd_weight_f32, sp_conv2d_bwd_input_f32,
 * sp_linear_bwd_weight_f32, sp_linear_bwd_input_f32) run on the tensor
 * sp_dequantize_int8_to_f32 produces (weights: channel oc with w_scale[oc]),
 * for every num_cores; the FP32 kernels' splits are kept. The bias gradient
 * needs no int8 kernel (sp_bias_grad_f32 reads only dy), nor does the ReLU
 * backward (sp_mask_grad_f32 with the mask of sp_relu_mask_int8). Conv weight
 * layouts as sp_conv2d_shape: [out_c][k_h][k_w][in_c/groups], depthwise
 * [k_h][k_w][c] (scale index c). A NULL pointer argument does nothing. */

/** dw (+)= sum over output positions (oh, ow ascending) of x_real[tap] * dy,
 *  from +0; accumulate = 1 adds the finished sum once (dw = dw + sum).
 *  Ordinary, grouped, depthwise. Split: over taps (kh, kw, ic-in-group) for
 *  ordinary/grouped, over (tap, block of 16 channels) items for depthwise. */
void sp_conv2d_bwd_weight_int8x_f32(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                    int32_t x_zero_point, const float *dy, float *dw,
                                    int accumulate, int core_id, int num_cores);
/** dx (overwritten) = for each input element, +0 then the sum over the output
 *  positions (oh, ow ascending) that read it and, within one position, over the
 *  group's output channels oc ascending, of dy * w_real. Split over input pixels. */
void sp_conv2d_bwd_input_int8w_f32(const sp_conv2d_shape *s, const float *dy, const int8_t *w,
                                   const float *w_scale, float *dx, int core_id, int num_cores);
/** dw[o][i] (+)= 0 + x_real[i] * dy[o]. Split over rows o. */
void sp_linear_bwd_weight_int8x_f32(int in_features, int out_features, const int8_t *x,
                                    float x_scale, int32_t x_zero_point, const float *dy,
                                    float *dw, int accumulate, int core_id, int num_cores);
/** dx[i] (overwritten) = +0 then sum over o ascending of dy[o] * w_real[o][i]
 *  (w_real[o][i] = (float)w[o][i] * w_scale[o]). Split over inputs. */
void sp_linear_bwd_input_int8w_f32(int in_features, int out_features, const float *dy,
                                   const int8_t *w, const float *w_scale, float *dx, int core_id,
                                   int num_cores);

/* ------------------------------------------------------------- QAS updates
 * QAS (Lin et al. 2022): training W_bar = W / s_W gives G_Wbar = s_W * G_W;
 * QAS scales it by s_W^-2, so the SGD step on W_bar is
 *     lr * s_W^-2 * G_Wbar = lr * G_W / s_W      (int8 steps)
 * and for the int32 bias (step s_b = s_x * s_W[oc], QAS factor s_b^-2)
 *     lr * s_b^-2 * G_bbar = lr * G_b / s_b.
 * g is the fp32 gradient with respect to the REAL parameter (what the kernels
 * above produce), summed over the batch; grad_scale = 1/batch. Plain SGD, no
 * momentum, no weight decay (TTE). Split over elements; each element is
 * independent, so every num_cores gives the same bytes. NULL pointers or
 * n <= 0 do nothing. */

/** For each element i, with c = (i / channel_stride) % channels its output
 *  channel and s = w_scale[c]:
 *      g' = g[i] * grad_scale                       (fp32)
 *      d  = (lr * g') / s                           (fp32, that order)
 *      t  = (float)w[i] - d                         (fp32)
 *      w[i] = t >= 127 ? 127 : t <= -127 ? -127 : rne(t)
 *  rne = round to nearest integer, ties to even (integer decisions, no
 *  dependence on the FPU rounding mode); saturation to the symmetric weight
 *  range [-127, 127]; a NaN t leaves w[i] unchanged. Layouts: conv
 *  [out_c][taps] is channel_stride = k_h*k_w*(in_c/groups), channels = out_c;
 *  depthwise [k_h][k_w][c] is channel_stride = 1, channels = c; linear
 *  [out][in] is channel_stride = in, channels = out. */
void sp_sgd_qas_int8(int n, int channel_stride, int channels, int8_t *w, const float *g,
                     const float *w_scale, float lr, float grad_scale, int core_id, int num_cores);

/** For each channel c (b is [n], one per output channel), s_b = x_scale * w_scale[c]:
 *      g' = g[c] * grad_scale;  d = (lr * g') / s_b          (fp32)
 *      b[c] = sat_int32((int64)b[c] - rne64(d))
 *  where rne64(d) is d rounded to the nearest integer, ties to even (exact for
 *  every finite fp32 d; |d| >= 2^33 saturates the result by its sign). The
 *  increment is rounded rather than b - d because an int32 does not fit fp32
 *  (rne(b - d) = b - rne(d) except on exact .5 ties, where b - rne(d) keeps
 *  the tie rule independent of b). A NaN d leaves b[c] unchanged. */
void sp_sgd_qas_bias_int32(int n, int32_t *b, const float *g, float x_scale, const float *w_scale,
                           float lr, float grad_scale, int core_id, int num_cores);


/* ============================================ channel selection, split
 * weights, residual add, average pool, fp32 logits (int8_gather.c,
 * int8_split.c, int8_add.c, int8_avgpool.c, int8_linear_f32.c). */

/* ------------------------------------------------------- channel selection */

/** x_sel[p][j] = x[p][sel[j]] for p < positions, j < k (a byte copy, as
 *  sp_gather_channels_f32): the input channels a partial-channel weight update
 *  of an int8 layer needs. sel ascending, each < channels. Split over
 *  positions. A NULL x, sel or x_sel, k <= 0 or channels <= 0 does nothing. */
void sp_gather_channels_int8(int positions, int channels, const int8_t *x, const int32_t *sel,
                             int k, int8_t *x_sel, int core_id, int num_cores);

/* ----------------------------------------------------------- split weights
 * The int8 form of the FP32 split weights (sparrow_kernels.h "split
 * weights"): w is the full int8 weight (frozen, in flash) whose values for the
 * selected input channels never reach a result (some paths read them and
 * discard what they gave); w_sel holds the selected input
 * channels sel[0..k) (strictly ascending, each in [0, in_c)) in the same layout
 * with k instead of in_c channels ([out_c][k_h][k_w][k] for a conv, [k_h][k_w][k]
 * depthwise, [out][k] for a linear). Each kernel gives, bit for bit and for
 * every num_cores, what the plain kernel gives on the merged weight, with the
 * plain kernel's split: the forward uses the same mod-2^32 accumulator and
 * sp_requantize_clamped arguments (the order of its terms cannot matter), the
 * input gradient the same fp32 terms dy * ((float)w * w_scale[oc]) in the same
 * order from +0. The weight scales are per output channel, so the slice shares
 * w_scale with w. groups must be 1 or depthwise (in_c == out_c == groups);
 * other groupings, an invalid sel (not strictly ascending, out of range), k < 0
 * or k > in_c, w_sel or sel NULL with k > 0, or a NULL argument the plain
 * kernel rejects, do nothing. k == 0 is the plain kernel (sel, w_sel may be
 * NULL). */

/** sp_conv2d_fwd_int8 on the merged weight. Split over output pixels. */
void sp_conv2d_fwd_split_int8(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores);
/** sp_linear_fwd_int8 on the merged weight. Split over outputs. */
void sp_linear_fwd_split_int8(int in_features, int out_features, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores);
/** sp_conv2d_bwd_input_int8w_f32 on the merged weight. Split over input pixels. */
void sp_conv2d_bwd_input_split_int8w_f32(const sp_conv2d_shape *s, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores);
/** sp_linear_bwd_input_int8w_f32 on the merged weight. Split over inputs. */
void sp_linear_bwd_input_split_int8w_f32(int in_features, int out_features, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores);

/* ------------------------------------------------------------ residual add */

/** y = quantize(r) with, per element, in this order,
 *      r = (float)(a - a_zero_point) * a_scale + (float)(b - b_zero_point) * b_scale
 *  (two exact conversions, two fp32 multiplies, one fp32 add), then quantized
 *  exactly as sp_quantize_f32_to_int8 with (y_scale, y_zero_point): one fp32
 *  division r / y_scale, round half to even, + y_zero_point, saturation to
 *  [-128, 127]. y may alias a or b (in place). Split over elements. A NULL a,
 *  b or y does nothing. y_scale must be positive and finite. */
void sp_add_int8(int n, const int8_t *a, float a_scale, int32_t a_zero_point, const int8_t *b,
                 float b_scale, int32_t b_zero_point, float y_scale, int32_t y_zero_point,
                 int8_t *y, int core_id, int num_cores);

/* ------------------------------------------------------------ average pool */

/** y[oh][ow][c] = sp_requantize(acc, mult, shift, out_zero_point) with
 *  acc = sum over the window's in-bounds taps of (x - in_zero_point) (exact
 *  int32). Padded taps add nothing but count in the divisor k_h*k_w, as in
 *  sp_avgpool_fwd_f32 (count_include_pad): the caller folds s_x / (s_y *
 *  k_h*k_w) into mult * 2^-(31+shift). A window with no in-bounds tap gives
 *  out_zero_point. Rounding: the single rounding of sp_requantize (ties towards
 *  +infinity), saturation to [-128, 127]. The backward needs no int8 kernel
 *  (sp_avgpool_bwd_f32 reads only dy). Split over output pixels. A NULL s, x
 *  or y does nothing. */
void sp_avgpool_fwd_int8(const sp_pool_shape *s, const int8_t *x, int32_t in_zero_point,
                         int32_t mult, int32_t shift, int32_t out_zero_point, int8_t *y,
                         int core_id, int num_cores);

/* ------------------------------------------------------------- fp32 logits */

/** The int8 classifier whose output stays fp32 (logits for the fp32 loss):
 *  acc = b[o] + sum over i of (x[i] - in_zero_point) * w[o][i] (mod 2^32, as
 *  sp_linear_fwd_int8; w [out][in], b may be NULL), then
 *      y[o] = (float)acc * out_scale[o]
 *  (one int32-to-fp32 conversion, rounded to nearest even, and one fp32
 *  multiply), out_scale[o] = s_x * s_w[o] computed by the caller. Split over
 *  outputs. A NULL x, w, out_scale or y does nothing. */
void sp_linear_fwd_int8_f32(int in_features, int out_features, const int8_t *x,
                            int32_t in_zero_point, const int8_t *w, const int32_t *b,
                            const float *out_scale, float *y, int core_id, int num_cores);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_INT8_H */
