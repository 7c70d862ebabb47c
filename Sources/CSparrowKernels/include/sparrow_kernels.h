/*
 * sparrow_kernels.h — the FP32 kernel library of Sparrow (DESIGN.md invariant 1:
 * one source of numerics). The same sources run natively on the host, are copied
 * into every exported C project and are cross-compiled freestanding for rv32.
 *
 * Conventions shared by every kernel:
 *  - Activations are HWC (channels last), batch 1. Sizes are element counts
 *    (floats, bytes for masks), never bytes unless stated.
 *  - Every kernel ends with (core_id, num_cores) and computes only its own slice
 *    (fork-join, as on a PULP cluster). Calling it for core_id = 0..num_cores-1,
 *    in any order or concurrently, completes the whole output. Each output element
 *    is computed entirely by one core, in an operation order that does not depend
 *    on num_cores, so every num_cores gives bit-identical results (invariant 6).
 *    No two cores write the same byte. core_id outside [0, num_cores) or
 *    num_cores <= 0 does nothing.
 *  - Floating point: only +, -, *, / and sqrt, each rounded to fp32 per operation
 *    (build with -ffp-contract=off, no fast-math). No libm, no allocation, no
 *    double arithmetic. Results are bit-identical on every IEEE-754 target except
 *    for NaN payloads/signs, which hardware chooses.
 *  - Reductions ("sum over ...") start from +0.0f and add terms in the order the
 *    kernel documents; with accumulate = 1 the finished sum is then added once to
 *    the existing value (dst = dst + sum), so accumulating equals
 *    old + (result with accumulate = 0), bit for bit.
 *  - Outputs must not alias inputs unless the kernel says so.
 */
#ifndef SPARROW_KERNELS_H
#define SPARROW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sparrow_kernels_tuning.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ conv2d */

/** Shape of a 2-D convolution, batch 1, HWC. out_h/out_w are computed by the
 *  caller (bottom/right padding is whatever makes them fit); taps that fall
 *  outside the input are skipped (zero padding). groups divides in_c and out_c;
 *  in_c == out_c == groups selects the depthwise layout. */
typedef struct {
  int in_h, in_w, in_c;        /* input HWC */
  int out_h, out_w, out_c;     /* output HWC (the caller computes them) */
  int k_h, k_w, stride_h, stride_w, pad_top, pad_left;
  int groups;                  /* 1 = ordinary; in_c == out_c == groups = depthwise */
} sp_conv2d_shape;

/** Floats of scratch that any of the conv kernels (forward, input gradient,
 *  weight gradient, fused weight update) needs for num_cores cores (0 for
 *  depthwise). The kernels split it into equal per-core chunks. Today only the
 *  ordinary/grouped forward uses it: k_h*k_w*(in_c/groups)*16 floats per core
 *  (the weights of 16 output channels, interleaved). Passing scratch = NULL is
 *  allowed and gives bit-identical results, only slower. */
size_t sp_conv2d_scratch_floats(const sp_conv2d_shape *s, int num_cores);

/** y[oh][ow][oc] = b[oc] + sum over (kh, kw, ic) in that order of
 *  x[oh*sh-pt+kh][ow*sw-pl+kw][ic] * w[oc][kh][kw][ic] (taps outside x skipped).
 *  Weights: [out_c][k_h][k_w][in_c/groups]; depthwise [k_h][k_w][c].
 *  b may be NULL (then the sum starts from +0). Split over output pixels. */
void sp_conv2d_fwd_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                       float *y, float *scratch, int core_id, int num_cores);

/** dx (overwritten) = gradient of sum(dy * y) with respect to x: for each input
 *  element, the sum over the output positions (oh, ow ascending) that read it and,
 *  within one position, over oc ascending. Split over input pixels. */
void sp_conv2d_bwd_input_f32(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                             float *scratch, int core_id, int num_cores);

/** dw (+)= gradient with respect to w: for each weight, the sum over output
 *  positions (oh, ow ascending) of x[tap] * dy. accumulate: 0 overwrite, 1 add. */
void sp_conv2d_bwd_weight_f32(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                              int accumulate, float *scratch, int core_id, int num_cores);

/** db[c] (+)= sum over p = 0..positions-1 of dy[p][c]. Used for conv and for
 *  linear (positions = 1). Split over channels. */
