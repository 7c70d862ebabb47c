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
 * (no double, no libm); on rv32 with Zfh by the native half-precision
 * instructions, which round the same way (sp_f16.h). Every NaN result is the
 * canonical quiet NaN 0x7E00, so even NaNs are bit-identical across targets.
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

/* ------------------------------------------ channel selection, split weights
 * The fp16 versions of sp_gather_channels_f32 and the FP32 split-weight
 * kernels (sparrow_kernels.h). A partially trained weight lives in two
 * tensors: the full weight w (frozen; its values for the selected input
 * channels never reach a result — some paths read them and overwrite what
 * they gave — so they may hold anything, NaN included) and
 * w_sel, which holds the selected input channels sel[0..k) (ascending, each in
 * [0, C)) in the same layout with k instead of C input channels:
 * [out_c][k_h][k_w][k] for a conv, [k_h][k_w][k] for a depthwise conv,
 * [out][k] for a linear. k = 0 selects nothing (sel and w_sel are then not
 * read and may be NULL).
 *
 * Each split kernel computes exactly what its plain fp16 kernel computes on
 * the merged weight: the same split over cores, the same start value, the same
 * terms in the same order, in the same accumulation mode. So the result is bit
 * for bit that of sp_conv2d_fwd_f16 / sp_conv2d_bwd_input_f16 /
 * sp_linear_fwd_f16 / sp_linear_bwd_input_f16 on the merged weight, in both
 * modes and for every num_cores; the merged weight is never built (no memory
 * beyond the trainable slice, no scratch). Convs: groups must be 1 or
 * depthwise (in_c == out_c == groups); any other groups, or an unknown mode,
 * makes the kernel do nothing. */

/** x_sel[p][j] = x[p][sel[j]] for p < positions, j < k (bit copies): the
 *  input channels a partial-channel weight update needs. Split over
 *  positions; a pure copy, so any split gives the same bytes. x_sel must not
 *  overlap x. */
void sp_gather_channels_f16(int positions, int channels, const sp_f16 *x, const int32_t *sel, int k,
                            sp_f16 *x_sel, int core_id, int num_cores);
/** sp_conv2d_fwd_f16 on the merged weight (b may be NULL). Split over output pixels. */
void sp_conv2d_fwd_split_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores);
/** sp_conv2d_bwd_input_f16 on the merged weight (dx overwritten). Split over input pixels. */
void sp_conv2d_bwd_input_split_f16(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                   const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx,
                                   sp_f16_acc mode, int core_id, int num_cores);
/** sp_linear_fwd_f16 on the merged weight (b may be NULL). Split over outputs. */
void sp_linear_fwd_split_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores);
/** sp_linear_bwd_input_f16 on the merged weight (dx overwritten). Split over inputs. */
void sp_linear_bwd_input_split_f16(int in_features, int out_features, const sp_f16 *dy,
                                   const sp_f16 *w, const sp_f16 *w_sel, const int32_t *sel, int k,
                                   sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores);

/* ------------------------------------------------------------- elementwise
 * n elements, split over elements (masks: in whole mask bytes). Each element
 * depends only on its own inputs, so every split gives the same bits. y may
 * alias x, a or b (in place). Comparisons are made on the exact fp32 value of
 * an fp16 (sp_f16_to_f32), so they follow IEEE 754: -0 == +0, NaN compares
 * false. Results are copies of an input's bits or one sp_f16 operation. */

/** y = sp_f16_add(a, b). */
void sp_add_f16(int n, const sp_f16 *a, const sp_f16 *b, sp_f16 *y, int core_id, int num_cores);
/** y = x < 0 ? +0 : x (bits of x kept: NaN propagates, -0 stays -0). */
void sp_relu_f16(int n, const sp_f16 *x, sp_f16 *y, int core_id, int num_cores);
/** y = x < 0 ? +0 : (x > 6 ? 6 : x) (NaN propagates). */
void sp_relu6_f16(int n, const sp_f16 *x, sp_f16 *y, int core_id, int num_cores);
/** Bit i (byte i/8, bit i%8, LSB first) = x[i] > 0; unused high bits of the
 *  last byte are 0; (n+7)/8 bytes, cores split them in whole bytes. The same
 *  layout as sp_relu_mask, and the same bits as sp_relu_mask on the widened x. */
