/*
 * pool.c — max, average and global average pooling, forward and backward.
 *
 * Forward: split over output pixels (global average: over channels); each output
 * is reduced over its window by one core, taps in row-major order.
 * Backward: gathered per input element and split over input pixels (global
 * average: over positions): windows may overlap when stride < kernel, so a core
 * sums, for the inputs it owns, over the covering windows (oh, ow ascending)
 * instead of scattering into elements another core owns.
 * The channel loop is innermost everywhere (independent lanes, contiguous in HWC).
 */
#include "sp_internal.h"

#define SP_NO_TAP 255

/* Max over one window's in-bounds taps for nb (<= SP_VB) channels of one output
 * pixel; xw points at tap (kh0, kw0) channel 0, row_step floats apart per kh.
 * Best value and argmax live in local lanes (no aliasing with the outputs) and
 * are updated with bit selects, so the compiler keeps them in vector registers
 * and no data-dependent branch remains. with_arg is a literal at every call. */
SP_BLOCK void maxpool_block(const float *xw, size_t row_step, size_t c, int nkh, int nkw,
                            int tap0, int k_w, float *yp, uint8_t *ap, int nb, int with_arg) {
  uint32_t best[SP_VB], arg[SP_VB];
  for (int j = 0; j < nb; j++) {
    best[j] = sp_f2u(xw[j]);
    arg[j] = (uint32_t)tap0;
  }
  for (int kh = 0; kh < nkh; kh++) {
    for (int kw = 0; kw < nkw; kw++) {
      if (kh == 0 && kw == 0) continue;
      const float *xp = xw + (size_t)kh * row_step + (size_t)kw * c;
      uint32_t tap = (uint32_t)(tap0 + kh * k_w + kw);
      for (int j = 0; j < nb; j++) {
        float v = xp[j], b = sp_u2f(best[j]);
        /* Strictly greater keeps the first maximum; a NaN wins over numbers:
         * wins = v > b || (v != v && b == b), which is b == b && !(v <= b). */
        uint32_t wins = 0u - ((uint32_t)(b == b) & (uint32_t) !(v <= b));
        best[j] = (sp_f2u(v) & wins) | (best[j] & ~wins);
        if (with_arg) arg[j] = (tap & wins) | (arg[j] & ~wins);
      }
    }
  }
  for (int j = 0; j < nb; j++) yp[j] = sp_u2f(best[j]);
  if (with_arg)
    for (int j = 0; j < nb; j++) ap[j] = (uint8_t)arg[j];
}

SP_BLOCK void maxpool_fwd(const sp_pool_shape *s, const float *x, float *y, uint8_t *argmax,
                          int core_id, int num_cores) {
  int c = s->c, lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  size_t row_step = (size_t)s->in_w * c;
  int oh = lo / s->out_w, ow = lo % s->out_w; /* of pixel p, advanced without dividing */
  for (int p = lo; p < hi; p++, ow++, oh += ow == s->out_w, ow = ow == s->out_w ? 0 : ow) {
    float *yp = y + (size_t)p * c;
    uint8_t *ap = argmax != NULL ? argmax + (size_t)p * c : NULL;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    if (kh0 >= kh1 || kw0 >= kw1) {
      for (int ch = 0; ch < c; ch++) {
        yp[ch] = -__builtin_inff();
        if (ap != NULL) ap[ch] = (uint8_t)SP_NO_TAP;
      }
      continue;
    }
    const float *xw = x + ((size_t)(ih0 + kh0) * s->in_w + (size_t)(iw0 + kw0)) * c;
    int nkh = kh1 - kh0, nkw = kw1 - kw0, tap0 = kh0 * s->k_w + kw0;
    for (int c0 = 0, nb; c0 < c; c0 += nb) {
      nb = sp_block_width(c - c0);
      const float *xc = xw + c0;
      float *yc = yp + c0;
      if (ap != NULL) {
        uint8_t *ac = ap + c0;
        switch (nb) {
          case 16: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, ac, 16, 1); break;
          case 8: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, ac, 8, 1); break;
          case 4: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, ac, 4, 1); break;
          default: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, ac, nb, 1); break;
        }
      } else {
        switch (nb) {
          case 16: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, NULL, 16, 0); break;
          case 8: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, NULL, 8, 0); break;
          case 4: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, NULL, 4, 0); break;
          default: maxpool_block(xc, row_step, c, nkh, nkw, tap0, s->k_w, yc, NULL, nb, 0); break;
        }
      }
    }
  }
}

SP_VARIANTS(maxpool_fwd,
            (const sp_pool_shape *s, const float *x, float *y, uint8_t *argmax, int core_id,
             int num_cores),
            (s, x, y, argmax, core_id, num_cores),
            (s, x, y, argmax, core_id, num_cores))

void sp_maxpool_fwd_f32(const sp_pool_shape *s, const float *x, float *y, uint8_t *argmax,
                        int core_id, int num_cores) {
  SP_CALL_BEST(maxpool_fwd, (s, x, y, argmax, core_id, num_cores));
}

/* dx for nb (<= SP_VB) channels of one input pixel: the sum, from +0, over the
 * covering windows (oh, ow ascending) of dy where the window's argmax is this
 * tap, else +0. The sum can never be -0, so adding +0 equals skipping; the
 * select is a bit mask, so the loop has no data-dependent branch. */