void sp_bias_grad_f32(int positions, int channels, const float *dy, float *db, int accumulate,
                      int core_id, int num_cores);

/* ------------------------------------------------------------------ linear */

/** y[o] = b[o] + sum over i ascending of w[o][i] * x[i]; w is [out][in] (PyTorch
 *  order), b may be NULL. Bit-identical to a 1x1 conv on a 1x1xin input.
 *  Split over outputs. */
void sp_linear_fwd_f32(int in_features, int out_features, const float *x, const float *w,
                       const float *b, float *y, int core_id, int num_cores);
/** dx[i] (overwritten) = sum over o ascending of dy[o] * w[o][i]. Split over inputs. */
void sp_linear_bwd_input_f32(int in_features, int out_features, const float *dy, const float *w,
                             float *dx, int core_id, int num_cores);
/** dw[o][i] (+)= dy[o] * x[i] (one term, added to +0 first). Split over rows o. */
void sp_linear_bwd_weight_f32(int in_features, int out_features, const float *x, const float *dy,
                              float *dw, int accumulate, int core_id, int num_cores);

/* ------------------------------------------------------------- elementwise */
/* n elements; y may alias x, a or b (in place). Split over elements. */

/** y = a + b. */
void sp_add_f32(int n, const float *a, const float *b, float *y, int core_id, int num_cores);
/** y = x < 0 ? 0 : x (NaN propagates, -0 stays -0). */
void sp_relu_f32(int n, const float *x, float *y, int core_id, int num_cores);
/** y = x < 0 ? 0 : (x > 6 ? 6 : x) (NaN propagates). */
void sp_relu6_f32(int n, const float *x, float *y, int core_id, int num_cores);
/** Bit i (byte i/8, bit i%8, LSB first) = x[i] > 0; unused high bits of the last
 *  byte are 0. mask holds (n+7)/8 bytes; cores split it in whole bytes. */
void sp_relu_mask(int n, const float *x, uint8_t *mask, int core_id, int num_cores);
/** Like sp_relu_mask with bit = 0 < x[i] < 6. */
void sp_relu6_mask(int n, const float *x, uint8_t *mask, int core_id, int num_cores);
/** dx = bit ? dy : 0; dx may alias dy. */
void sp_mask_grad_f32(int n, const float *dy, const uint8_t *mask, float *dx, int core_id,
                      int num_cores);

/* ------------------------------------------------------------------ pooling */

/** Pooling window, batch 1, HWC, c channels; out_h/out_w computed by the caller. */
typedef struct {
  int in_h, in_w, c, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_top, pad_left;
} sp_pool_shape;

/** y = max over the window's in-bounds taps (kh, kw row-major); argmax (nullable)
 *  gets the tap index kh*k_w+kw of the first maximum, so k_h*k_w must be <= 255.
 *  Padded taps never win. A NaN in the window wins (the first NaN). A window with
 *  no in-bounds tap gives y = -inf, argmax = 255. Split over output pixels. */
void sp_maxpool_fwd_f32(const sp_pool_shape *s, const float *x, float *y, uint8_t *argmax,
                        int core_id, int num_cores);
/** dx (overwritten) = sum of dy over the windows (oh, ow ascending) whose argmax
 *  is this input element. Gathered per input element: split over input pixels. */
void sp_maxpool_bwd_f32(const sp_pool_shape *s, const float *dy, const uint8_t *argmax, float *dx,
                        int core_id, int num_cores);
/** y = (sum over in-bounds taps, row-major) / (k_h*k_w): padding counts in the
 *  divisor (PyTorch count_include_pad=True). Split over output pixels. */
void sp_avgpool_fwd_f32(const sp_pool_shape *s, const float *x, float *y, int core_id,
                        int num_cores);
/** dx (overwritten) = (sum of dy over covering windows, oh, ow ascending) / (k_h*k_w). */
void sp_avgpool_bwd_f32(const sp_pool_shape *s, const float *dy, float *dx, int core_id,
                        int num_cores);
/** y[c] = (sum over p ascending of x[p][c]) / positions. Split over channels. */
void sp_global_avgpool_fwd_f32(int positions, int channels, const float *x, float *y, int core_id,
                               int num_cores);
/** dx[p][c] = dy[c] / positions. Split over positions. */
void sp_global_avgpool_bwd_f32(int positions, int channels, const float *dy, float *dx,
                               int core_id, int num_cores);

