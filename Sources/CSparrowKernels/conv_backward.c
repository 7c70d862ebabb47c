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
 * The fused variant (sp_conv2d_bwd_weight_update_f32) runs the same blocks and,
 * where the plain kernel stores a finished block of sums, copies them to a
 * fixed-size local array and applies the optimizer update to those weights
 * (sp_update_rows on SIMD hosts: gathered and vectorised; sp_update_run in
 * place elsewhere), so no gradient tensor is ever written.
 *
 * Both inner loops run over SP_VB independent lanes (input channels for dx,
 * output channels for dw) that are contiguous in HWC memory, so the compiler
 * can vectorise them without reordering any sum. With SIMD, up to SP_PAIR
 * (SP_WIDE with AVX2) sums run side by side so that the adds of one need not
 * wait for the previous add of another: dx of neighbouring pixels (sharing the
 * weight loads when they apply the same taps), dw of neighbouring input
 * channels at one (kh, kw) (sharing the dy loads). Each sum keeps its own
 * order, so this changes speed only.
 */
#include "sp_internal.h"

/* Where one dx pixel's sum reads: covering output rows [oh0, oh1) and columns
 * [ow0, ow1), and the tap (kh, kw) that the first window (oh0, ow0) applies to
 * this pixel; window (oh0 + a, ow0 + b) applies (kh - a*stride_h, kw - b*stride_w). */
typedef struct {
  int oh0, oh1, ow0, ow1, kh, kw;
} dx_windows;

SP_BLOCK dx_windows dx_windows_of(const sp_conv2d_shape *s, int p) {
  dx_windows r;
  int ih = p / s->in_w, iw = p % s->in_w;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &r.oh0, &r.oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &r.ow0, &r.ow1);
  r.kh = ih + s->pad_top - r.oh0 * s->stride_h;
  r.kw = iw + s->pad_left - r.ow0 * s->stride_w;
  return r;
}

/* dx for nb (<= SP_VB) input channels icb.. of group g at npx (1..4)
 * consecutive pixels whose window grids have the same size (the caller checks);
 * pixel i has windows win[i] and writes dx0 + i*in_c. Each pixel's sum is its own: +0, then windows
 * (oh, ow ascending) and within a window oc ascending. The pixels go in
 * lockstep with independent accumulators; when they apply the same taps in the
 * same order (shared_w, e.g. neighbours at stride 1) they also share the weight
 * loads. nb, npx and shared_w are literals at every call. */
SP_BLOCK void bwd_input_block(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx0,
                              const dx_windows *win, int g, int icb, int nb, int npx,
                              int shared_w) {
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  size_t taps = (size_t)s->k_h * s->k_w * icg;
  float a0[SP_VB], a1[SP_VB], a2[SP_VB], a3[SP_VB]; /* no pointers into them: registers */
  for (int j = 0; j < SP_VB; j++) a0[j] = a1[j] = a2[j] = a3[j] = 0.0f;
  const float *wg = w + (size_t)g * ocg * taps + icb;
  int nh = win[0].oh1 - win[0].oh0, nw = win[0].ow1 - win[0].ow0;
  for (int a = 0; a < nh; a++) {
    for (int b = 0; b < nw; b++) {
      const float *d[4], *wp[4];
      for (int i = 0; i < npx; i++) {
        d[i] = dy + ((size_t)(win[i].oh0 + a) * s->out_w + (size_t)(win[i].ow0 + b)) * s->out_c +
               (size_t)g * ocg;
        int kh = win[i].kh - a * s->stride_h, kw = win[i].kw - b * s->stride_w;
        wp[i] = wg + (size_t)(kh * s->k_w + kw) * icg;
      }
      for (int oc = 0; oc < ocg; oc++) {
        size_t o = (size_t)oc * taps;
        float d0 = d[0][oc], d1 = npx > 1 ? d[1][oc] : 0.0f;
        float d2 = npx > 2 ? d[2][oc] : 0.0f, d3 = npx > 3 ? d[3][oc] : 0.0f;
        for (int j = 0; j < nb; j++) {
          a0[j] += d0 * wp[0][o + j];
          if (npx > 1) a1[j] += d1 * wp[shared_w ? 0 : 1][o + j];
          if (npx > 2) a2[j] += d2 * wp[shared_w ? 0 : 2][o + j];
          if (npx > 3) a3[j] += d3 * wp[shared_w ? 0 : 3][o + j];
        }
      }
    }
  }
  size_t ic = (size_t)s->in_c;
  for (int j = 0; j < nb; j++) {
    dx0[j] = a0[j];
    if (npx > 1) dx0[ic + j] = a1[j];
    if (npx > 2) dx0[2 * ic + j] = a2[j];
    if (npx > 3) dx0[3 * ic + j] = a3[j];
  }
}

