/*
 * sparrow_kernels_int8_fused.h — fused int8 QAS training kernels: the fp32
 * weight (bias) gradient computed from the int8 tensors the forward saved,
 * with the QAS SGD update applied to each int8 weight (int32 bias) as soon as
 * its gradient is known, so the gradient tensor never exists in memory (the
 * int8 counterpart of sparrow_kernels.h's "fused gradient + update" kernels).
 * Same contract as sparrow_kernels_int8.h: HWC batch 1, (core_id, num_cores)
 * fork-join slices, no libm, no allocation, no double.
 *
 * Each kernel computes the gradient exactly as the plain kernel named below
 * does with accumulate = 0 — same split over cores, same dequantization, same
 * summation order from +0 — and, instead of storing an element, applies the
 * QAS update to it right away with the per-element formula of
 * sp_sgd_qas_int8 / sp_sgd_qas_bias_int32 (one source of it in the library).
 * So for every element and EVERY num_cores the resulting bytes of w (b) equal,
 * bit for bit, the plain gradient kernel into an fp32 buffer followed by the
 * QAS update kernel with the same arguments:
 *
 *   sp_conv2d_bwd_weight_qas_int8 ==
 *     sp_conv2d_bwd_weight_int8x_f32(s, x, x_scale, x_zero_point, dy, g, 0, ..)
 *     then sp_sgd_qas_int8(n, channel_stride, channels, w, g, w_step, lr, grad_scale, ..)
 *     with ordinary/grouped [out_c][k_h][k_w][in_c/groups]:
 *       n = out_c*k_h*k_w*(in_c/groups), channel_stride = k_h*k_w*(in_c/groups), channels = out_c;
 *     depthwise [k_h][k_w][c]: n = k_h*k_w*c, channel_stride = 1, channels = c.
 *   sp_linear_bwd_weight_qas_int8 ==
 *     sp_linear_bwd_weight_int8x_f32(in, out, x, x_scale, x_zero_point, dy, g, 0, ..)
 *     then sp_sgd_qas_int8(in*out, in, out, w, g, w_step, lr, grad_scale, ..).
 *   sp_bias_grad_qas_int32 ==
 *     sp_bias_grad_f32(positions, channels, dy, g, 0, ..)
 *     then sp_sgd_qas_bias_int32(channels, b, g, x_scale, w_step, lr, grad_scale, ..).
 *
 * w_step is the per-output-channel step the QAS kernels call w_scale; any
 * positive finite values are allowed (e.g. other step arrays to express a
 * non-QAS update). A core updates only the elements whose gradient it
 * computes, after that gradient is complete; no two cores write the same
 * byte. Nothing else in the kernel reads the parameter, so w (b) must not
 * overlap x, dy or w_step (run the input gradient, which reads w, before
 * these). A NULL pointer argument or groups <= 0 does nothing.
 */
#ifndef SPARROW_KERNELS_INT8_FUSED_H
#define SPARROW_KERNELS_INT8_FUSED_H

#include <stddef.h>
#include <stdint.h>

#include "sparrow_kernels_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/** sp_conv2d_bwd_weight_int8x_f32 (accumulate = 0) fused with sp_sgd_qas_int8
 *  on the int8 conv weight w (ordinary, grouped, depthwise layouts as
 *  sp_conv2d_shape; w_step[out_c]). Each weight's gradient is +0 then
 *  x_real[tap] * dy over the output positions (oh, ow ascending), x_real =
 *  (float)(x - x_zero_point) * x_scale. Split as the plain kernel: over taps
 *  (kh, kw, ic-in-group) for ordinary/grouped (a core updates w[oc][tap] for
 *  every oc of its taps), over (tap, block of 16 channels) items for depthwise. */
void sp_conv2d_bwd_weight_qas_int8(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                   int32_t x_zero_point, const float *dy, int8_t *w,
                                   const float *w_step, float lr, float grad_scale, int core_id,
                                   int num_cores);

/** sp_linear_bwd_weight_int8x_f32 (accumulate = 0) fused with sp_sgd_qas_int8 on
 *  w [out][in] (w_step[out]): gradient 0 + x_real[i] * dy[o]. Split over rows o. */
void sp_linear_bwd_weight_qas_int8(int in_features, int out_features, const int8_t *x,
                                   float x_scale, int32_t x_zero_point, const float *dy, int8_t *w,
                                   const float *w_step, float lr, float grad_scale, int core_id,
                                   int num_cores);

/** sp_bias_grad_f32 (accumulate = 0) fused with sp_sgd_qas_bias_int32 on the
 *  int32 bias b [channels] (bias step x_scale * w_step[c]): gradient = +0 then
 *  dy[p][c] over p ascending. Split over channels. */
void sp_bias_grad_qas_int32(int positions, int channels, const float *dy, int32_t *b,
                            float x_scale, const float *w_step, float lr, float grad_scale,
                            int core_id, int num_cores);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_INT8_FUSED_H */
