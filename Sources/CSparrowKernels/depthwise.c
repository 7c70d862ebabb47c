/*
 * depthwise.c — depthwise conv (groups == in_c == out_c, weights [k_h][k_w][c]),
 * reached through the sp_conv2d_* entry points.
 *
 * Every loop's innermost dimension is the channel, contiguous in HWC activations
 * and in the weights, and each channel is an independent output element, so it
 * vectorises without reordering any sum.
 *
 * Split: forward over output pixels, input gradient over input pixels (gathered:
 * sum over covering output positions, oh, ow ascending), weight gradient over
 * (tap, block of SP_VB channels) items, each a sum over output positions (oh, ow
 * ascending). One core computes each element completely, in an order that does
 * not depend on the number of cores. The fused weight gradient + update runs
 * the same items and applies the update to each finished block of sums instead
 * of storing it.
 */
#include "sp_internal.h"

/* Calls BLOCK(..., nb) for the channel blocks [c0, c0 + nb) of c channels, with
 * nb a literal for the full-width sizes so that block keeps its lanes in
 * registers. */
#define DW_BLOCKS(c, BLOCK, ...)                                    \
  for (int c0 = 0, nb; c0 < (c); c0 += nb) {                        \
    nb = sp_block_width((c) - c0);                                  \
    switch (nb) {                                                   \
      case 16: BLOCK(__VA_ARGS__, c0, 16); break;                   \
      case 8: BLOCK(__VA_ARGS__, c0, 8); break;                     \
      case 4: BLOCK(__VA_ARGS__, c0, 4); break;                     \
      default: BLOCK(__VA_ARGS__, c0, nb); break;                   \
    }                                                               \
  }

/* Output pixel (oh, ow), channels c0..c0+nb-1: bias, then taps (kh, kw) ascending. */
SP_BLOCK void dw_fwd_block(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                           float *yp, int oh, int ow, int c0, int nb) {
  int c = s->out_c;
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = (b != NULL && j < nb) ? b[c0 + j] : 0.0f;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xp = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c + c0;
      const float *wp = w + (size_t)(kh * s->k_w + kw) * c + c0;
      for (int j = 0; j < nb; j++) acc[j] += xp[j] * wp[j];
    }
  }
  for (int j = 0; j < nb; j++) yp[c0 + j] = acc[j];
}

SP_BLOCK void dw_fwd(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                     float *y, int core_id, int num_cores) {
  int c = s->out_c, lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    float *yp = y + (size_t)p * c;
    DW_BLOCKS(c, dw_fwd_block, s, x, w, b, yp, oh, ow)
  }
}

SP_VARIANTS(dw_fwd,
            (const sp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y,
             int core_id, int num_cores),
            (s, x, w, b, y, core_id, num_cores),
            (s, x, w, b, y, core_id, num_cores))

void sp_dwconv_fwd(const sp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y,
                   int core_id, int num_cores) {
  SP_CALL_BEST(dw_fwd, (s, x, w, b, y, core_id, num_cores));
}

/* Input pixel (ih, iw), channels c0..c0+nb-1: +0, then the covering output
 * positions (oh, ow) ascending. */
SP_BLOCK void dw_bwd_input_block(const sp_conv2d_shape *s, const float *dy, const float *w,
                                 float *dxp, int ih, int iw, int c0, int nb) {
  int c = s->in_c;
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
  for (int oh = oh0; oh < oh1; oh++) {
    int kh = ih + s->pad_top - oh * s->stride_h;
    for (int ow = ow0; ow < ow1; ow++) {
      int kw = iw + s->pad_left - ow * s->stride_w;
      const float *dyp = dy + ((size_t)oh * s->out_w + ow) * c + c0;
      const float *wp = w + (size_t)(kh * s->k_w + kw) * c + c0;
      for (int j = 0; j < nb; j++) acc[j] += dyp[j] * wp[j];
    }
  }
  for (int j = 0; j < nb; j++) dxp[c0 + j] = acc[j];
}

SP_BLOCK void dw_bwd_input(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                           int core_id, int num_cores) {
  int c = s->in_c, lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    float *dxp = dx + (size_t)p * c;
    DW_BLOCKS(c, dw_bwd_input_block, s, dy, w, dxp, ih, iw)
  }
}