/* One channel block of npx pixels; nb a literal for the full-width sizes. Only
 * blocks of 16 or 8 channels come here with npx > 1 (a pair, or up to 4 pixels
 * that share taps). */
SP_BLOCK void bwd_input_dispatch(const sp_conv2d_shape *s, const float *dy, const float *w,
                                 float *dx0, const dx_windows *win, int g, int icb, int nb,
                                 int npx, int shared_w, int maxpx) {
#define BWD_INPUT_GROUPS(n)                                                                  \
  do {                                                                                       \
    if (maxpx >= 4 && npx == 4)                                                              \
      bwd_input_block(s, dy, w, dx0, win, g, icb, n, 4, 1);                                  \
    else if (maxpx >= 3 && npx == 3)                                                         \
      bwd_input_block(s, dy, w, dx0, win, g, icb, n, 3, 1);                                  \
    else if (maxpx >= 2 && npx == 2 && shared_w)                                             \
      bwd_input_block(s, dy, w, dx0, win, g, icb, n, 2, 1);                                  \
    else if (maxpx >= 2 && npx == 2)                                                         \
      bwd_input_block(s, dy, w, dx0, win, g, icb, n, 2, 0);                                  \
    else                                                                                     \
      bwd_input_block(s, dy, w, dx0, win, g, icb, n, 1, 1);                                  \
  } while (0)
  switch (nb) {
    case 16: BWD_INPUT_GROUPS(16); break;
    case 8: BWD_INPUT_GROUPS(8); break;
    case 4: bwd_input_block(s, dy, w, dx0, win, g, icb, 4, 1, 1); break;
    case 1: bwd_input_block(s, dy, w, dx0, win, g, icb, 1, 1, 1); break;
    default: bwd_input_block(s, dy, w, dx0, win, g, icb, nb, 1, 1); break;
  }
#undef BWD_INPUT_GROUPS
}

/* The ordinary/grouped input gradient (groups >= 1, not depthwise), up to maxpx
 * (a literal) pixels per pass. */
SP_BLOCK void conv_bwd_input(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                             int core_id, int num_cores, int maxpx) {
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  int icg = s->in_c / s->groups;
  for (int p = lo, np; p < hi; p += np) {
    /* Group p with the next pixels whose window grids have its size: any one
     * neighbour, or up to maxpx that apply the same taps. */
    dx_windows win[4];
    win[0] = dx_windows_of(s, p);
    int shared = 1;
    for (np = 1; np < maxpx && p + np < hi; np++) {
      dx_windows n = dx_windows_of(s, p + np);
      if (n.oh1 - n.oh0 != win[0].oh1 - win[0].oh0 || n.ow1 - n.ow0 != win[0].ow1 - win[0].ow0)
        break;
      if (n.kh != win[0].kh || n.kw != win[0].kw) {
        if (np == 1) { /* a pair that does not share taps */
          win[np++] = n;
          shared = 0;
        }
        break;
      }
      win[np] = n;
    }
    for (int g = 0; g < s->groups; g++) {
      for (int icb = 0, nb; icb < icg; icb += nb) {
        nb = sp_block_width(icg - icb);
        float *dx0 = dx + (size_t)p * s->in_c + (size_t)g * icg + (size_t)icb;
        if (nb >= 8) {
          bwd_input_dispatch(s, dy, w, dx0, win, g, icb, nb, np, shared, maxpx);
        } else {
          for (int i = 0; i < np; i++)
            bwd_input_dispatch(s, dy, w, dx0 + (size_t)i * s->in_c, &win[i], g, icb, nb, 1, 1,
                               maxpx);
        }
      }
    }
  }
}

SP_TUNED_VARIANTS(conv_bwd_input,
                  (const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                   int core_id, int num_cores),
                  (s, dy, w, dx, core_id, num_cores), 4, 3, 2, 1)