void sp_relu_mask_f16(int n, const sp_f16 *x, uint8_t *mask, int core_id, int num_cores);
/** Like sp_relu_mask_f16 with bit = 0 < x[i] < 6 (as sp_relu6_mask). */
void sp_relu6_mask_f16(int n, const sp_f16 *x, uint8_t *mask, int core_id, int num_cores);
/** dx = bit ? dy : +0 (bit copies); dx may alias dy. Split in multiples of 8
 *  elements, as sp_mask_grad_f32. */
void sp_mask_grad_f16(int n, const sp_f16 *dy, const uint8_t *mask, sp_f16 *dx, int core_id,
                      int num_cores);
/** Tensor conversion fp32 -> fp16: y[i] = sp_f16_from_f32(x[i]) (one rounding;
 *  a NaN becomes SP_F16_NAN). y must not overlap x. */
void sp_f32_to_f16_tensor(int n, const float *x, sp_f16 *y, int core_id, int num_cores);
/** Tensor conversion fp16 -> fp32: y[i] = sp_f16_to_f32(x[i]) (exact). y must not overlap x. */
void sp_f16_to_f32_tensor(int n, const sp_f16 *x, float *y, int core_id, int num_cores);
/** Loss-scaling overflow check: count[core_id] = number of elements of this
 *  core's slice of x that are inf or NaN (written, never added to). count has
 *  num_cores slots, one per core, so no two cores write the same byte; after
 *  the join the caller sums count[0..num_cores) (the total is the same for
 *  every num_cores; only its distribution over slots differs). A core with an
 *  empty slice writes 0. */
void sp_f16_count_nonfinite(int n, const sp_f16 *x, int32_t *count, int core_id, int num_cores);
/** After sp_f16_count_nonfinite(n, x, status + 1, ...) has run on every core:
 *  core 0 adds status[1..num_cores] to status[0], the step's running count of
 *  non-finite gradient elements (other cores do nothing). An update guarded by
 *  status[0] == 0 is skipped once any checked gradient overflowed. */
void sp_f16_overflow_total(int32_t *status, int core_id, int num_cores);

/* ------------------------------------------------------------------ pooling
 * Same sp_pool_shape, windows, splits (forward over output pixels, backward
 * gathered per input pixel, global average forward over channels and backward
 * over positions) and summation orders as the FP32 pooling kernels. Sums use
 * the accumulation mode as the conv kernels do (sp_f16_add per term, or an fp32
 * sum of the widened terms); a division by a count k (k_h*k_w, positions) is,
 *  SP_F16_ACC_F16  sp_f16_div(sum, sp_f16_from_f32((float)k)) — one correctly
 *                  rounded fp16 division (k <= 2048 is exact in fp16);
 *  SP_F16_ACC_F32  sp_f16_from_f32(fp32 sum / (float)k).
 * So in SP_F16_ACC_F32 mode every result equals, bit for bit,
 * sp_f16_from_f32 of the FP32 kernel on the widened inputs. */

/** y = max over the window's in-bounds taps (row-major), the first maximum
 *  winning; argmax (nullable) = its tap kh*k_w+kw (k_h*k_w <= 255). A NaN wins
 *  (the first NaN). No in-bounds tap: y = -inf (0xFC00), argmax = 255. y's bits
 *  are a copy of the winner's; y and argmax equal sp_maxpool_fwd_f32's on the
 *  widened x (y narrowed back). No mode: no arithmetic. */
void sp_maxpool_fwd_f16(const sp_pool_shape *s, const sp_f16 *x, sp_f16 *y, uint8_t *argmax,
                        int core_id, int num_cores);
/** dx (overwritten) = +0 then dy over the windows (oh, ow ascending) whose
 *  argmax is this input element. */
void sp_maxpool_bwd_f16(const sp_pool_shape *s, const sp_f16 *dy, const uint8_t *argmax, sp_f16 *dx,
                        sp_f16_acc mode, int core_id, int num_cores);
/** y = (+0 then the in-bounds taps, row-major) / (k_h*k_w) (padding counts in the divisor). */
void sp_avgpool_fwd_f16(const sp_pool_shape *s, const sp_f16 *x, sp_f16 *y, sp_f16_acc mode,
                        int core_id, int num_cores);
/** dx (overwritten) = (+0 then dy over covering windows, oh, ow ascending) / (k_h*k_w). */
void sp_avgpool_bwd_f16(const sp_pool_shape *s, const sp_f16 *dy, sp_f16 *dx, sp_f16_acc mode,
                        int core_id, int num_cores);
