/*
 * conv_backward.c — input and weight gradients of the ordinary/grouped conv
 * (depthwise is in depthwise.c).
 *
 * Input gradient: split over input pixels. Each dx element is gathered by the
 * core that owns its pixel, as the sum over the output positions that read it
 * (oh, ow ascending) and over the group's output channels (oc ascending). No
 * scatter, so no two cores ever add into the same element.
 *
 * Weight gradient: split over taps k = (kh, kw, ic-in-group); a core computes
 * dw[oc][k] for every oc of its taps, each as the sum over output positions
 * (oh, ow ascending) of x * dy. The reduction over positions is never split.
 *
 * Both inner loops run over SP_VB independent lanes (input channels for dx,
 * output channels for dw) that are contiguous in HWC memory, so the compiler
 * can vectorise them without reordering any sum.
 */
#include "sp_internal.h"

/* dx for nb (<= SP_VB) input channels icb.. of group g at pixel (ih, iw).
 * Called with nb == SP_VB as a constant for the register-resident fast path. */
SP_BLOCK void bwd_input_block(const sp_conv2d_shape *s, const float *dy, const float *w,
                                   float *dxp, int ih, int iw, int g, int icb, int nb) {
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  size_t taps = (size_t)s->k_h * s->k_w * icg;
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
  const float *wg = w + (size_t)g * ocg * taps + icb;
  for (int oh = oh0; oh < oh1; oh++) {
    int kh = ih + s->pad_top - oh * s->stride_h;
    for (int ow = ow0; ow < ow1; ow++) {
      int kw = iw + s->pad_left - ow * s->stride_w;
      const float *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c + (size_t)g * ocg;
      const float *wp = wg + (size_t)(kh * s->k_w + kw) * icg;
      for (int oc = 0; oc < ocg; oc++) {
        float dv = dyp[oc];
        const float *wr = wp + (size_t)oc * taps;
        for (int j = 0; j < nb; j++) acc[j] += dv * wr[j];
      }
    }
  }
  for (int j = 0; j < nb; j++) dxp[j] = acc[j];
}

void sp_conv2d_bwd_input_f32(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                             float *scratch, int core_id, int num_cores) {
  (void)scratch;
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_bwd_input(s, dy, w, dx, core_id, num_cores);
    return;
  }
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  int icg = s->in_c / s->groups;
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    for (int g = 0; g < s->groups; g++) {
      for (int icb = 0, nb; icb < icg; icb += nb) {
        float *dxp = dx + (size_t)p * s->in_c + (size_t)g * icg + icb;
        nb = sp_block_width(icg - icb);
        switch (nb) {
          case 16: bwd_input_block(s, dy, w, dxp, ih, iw, g, icb, 16); break;
          case 8: bwd_input_block(s, dy, w, dxp, ih, iw, g, icb, 8); break;
          case 4: bwd_input_block(s, dy, w, dxp, ih, iw, g, icb, 4); break;
          default: bwd_input_block(s, dy, w, dxp, ih, iw, g, icb, nb); break;
        }
      }
    }
  }
}

/* dw[oc][k] for nb (<= SP_VB) output channels oc0.. of one group; tap k is
 * (kh, kw) on input channel ic. */
SP_BLOCK void bwd_weight_block(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                               int accumulate, int k, int kh, int kw, int ic, int oc0, int nb) {
  size_t taps = (size_t)s->k_h * s->k_w * (s->in_c / s->groups);
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      float xv = x[((size_t)ih * s->in_w + iw) * s->in_c + ic];
      const float *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c + oc0;
      for (int j = 0; j < nb; j++) acc[j] += xv * dyp[j];
    }
  }
  float *dst = dw + (size_t)oc0 * taps + (size_t)k;
  for (int j = 0; j < nb; j++) {
    float *d = dst + (size_t)j * taps;
    *d = accumulate ? *d + acc[j] : acc[j];
  }
}

void sp_conv2d_bwd_weight_f32(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                              int accumulate, float *scratch, int core_id, int num_cores) {
  (void)scratch;
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_bwd_weight(s, x, dy, dw, accumulate, core_id, num_cores);
    return;
  }
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  int lo, hi;
  sp_core_range(taps, 1, core_id, num_cores, &lo, &hi);
  for (int k = lo; k < hi; k++) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    for (int g = 0; g < s->groups; g++) {
      int ic = g * icg + icl;
      for (int o0 = 0, nb; o0 < ocg; o0 += nb) {
        int oc0 = g * ocg + o0;
        nb = sp_block_width(ocg - o0);
        switch (nb) {
          case 16: bwd_weight_block(s, x, dy, dw, accumulate, k, kh, kw, ic, oc0, 16); break;
          case 8: bwd_weight_block(s, x, dy, dw, accumulate, k, kh, kw, ic, oc0, 8); break;
          case 4: bwd_weight_block(s, x, dy, dw, accumulate, k, kh, kw, ic, oc0, 4); break;
          default: bwd_weight_block(s, x, dy, dw, accumulate, k, kh, kw, ic, oc0, nb); break;
        }
      }
    }
  }
}