void sp_conv2d_bwd_input_f32(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                             float *scratch, int core_id, int num_cores) {
  (void)scratch;
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_bwd_input(s, dy, w, dx, core_id, num_cores);
    return;
  }
  SP_CALL_BEST(conv_bwd_input, (s, dy, w, dx, core_id, num_cores));
}

/* dw[oc][k] for nb (<= SP_VB) output channels oc0.. of one group and ntap (1..4)
 * taps k, k+1, ... on input channels ic, ic+1, ... at the same (kh, kw), so all
 * read the same output positions. Each sum runs over those positions, (oh, ow)
 * ascending; the taps share every dy load and their accumulators are
 * independent. nb and ntap are literals at every call; so is fused: 0 stores
 * the sums into dw (accumulate: added), 1 applies the update uk to w[oc][k..]
 * with them (dw unused). */
SP_BLOCK void bwd_weight_block(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                               int accumulate, const sp_update_step *uk, int fused, int k, int kh,
                               int kw, int ic, int oc0, int nb, int ntap) {
  size_t taps = (size_t)s->k_h * s->k_w * (s->in_c / s->groups);
  float a0[SP_VB], a1[SP_VB], a2[SP_VB], a3[SP_VB];
  for (int j = 0; j < SP_VB; j++) a0[j] = a1[j] = a2[j] = a3[j] = 0.0f;
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  size_t xstep = (size_t)s->stride_w * s->in_c;
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh, iw = ow0 * s->stride_w - s->pad_left + kw;
    const float *xr = x + ((size_t)ih * s->in_w + (size_t)iw) * s->in_c + ic;
    const float *dyr = dy + ((size_t)oh * s->out_w + (size_t)ow0) * s->out_c + oc0;
    for (int t = 0; t < ow1 - ow0; t++) {
      const float *d = dyr + (size_t)t * s->out_c, *xt = xr + (size_t)t * xstep;
      float x0 = xt[0], x1 = ntap > 1 ? xt[1] : 0.0f;
      float x2 = ntap > 2 ? xt[2] : 0.0f, x3 = ntap > 3 ? xt[3] : 0.0f;
      for (int j = 0; j < nb; j++) {
        a0[j] += x0 * d[j];
        if (ntap > 1) a1[j] += x1 * d[j];
        if (ntap > 2) a2[j] += x2 * d[j];
        if (ntap > 3) a3[j] += x3 * d[j];
      }
    }
  }
  if (fused) {
    /* Staged as gl[j][i] = the sum of channel oc0 + j, tap k + i: row j is
     * ntap consecutive weights. The copy runs over all SP_VB lanes (a fixed
     * count: the unused lanes hold +0) so that the accumulators are never
     * addressed and stay in registers during the loop above. */
    float gl[4 * SP_VB];
    for (int j = 0; j < SP_VB; j++) {
      gl[j * ntap] = a0[j];
      if (ntap > 1) gl[j * ntap + 1] = a1[j];
      if (ntap > 2) gl[j * ntap + 2] = a2[j];
      if (ntap > 3) gl[j * ntap + 3] = a3[j];
    }
    size_t w0 = (size_t)oc0 * taps + (size_t)k;
    if (SP_SIMD)
      sp_update_rows(uk, w0, taps, gl, nb, ntap);
    else
      for (int j = 0; j < nb; j++) sp_update_run(uk, w0 + (size_t)j * taps, gl + j * ntap, ntap);
    return;
  }
  float *dst = dw + (size_t)oc0 * taps + (size_t)k;
  for (int j = 0; j < nb; j++) {
    float *o = dst + (size_t)j * taps;
    o[0] = accumulate ? o[0] + a0[j] : a0[j];
    if (ntap > 1) o[1] = accumulate ? o[1] + a1[j] : a1[j];
    if (ntap > 2) o[2] = accumulate ? o[2] + a2[j] : a2[j];
    if (ntap > 3) o[3] = accumulate ? o[3] + a3[j] : a3[j];
  }
}

/* One output-channel block of ntap taps; nb a literal for the full-width sizes.
 * Only blocks of 16 or 8 channels come here with ntap > 1. */