/* ------------------------------------------------------------------- losses */
/* Scalar outputs: core 0 does all the work, the other cores return at once. */

/** loss = log(sum exp(z - max z)) - (z[label] - max z). A label outside
 *  [0, classes) gives NaN. */
void sp_softmax_ce_fwd_f32(int classes, const float *logits, const int32_t *label, float *loss,
                           int core_id, int num_cores);
/** dlogits = softmax(z) - onehot(label). A bad label gives NaN everywhere. */
void sp_softmax_ce_bwd_f32(int classes, const float *logits, const int32_t *label, float *dlogits,
                           int core_id, int num_cores);
/** loss = (sum over i ascending of (p - t)^2) / n. */
void sp_mse_fwd_f32(int n, const float *pred, const float *target, float *loss, int core_id,
                    int num_cores);
/** dpred = (2 (p - t)) / n; split over elements. */
void sp_mse_bwd_f32(int n, const float *pred, const float *target, float *dpred, int core_id,
                    int num_cores);

/* --------------------------------------------------------------- optimizers */
/* In place, split over elements. Every update first forms g' = g * grad_scale
 * (grad_scale = 1/batch), then, when weight_decay != 0, g' = g' + weight_decay * w
 * (L2, PyTorch style). State buffers (velocity, m, v) start at zero. A NULL w or
 * state buffer makes the kernel do nothing. The fused kernels below apply the
 * same per-element formulas. */

/** w = w - lr * g'. */
void sp_sgd_f32(int n, float *w, const float *g, float lr, float weight_decay, float grad_scale,
                int core_id, int num_cores);
/** PyTorch SGD with momentum, dampening 0, no Nesterov: v = mu*v + g'; w = w - lr*v. */
void sp_sgd_momentum_f32(int n, float *w, const float *g, float *velocity, float lr,
                         float momentum, float weight_decay, float grad_scale, int core_id,
                         int num_cores);
/** PyTorch Adam (no amsgrad), in PyTorch's operation order:
 *  m = lerp(m, g', 1-beta1) (m + (1-beta1)(g' - m) when 1-beta1 < 0.5, else
 *  g' - (g' - m) beta1'), v = beta2 v + ((1-beta2) g') g',
 *  w = w - (lr / bias_correction1) * (m / (sqrt(v) / sqrt(bias_correction2) + eps)),
 *  with bias_correction_k = 1 - beta_k^t computed by the caller (t = step, from 1)
 *  and beta1' = 1 - (1 - beta1). */
void sp_adam_f32(int n, float *w, const float *g, float *m, float *v, float lr, float beta1,
                 float beta2, float eps, float bias_correction1, float bias_correction2,
                 float weight_decay, float grad_scale, int core_id, int num_cores);

/* ------------------------------------------------- fused gradient + update
 * On batch-1 training an update can run as soon as each gradient element is
 * known, so the gradient tensor never exists in memory. These kernels compute
 * the weight (bias) gradient exactly as the plain kernel does with
 * accumulate = 0 — same split over cores, same summation order — and, instead
 * of storing an element, apply the optimizer update to it right away, with the
 * per-element formula of sp_sgd_f32 / sp_sgd_momentum_f32 / sp_adam_f32 (one
 * source of it in the library). So for every element and every num_cores the
 * results (w, m, v) equal, bit for bit, the plain gradient kernel into a buffer
 * followed by the matching optimizer kernel with the same hyper-parameters.
 * A core updates only the elements whose gradient it computes; an element's
 * update runs after its gradient is complete. Nothing else in the kernel reads
 * the parameter, so u->w must not alias x or dy (run the input gradient, which
 * reads w, before these). u->w, u->m, u->v must not overlap each other.
 * An invalid u (NULL, w NULL, m NULL for momentum, m or v NULL for Adam, an
 * unknown kind) makes the kernel do nothing. */

