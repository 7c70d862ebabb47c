/*
 * int8_fused_update.c — fp32 weight / bias gradients from int8 tensors fused
 * with the QAS SGD update of the int8 weights / int32 biases
 * (sparrow_kernels_int8_fused.h).
 *
 * The gradients are the ones int8_backward.c (sp_conv2d_bwd_weight_int8x_f32,
 * sp_linear_bwd_weight_int8x_f32) and bias.c (sp_bias_grad_f32) compute with
 * accumulate = 0: the same work items per core, and for each element the same
 * operations — x_real = (float)(x - zx) * s_x (one fp32 multiply), then +0
 * and x_real * dy added over the output positions (oh, ow ascending). Where
 * the plain kernels store a finished sum, these hand it to the per-element
 * QAS update of sp_qas.h, the one that sp_sgd_qas_int8 / sp_sgd_qas_bias_int32
 * run, so the bytes equal the two-kernel sequence for every num_cores.
 *
 * A conv block runs SP_VB independent lanes side by side (output channels of
 * one tap, or depthwise channels of one tap), contiguous in HWC memory, which
 * lets the compiler vectorise without reordering any sum; the ordinary /
 * grouped block dequantizes each x once for all its lanes (the same value the
 * plain kernel computes per lane: the operation is deterministic).
 */
#include "sp_internal.h"
#include "sp_qas.h"
#include "sparrow_kernels_int8_fused.h"

static inline float deq_x(int8_t q, int32_t zp, float scale) {
  return (float)((int32_t)q - zp) * scale;
}

/* Finished gradients g[0..nb) of nb (<= SP_VB) weights at tap (kh, kw): lane j
 * reads x channel xc0 + j*xlane and dy channel oc0 + j, each sum +0 then
 * x_real * dy over the output positions (oh, ow ascending) whose tap is in
 * bounds. xlane is 0 (ordinary / grouped: one input channel, nb output
 * channels) or 1 (depthwise: channel c0 + j on both sides); nb and xlane are
 * literals at every call. */
SP_BLOCK void weight_grad_block(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                int32_t x_zero_point, const float *dy, int kh, int kw, int xc0,
                                int xlane, int oc0, int nb, float *g) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      const int8_t *xp = x + ((size_t)ih * s->in_w + (size_t)iw) * s->in_c + (size_t)xc0;
      const float *d = dy + ((size_t)oh * s->out_w + (size_t)ow) * s->out_c + (size_t)oc0;
      if (xlane == 0) {
        float xv = deq_x(xp[0], x_zero_point, x_scale);
        for (int j = 0; j < nb; j++) acc[j] += xv * d[j];
      } else {
        for (int j = 0; j < nb; j++) acc[j] += deq_x(xp[j], x_zero_point, x_scale) * d[j];
      }
    }
  }
  /* A fixed count: acc is never addressed and stays in registers. */
  for (int j = 0; j < SP_VB; j++) g[j] = acc[j];
}

/* weight_grad_block with nb a literal for the full-width sizes. */
SP_BLOCK void weight_grad_dispatch(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                   int32_t x_zero_point, const float *dy, int kh, int kw, int xc0,
                                   int xlane, int oc0, int nb, float *g) {
  switch (nb) {
    case 16: weight_grad_block(s, x, x_scale, x_zero_point, dy, kh, kw, xc0, xlane, oc0, 16, g); break;
    case 8: weight_grad_block(s, x, x_scale, x_zero_point, dy, kh, kw, xc0, xlane, oc0, 8, g); break;
    case 4: weight_grad_block(s, x, x_scale, x_zero_point, dy, kh, kw, xc0, xlane, oc0, 4, g); break;
    default: weight_grad_block(s, x, x_scale, x_zero_point, dy, kh, kw, xc0, xlane, oc0, nb, g); break;
  }
}