SP_VARIANTS(dw_bwd_input,
            (const sp_conv2d_shape *s, const float *dy, const float *w, float *dx, int core_id,
             int num_cores),
            (s, dy, w, dx, core_id, num_cores),
            (s, dy, w, dx, core_id, num_cores))

void sp_dwconv_bwd_input(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                         int core_id, int num_cores) {
  SP_CALL_BEST(dw_bwd_input, (s, dy, w, dx, core_id, num_cores));
}

/* dw[tap][c0..c0+nb-1] (+)= sum over the tap's output positions (oh, ow
 * ascending); with fused (a literal) = 1, the update uk is applied to
 * w[tap][c0..c0+nb-1] with those sums instead (dw unused). */
SP_BLOCK void dw_bwd_weight_block(const sp_conv2d_shape *s, const float *x, const float *dy,
                                  float *dw, int accumulate, const sp_update_step *uk, int fused,
                                  int tap, int c0, int nb) {
  int c = s->in_c;
  int kh = tap / s->k_w, kw = tap % s->k_w;
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      const float *xp = x + ((size_t)ih * s->in_w + iw) * c + c0;
      const float *dyp = dy + ((size_t)oh * s->out_w + ow) * c + c0;
      for (int j = 0; j < nb; j++) acc[j] += xp[j] * dyp[j];
    }
  }
  if (fused) {
    /* Copied out whole (a fixed count) so that acc is never addressed and
     * stays in registers. */
    float g[SP_VB];
    for (int j = 0; j < SP_VB; j++) g[j] = acc[j];
    sp_update_run(uk, (size_t)tap * c + c0, g, nb);
    return;
  }
  float *d = dw + (size_t)tap * c + c0;
  for (int j = 0; j < nb; j++) d[j] = accumulate ? d[j] + acc[j] : acc[j];
}

SP_BLOCK void dw_bwd_weight_body(const sp_conv2d_shape *s, const float *x, const float *dy,
                                 float *dw, int accumulate, const sp_update_step *uk, int fused,
                                 int core_id, int num_cores) {
  int c = s->in_c;
  int blocks = (c + SP_VB - 1) / SP_VB;
  int lo, hi;
  sp_core_range(s->k_h * s->k_w * blocks, 1, core_id, num_cores, &lo, &hi);
  for (int item = lo; item < hi; item++) {
    int tap = item / blocks, c0 = (item % blocks) * SP_VB;
    int nb = sp_min(SP_VB, c - c0);
    switch (nb) {
      case 16: dw_bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, tap, c0, 16); break;
      default: dw_bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, tap, c0, nb); break;
    }
  }
}

SP_BLOCK void dw_bwd_weight(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                            int accumulate, int core_id, int num_cores) {
  dw_bwd_weight_body(s, x, dy, dw, accumulate, NULL, 0, core_id, num_cores);
}

SP_VARIANTS(dw_bwd_weight,
            (const sp_conv2d_shape *s, const float *x, const float *dy, float *dw, int accumulate,
             int core_id, int num_cores),
            (s, x, dy, dw, accumulate, core_id, num_cores),
            (s, x, dy, dw, accumulate, core_id, num_cores))

void sp_dwconv_bwd_weight(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                          int accumulate, int core_id, int num_cores) {
  SP_CALL_BEST(dw_bwd_weight, (s, x, dy, dw, accumulate, core_id, num_cores));
}

/* The fused weight gradient + update; the step constants live in this
 * function's frame, recomputed identically by every core. */
SP_BLOCK void dw_bwd_weight_update(const sp_conv2d_shape *s, const float *x, const float *dy,
                                   const sp_update *u, int core_id, int num_cores) {
  sp_update_step step;
  if (!sp_update_step_from(&step, u)) return;
  dw_bwd_weight_body(s, x, dy, NULL, 0, &step, 1, core_id, num_cores);
}

SP_VARIANTS(dw_bwd_weight_update,
            (const sp_conv2d_shape *s, const float *x, const float *dy, const sp_update *u,
             int core_id, int num_cores),
            (s, x, dy, u, core_id, num_cores),
            (s, x, dy, u, core_id, num_cores))

void sp_dwconv_bwd_weight_update(const sp_conv2d_shape *s, const float *x, const float *dy,
                                 const sp_update *u, int core_id, int num_cores) {
  SP_CALL_BEST(dw_bwd_weight_update, (s, x, dy, u, core_id, num_cores));
}