/** How to apply an update in place; mirrors sp_sgd_f32 / sp_sgd_momentum_f32 / sp_adam_f32. */
typedef enum { SP_UPDATE_SGD = 0, SP_UPDATE_MOMENTUM = 1, SP_UPDATE_ADAM = 2 } sp_update_kind;
typedef struct {
  sp_update_kind kind;
  float *w;            /* the parameter, updated in place (same layout as the gradient) */
  float *m, *v;        /* momentum velocity (m) / Adam moments (m, v); NULL when unused */
  float lr, weight_decay, grad_scale, momentum, beta1, beta2, eps, bias_correction1, bias_correction2;
  /* SGD reads lr, weight_decay, grad_scale; momentum also momentum; Adam also
   * beta1, beta2, eps, bias_correction1, bias_correction2 (as sp_adam_f32). */
} sp_update;

/** sp_conv2d_bwd_weight_f32 (accumulate = 0) fused with the update u of the conv
 *  weight ([out_c][k_h][k_w][in_c/groups]; depthwise [k_h][k_w][c]; u->m, u->v
 *  the same layout). Ordinary, grouped and depthwise shapes. Each weight's
 *  gradient is +0 then + x[tap] * dy over output positions (oh, ow ascending),
 *  as in the plain kernel. Same split as the plain kernel: over taps
 *  (kh, kw, ic-in-group) for ordinary/grouped convs (a core updates w[oc][tap]
 *  for every oc of its taps), over (tap, block of 16 channels) items for
 *  depthwise. scratch is not used (NULL is fine): a block's sums are staged in
 *  a fixed-size local array; sp_conv2d_scratch_floats covers this kernel. */
void sp_conv2d_bwd_weight_update_f32(const sp_conv2d_shape *s, const float *x, const float *dy,
                                     const sp_update *u, float *scratch, int core_id, int num_cores);
/** sp_linear_bwd_weight_f32 (accumulate = 0) fused with the update u of w
 *  [out][in]: gradient +0 + x[i]*dy[o]. Split over rows o. */
void sp_linear_bwd_weight_update_f32(int in_features, int out_features, const float *x,
                                     const float *dy, const sp_update *u, int core_id, int num_cores);
/** sp_bias_grad_f32 (accumulate = 0) fused with the update u of the bias
 *  [channels]: gradient = sum over p ascending of dy[p][c]. Split over channels. */
void sp_bias_grad_update_f32(int positions, int channels, const float *dy, const sp_update *u,
                             int core_id, int num_cores);

/* ------------------------------------------------------- channel selection */

/** x_sel[p][j] = x[p][sel[j]] for p < positions, j < k: the input channels a
 *  partial-channel weight update needs. sel ascending, each < channels. Split
 *  over positions; a pure copy, so any split gives the same bytes. */
void sp_gather_channels_f32(int positions, int channels, const float *x, const int32_t *sel, int k,
                            float *x_sel, int core_id, int num_cores);

/* ------------------------------------------------------ split weights
 * A partially trained weight lives in two tensors: the full weight w (frozen,
 * in flash; its values for the selected channels are ignored) and w_sel, which
 * holds the selected input channels sel[0..k) (ascending) in the same layout
 * with k instead of C input channels ([out_c][k_h][k_w][k] for a conv, [k_h][k_w][k]
 * for a depthwise conv, [out][k] for a linear). These kernels compute exactly
 * what the plain kernels compute on the merged weight, in the same operation
 * order, so the bits are the same; they trade speed for never materialising the
 * merged weight (no SRAM beyond the trainable slice). groups must be 1 or
 * depthwise. Same splitting over cores as the plain kernels. */

void sp_conv2d_fwd_split_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores);
void sp_conv2d_bwd_input_split_f32(const sp_conv2d_shape *s, const float *dy, const float *w, const float *w_sel,
                                   const int32_t *sel, int k, float *dx, int core_id, int num_cores);
void sp_linear_fwd_split_f32(int in_features, int out_features, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores);
void sp_linear_bwd_input_split_f32(int in_features, int out_features, const float *dy, const float *w,
                                   const float *w_sel, const int32_t *sel, int k, float *dx, int core_id, int num_cores);

/* --------------------------------------------------------------------- math */

/** e^x from fp32 +,-,*,/ and bit manipulation only (no libm, no double), so
 *  every platform gets the same bits. Max error 1.03 ulp over all floats
 *  (checked exhaustively; subnormal results included). exp(-inf) = 0,
 *  overflow -> +inf, NaN -> NaN. */
float sp_expf(float x);
/** Natural log, same rules; max error 0.96 ulp over all floats (exhaustive).
 *  log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, log(1) = +0. */
float sp_logf(float x);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_H */