SP_BLOCK void maxpool_bwd_block(const sp_pool_shape *s, const float *dy, const uint8_t *argmax,
                                float *dxp, int ih, int iw, int oh0, int oh1, int ow0, int ow1,
                                int c0, int nb) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  for (int oh = oh0; oh < oh1; oh++) {
    int kh = ih + s->pad_top - oh * s->stride_h;
    for (int ow = ow0; ow < ow1; ow++) {
      int kw = iw + s->pad_left - ow * s->stride_w;
      uint32_t tap = (uint32_t)(kh * s->k_w + kw);
      size_t q = ((size_t)oh * s->out_w + ow) * s->c + c0;
      const float *dyp = dy + q;
      const uint8_t *ap = argmax + q;
      for (int j = 0; j < nb; j++) {
        uint32_t hit = 0u - (uint32_t)((uint32_t)ap[j] == tap);
        acc[j] += sp_u2f(sp_f2u(dyp[j]) & hit);
      }
    }
  }
  for (int j = 0; j < nb; j++) dxp[j] = acc[j];
}

SP_BLOCK void maxpool_bwd(const sp_pool_shape *s, const float *dy, const uint8_t *argmax,
                          float *dx, int core_id, int num_cores) {
  int c = s->c, lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  /* Walk the pixels row by row: the covering windows of the next column follow
   * from those of this one without dividing (sp_covering_next). */
  int ih = lo / s->in_w, iw = lo % s->in_w;
  int oh0, oh1, ow0, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
  for (int p = lo; p < hi; p++) {
    if (p != lo) {
      if (++iw == s->in_w) {
        iw = 0;
        ih++;
        sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
        sp_covering_outputs(0, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
      } else {
        sp_covering_next(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
      }
    }
    float *dxp = dx + (size_t)p * c;
    for (int c0 = 0, nb; c0 < c; c0 += nb) {
      nb = sp_block_width(c - c0);
      switch (nb) {
        case 16: maxpool_bwd_block(s, dy, argmax, dxp + c0, ih, iw, oh0, oh1, ow0, ow1, c0, 16); break;
        case 8: maxpool_bwd_block(s, dy, argmax, dxp + c0, ih, iw, oh0, oh1, ow0, ow1, c0, 8); break;
        case 4: maxpool_bwd_block(s, dy, argmax, dxp + c0, ih, iw, oh0, oh1, ow0, ow1, c0, 4); break;
        default: maxpool_bwd_block(s, dy, argmax, dxp + c0, ih, iw, oh0, oh1, ow0, ow1, c0, nb); break;
      }
    }
  }
}

SP_VARIANTS(maxpool_bwd,
            (const sp_pool_shape *s, const float *dy, const uint8_t *argmax, float *dx, int core_id,
             int num_cores),
            (s, dy, argmax, dx, core_id, num_cores),
            (s, dy, argmax, dx, core_id, num_cores))

void sp_maxpool_bwd_f32(const sp_pool_shape *s, const float *dy, const uint8_t *argmax, float *dx,
                        int core_id, int num_cores) {
  SP_CALL_BEST(maxpool_bwd, (s, dy, argmax, dx, core_id, num_cores));
}

void sp_avgpool_fwd_f32(const sp_pool_shape *s, const float *x, float *y, int core_id,
                        int num_cores) {
  int c = s->c, lo, hi;
  float area = (float)(s->k_h * s->k_w);
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    float *yp = y + (size_t)p * c;
    for (int ch = 0; ch < c; ch++) yp[ch] = 0.0f;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    for (int kh = kh0; kh < kh1; kh++) {
      for (int kw = kw0; kw < kw1; kw++) {
        const float *xp = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c;
        for (int ch = 0; ch < c; ch++) yp[ch] += xp[ch];
      }
    }
    for (int ch = 0; ch < c; ch++) yp[ch] = yp[ch] / area;
  }
}

void sp_avgpool_bwd_f32(const sp_pool_shape *s, const float *dy, float *dx, int core_id,
                        int num_cores) {
  int c = s->c, lo, hi;
  float area = (float)(s->k_h * s->k_w);
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    float *dxp = dx + (size_t)p * c;
    for (int ch = 0; ch < c; ch++) dxp[ch] = 0.0f;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int oh = oh0; oh < oh1; oh++) {
      for (int ow = ow0; ow < ow1; ow++) {
        const float *dyp = dy + ((size_t)oh * s->out_w + ow) * c;
        for (int ch = 0; ch < c; ch++) dxp[ch] += dyp[ch];
      }
    }
    for (int ch = 0; ch < c; ch++) dxp[ch] = dxp[ch] / area;
  }
}

void sp_global_avgpool_fwd_f32(int positions, int channels, const float *x, float *y, int core_id,
                               int num_cores) {
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  float count = (float)positions;
  for (int ch = lo; ch < hi; ch++) y[ch] = 0.0f;
  for (int p = 0; p < positions; p++) {
    const float *xp = x + (size_t)p * channels;
    for (int ch = lo; ch < hi; ch++) y[ch] += xp[ch];
  }
  for (int ch = lo; ch < hi; ch++) y[ch] = y[ch] / count;
}

void sp_global_avgpool_bwd_f32(int positions, int channels, const float *dy, float *dx,
                               int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(positions, 1, core_id, num_cores, &lo, &hi);
  float count = (float)positions;
  for (int p = lo; p < hi; p++) {
    float *dxp = dx + (size_t)p * channels;
    for (int ch = 0; ch < channels; ch++) dxp[ch] = dy[ch] / count;
  }
}
