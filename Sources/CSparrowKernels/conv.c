/*
 * conv.c — 2-D convolution forward (ordinary and grouped; depthwise is in
 * depthwise.c) and the scratch size of the conv kernels.
 *
 * Split: each core owns a contiguous range of output pixels (oh*out_w + ow) and
 * computes all out_c channels of them. One output element is
 *     b[oc] + x*w (kh, kw, ic ascending, out-of-bounds taps skipped)
 * whichever core computes it, so every core count gives the same bits.
 *
 * Speed: the inner loop runs over SP_VB output channels at once (independent
 * lanes, so the compiler may vectorise them without reassociating any sum). That
 * needs the weights of SP_VB channels interleaved per tap, [k][SP_VB]; each core
 * packs one channel block at a time into its own scratch chunk. Without scratch
 * a direct loop computes the same sums in the same order.
 */
#include "sp_internal.h"

/* Floats of one core's scratch chunk: one packed block of SP_VB channels. */
static size_t fwd_chunk_floats(const sp_conv2d_shape *s) {
  if (s->groups <= 0) return 0;
  return (size_t)s->k_h * (size_t)s->k_w * (size_t)(s->in_c / s->groups) * SP_VB;
}

size_t sp_conv2d_scratch_floats(const sp_conv2d_shape *s, int num_cores) {
  if (s == NULL || num_cores <= 0 || s->groups <= 0 || sp_conv_is_depthwise(s)) return 0;
  return (size_t)num_cores * fwd_chunk_floats(s);
}

/* wt[k][j] = w[oc0 + j][k] for j < nb, zero for the unused lanes. */
static void pack_block(const float *w, int taps, int nb, float *wt) {
  for (int k = 0; k < taps; k++) {
    float *row = wt + (size_t)k * SP_VB;
    for (int j = 0; j < SP_VB; j++) row[j] = j < nb ? w[(size_t)j * taps + k] : 0.0f;
  }
}

/* One output pixel, SP_VB channels of a packed block. xrow points at the
 * group's first input channel of pixel (ih0, iw0), possibly out of bounds. */
static void fwd_pixel_packed(const sp_conv2d_shape *s, const float *x, const float *wt,
                             const float *bias, float *yp, int oh, int ow, int ic0, int icg, int nb) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = (bias != NULL && j < nb) ? bias[j] : 0.0f;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  for (int kh = kh0; kh < kh1; kh++) {
    const float *xr = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw0)) * s->in_c + ic0;
    const float *wr = wt + (size_t)(kh * s->k_w + kw0) * icg * SP_VB;
    if (icg == s->in_c) {
      /* groups == 1: the taps (kw, ic) of this row are contiguous in x. */
      int run = (kw1 - kw0) * icg;
      for (int t = 0; t < run; t++) {
        float xv = xr[t];
        const float *wv = wr + (size_t)t * SP_VB;
        for (int j = 0; j < SP_VB; j++) acc[j] += xv * wv[j];
      }
    } else {
      for (int kw = kw0; kw < kw1; kw++) {
        const float *xk = xr + (size_t)(kw - kw0) * s->in_c;
        const float *wk = wr + (size_t)(kw - kw0) * icg * SP_VB;
        for (int ic = 0; ic < icg; ic++) {
          float xv = xk[ic];
          const float *wv = wk + (size_t)ic * SP_VB;
          for (int j = 0; j < SP_VB; j++) acc[j] += xv * wv[j];
        }
      }
    }
  }
  for (int j = 0; j < nb; j++) yp[j] = acc[j];
}

/* The same sum for one output element, straight from the [oc][kh][kw][icg] weights. */
static float fwd_element_direct(const sp_conv2d_shape *s, const float *x, const float *wrow,
                                const float *bias, int oh, int ow, int ic0, int icg) {
  float acc = bias != NULL ? *bias : 0.0f;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xk = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * s->in_c + ic0;
      const float *wk = wrow + (size_t)(kh * s->k_w + kw) * icg;
      for (int ic = 0; ic < icg; ic++) acc += xk[ic] * wk[ic];
    }
  }
  return acc;
}

void sp_conv2d_fwd_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *b,
                       float *y, float *scratch, int core_id, int num_cores) {
  if (s->groups <= 0) return;
  if (sp_conv_is_depthwise(s)) {
    sp_dwconv_fwd(s, x, w, b, y, core_id, num_cores);
    return;
  }
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  float *wt = scratch != NULL ? scratch + (size_t)core_id * fwd_chunk_floats(s) : NULL;

  for (int g = 0; g < s->groups; g++) {
    for (int o0 = 0; o0 < ocg; o0 += SP_VB) {
      int nb = sp_min(SP_VB, ocg - o0);
      int oc0 = g * ocg + o0;
      const float *wblock = w + (size_t)oc0 * taps;
      const float *bias = b != NULL ? b + oc0 : NULL;
      if (wt != NULL) pack_block(wblock, taps, nb, wt);
      for (int p = lo; p < hi; p++) {
        int oh = p / s->out_w, ow = p % s->out_w;
        float *yp = y + (size_t)p * s->out_c + oc0;
        if (wt != NULL) {
          fwd_pixel_packed(s, x, wt, bias, yp, oh, ow, g * icg, icg, nb);
        } else {
          for (int j = 0; j < nb; j++)
            yp[j] = fwd_element_direct(s, x, wblock + (size_t)j * taps, bias != NULL ? bias + j : NULL,
                                       oh, ow, g * icg, icg);
        }
      }
    }
  }
}