/** y[c] = (+0 then x[p][c], p ascending) / positions. Split over channels. */
void sp_global_avgpool_fwd_f16(int positions, int channels, const sp_f16 *x, sp_f16 *y,
                               sp_f16_acc mode, int core_id, int num_cores);
/** dx[p][c] = sp_f16_div(dy[c], sp_f16_from_f32((float)positions)) (for
 *  positions <= 2048 also sp_f16_from_f32 of the FP32 kernel's dy / positions).
 *  Split over positions. */
void sp_global_avgpool_bwd_f16(int positions, int channels, const sp_f16 *dy, sp_f16 *dx,
                               int core_id, int num_cores);

/* --------------------------------------------------------------- optimizers
 * fp16 weights w and gradients g, fp32 optimizer state (velocity, m, v), and an
 * optional fp32 master copy of the weights. Split over elements. Per element:
 *   g32 = sp_f16_to_f32(g[i])                       (exact)
 *   w32 = master != NULL ? master[i] : sp_f16_to_f32(w[i])
 *   the FP32 update of sp_sgd_f32 / sp_sgd_momentum_f32 / sp_adam_f32 on
 *   (w32, state, g32), the same code (sp_update_element): g' = g32 * grad_scale
 *   first (grad_scale = 1 / (loss scale * batch)), then weight decay, ...
 *   if master != NULL: master[i] = w32
 *   w[i] = sp_f16_from_f32(w32)                     (one rounding)
 * So with a master copy, (master, state) equal bit for bit the FP32 optimizer
 * run on master with the widened gradients, and w is that rounded to fp16;
 * without one (master = NULL) the update is the FP32 one on the widened fp16
 * weight, rounded back after each step (small updates may then be lost: use a
 * master copy for long training). A NULL w, or a NULL state buffer the kind
 * needs, makes the kernel do nothing. Skipping a step on overflow is the
 * caller's job (sp_f16_count_nonfinite on the gradients first). */

void sp_sgd_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float lr, float weight_decay,
                float grad_scale, int core_id, int num_cores);
void sp_sgd_momentum_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float *velocity,
                         float lr, float momentum, float weight_decay, float grad_scale,
                         int core_id, int num_cores);
void sp_adam_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float *m, float *v, float lr,
                 float beta1, float beta2, float eps, float bias_correction1,
                 float bias_correction2, float weight_decay, float grad_scale, int core_id,
                 int num_cores);

/* ------------------------------------------------------------------- losses
 * fp16 inputs and outputs; everything in between is the FP32 kernel's fp32
 * arithmetic (sp_expf, sp_logf) on the widened inputs, in the same order, and
 * each output is rounded to fp16 once. A gradient is multiplied by loss_scale
 * in fp32 before that rounding: d16 = sp_f16_from_f32(d32 * loss_scale), where
 * d32 is the FP32 kernel's gradient (loss_scale = 1: exactly the rounded FP32
 * gradient; a power of two: the rounded scaled one, unless d32 * loss_scale
 * over- or underflows fp32). Scalar kernels: core 0 does all the work. */

/** loss = sp_f16_from_f32(sp_softmax_ce_fwd_f32 on the widened logits). Bad label: NaN. */
void sp_softmax_ce_fwd_f16(int classes, const sp_f16 *logits, const int32_t *label, sp_f16 *loss,
                           int core_id, int num_cores);
/** dlogits = fp16((softmax(z) - onehot(label)) * loss_scale), core 0 only. Bad label: NaN everywhere. */
void sp_softmax_ce_bwd_f16(int classes, const sp_f16 *logits, const int32_t *label,
                           sp_f16 *dlogits, float loss_scale, int core_id, int num_cores);
/** loss = sp_f16_from_f32(sp_mse_fwd_f32 on the widened inputs). */
void sp_mse_fwd_f16(int n, const sp_f16 *pred, const sp_f16 *target, sp_f16 *loss, int core_id,
                    int num_cores);
/** dpred = fp16(((2 (p - t)) / n) * loss_scale); split over elements. */
void sp_mse_bwd_f16(int n, const sp_f16 *pred, const sp_f16 *target, sp_f16 *dpred,
                    float loss_scale, int core_id, int num_cores);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_F16_H */