SP_BLOCK void bwd_weight_dispatch(const sp_conv2d_shape *s, const float *x, const float *dy,
                                  float *dw, int accumulate, const sp_update_step *uk, int fused,
                                  int k, int kh, int kw, int ic, int oc0, int nb, int ntap,
                                  int maxtap) {
#define BWD_WEIGHT_GROUPS(n)                                                              \
  do {                                                                                    \
    if (maxtap >= 4 && ntap == 4)                                                         \
      bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, n, 4);    \
    else if (maxtap >= 3 && ntap == 3)                                                    \
      bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, n, 3);    \
    else if (maxtap >= 2 && ntap == 2)                                                    \
      bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, n, 2);    \
    else                                                                                  \
      bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, n, 1);    \
  } while (0)
  switch (nb) {
    case 16: BWD_WEIGHT_GROUPS(16); break;
    case 8: BWD_WEIGHT_GROUPS(8); break;
    case 4: bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, 4, 1); break;
    default: bwd_weight_block(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, nb, 1); break;
  }
#undef BWD_WEIGHT_GROUPS
}

/* The ordinary/grouped weight gradient (groups >= 1, not depthwise), up to
 * maxtap (a literal) taps per pass; fused (a literal) as in bwd_weight_block. */
SP_BLOCK void conv_bwd_weight_body(const sp_conv2d_shape *s, const float *x, const float *dy,
                                   float *dw, int accumulate, const sp_update_step *uk, int fused,
                                   int core_id, int num_cores, int maxtap) {
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  int lo, hi;
  sp_core_range(taps, 1, core_id, num_cores, &lo, &hi);
  /* Taps k, k+1, ... (the same kh, kw, neighbouring input channels) together,
   * up to maxtap, the end of the core's range or of the run of channels. */
  for (int k = lo, nt; k < hi; k += nt) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    nt = sp_min(maxtap, sp_min(hi - k, icg - icl));
    for (int g = 0; g < s->groups; g++) {
      int ic = g * icg + icl;
      for (int o0 = 0, nb; o0 < ocg; o0 += nb) {
        int oc0 = g * ocg + o0;
        nb = sp_block_width(ocg - o0);
        if (nb >= 8) {
          bwd_weight_dispatch(s, x, dy, dw, accumulate, uk, fused, k, kh, kw, ic, oc0, nb, nt,
                              maxtap);
        } else {
          for (int i = 0; i < nt; i++)
            bwd_weight_dispatch(s, x, dy, dw, accumulate, uk, fused, k + i, kh, kw, ic + i, oc0,
                                nb, 1, maxtap);
        }
      }
    }
  }
}

SP_BLOCK void conv_bwd_weight(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                              int accumulate, int core_id, int num_cores, int maxtap) {
  conv_bwd_weight_body(s, x, dy, dw, accumulate, NULL, 0, core_id, num_cores, maxtap);
}

SP_TUNED_VARIANTS(conv_bwd_weight,
                  (const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                   int accumulate, int core_id, int num_cores),
                  (s, x, dy, dw, accumulate, core_id, num_cores), 4, 3, 2, 1)

void sp_conv2d_bwd_weight_f32(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                              int accumulate, float *scratch, int core_id, int num_cores) {
  (void)scratch;
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_bwd_weight(s, x, dy, dw, accumulate, core_id, num_cores);
    return;
  }
  SP_CALL_BEST(conv_bwd_weight, (s, x, dy, dw, accumulate, core_id, num_cores));
}

/* The fused weight gradient + update; the step constants live in this
 * function's frame (registers), recomputed identically by every core. */
SP_BLOCK void conv_bwd_weight_update(const sp_conv2d_shape *s, const float *x, const float *dy,
                                     const sp_update *u, int core_id, int num_cores, int maxtap) {
  sp_update_step step;
  if (!sp_update_step_from(&step, u)) return;
  conv_bwd_weight_body(s, x, dy, NULL, 0, &step, 1, core_id, num_cores, maxtap);
}

SP_TUNED_VARIANTS(conv_bwd_weight_update,
                  (const sp_conv2d_shape *s, const float *x, const float *dy, const sp_update *u,
                   int core_id, int num_cores),
                  (s, x, dy, u, core_id, num_cores), 4, 3, 2, 1)

void sp_conv2d_bwd_weight_update_f32(const sp_conv2d_shape *s, const float *x, const float *dy,
                                     const sp_update *u, float *scratch, int core_id,
                                     int num_cores) {
  (void)scratch;
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_bwd_weight_update(s, x, dy, u, core_id, num_cores);
    return;
  }
  SP_CALL_BEST(conv_bwd_weight_update, (s, x, dy, u, core_id, num_cores));
}