void sp_conv2d_bwd_weight_qas_int8(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                   int32_t x_zero_point, const float *dy, int8_t *w,
                                   const float *w_step, float lr, float grad_scale, int core_id,
                                   int num_cores) {
  if (s == NULL || x == NULL || dy == NULL || w == NULL || w_step == NULL || s->groups <= 0)
    return;
  float g[SP_VB];
  int lo, hi;
  if (sp_conv_is_depthwise(s)) {
    /* Items (tap, block of SP_VB channels), as sp_conv2d_bwd_weight_int8x_f32;
     * w[tap][c], step index c. */
    int c = s->in_c, blocks = (c + SP_VB - 1) / SP_VB;
    sp_core_range(s->k_h * s->k_w * blocks, 1, core_id, num_cores, &lo, &hi);
    for (int item = lo; item < hi; item++) {
      int tap = item / blocks, c0 = (item % blocks) * SP_VB, nb = sp_min(c - c0, SP_VB);
      weight_grad_dispatch(s, x, x_scale, x_zero_point, dy, tap / s->k_w, tap % s->k_w, c0, 1,
                           c0, nb, g);
      int8_t *wp = w + (size_t)tap * c + (size_t)c0;
      for (int j = 0; j < nb; j++)
        sp_qas_update_weight(wp + j, g[j], w_step[c0 + j], lr, grad_scale);
    }
    return;
  }
  /* Taps k = (kh, kw, ic-in-group), every oc of every group, as the plain
   * kernel; w[oc][k], step index oc. */
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  sp_core_range(taps, 1, core_id, num_cores, &lo, &hi);
  for (int k = lo; k < hi; k++) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    for (int grp = 0; grp < s->groups; grp++) {
      int ic = grp * icg + icl;
      for (int o0 = 0, nb; o0 < ocg; o0 += nb) {
        int oc0 = grp * ocg + o0;
        nb = sp_block_width(ocg - o0);
        weight_grad_dispatch(s, x, x_scale, x_zero_point, dy, kh, kw, ic, 0, oc0, nb, g);
        int8_t *wp = w + (size_t)oc0 * taps + (size_t)k;
        for (int j = 0; j < nb; j++)
          sp_qas_update_weight(wp + (size_t)j * taps, g[j], w_step[oc0 + j], lr, grad_scale);
      }
    }
  }
}

void sp_linear_bwd_weight_qas_int8(int in_features, int out_features, const int8_t *x,
                                   float x_scale, int32_t x_zero_point, const float *dy, int8_t *w,
                                   const float *w_step, float lr, float grad_scale, int core_id,
                                   int num_cores) {
  if (x == NULL || dy == NULL || w == NULL || w_step == NULL) return;
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    float d = dy[o], step = w_step[o];
    int8_t *row = w + (size_t)o * in_features;
    for (int i = 0; i < in_features; i++) {
      float term = 0.0f + deq_x(x[i], x_zero_point, x_scale) * d;
      sp_qas_update_weight(row + i, term, step, lr, grad_scale);
    }
  }
}

/* Bias gradients of channels c0..c0+nb-1 (nb <= SP_VB, a literal for the
 * full-width sizes): +0 then dy[p][c] over p ascending, as sp_bias_grad_f32;
 * each finished sum goes to the QAS bias update. */
SP_BLOCK void bias_block(int positions, int channels, const float *dy, int32_t *b, float x_scale,
                         const float *w_step, float lr, float grad_scale, int c0, int nb) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  for (int p = 0; p < positions; p++) {
    const float *row = dy + (size_t)p * channels + c0;
    for (int j = 0; j < nb; j++) acc[j] += row[j];
  }
  float g[SP_VB];
  for (int j = 0; j < SP_VB; j++) g[j] = acc[j];
  for (int j = 0; j < nb; j++)
    sp_qas_update_bias(b + c0 + j, g[j], x_scale, w_step[c0 + j], lr, grad_scale);
}

void sp_bias_grad_qas_int32(int positions, int channels, const float *dy, int32_t *b,
                            float x_scale, const float *w_step, float lr, float grad_scale,
                            int core_id, int num_cores) {
  if (dy == NULL || b == NULL || w_step == NULL) return;
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int c0 = lo, nb; c0 < hi; c0 += nb) {
    nb = sp_block_width(hi - c0);
    switch (nb) {
      case 16: bias_block(positions, channels, dy, b, x_scale, w_step, lr, grad_scale, c0, 16); break;
      case 8: bias_block(positions, channels, dy, b, x_scale, w_step, lr, grad_scale, c0, 8); break;
      case 4: bias_block(positions, channels, dy, b, x_scale, w_step, lr, grad_scale, c0, 4); break;
      default: bias_block(positions, channels, dy, b, x_scale, w_step, lr, grad_scale, c0, nb); break;
    }
  }
}
