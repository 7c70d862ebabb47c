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

void sp_maxpool_fwd_f32(const sp_pool_shape *s, const float *x, float *y, uint8_t *argmax,
                        int core_id, int num_cores) {
  int c = s->c, lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
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
    for (int kh = kh0; kh < kh1; kh++) {
      for (int kw = kw0; kw < kw1; kw++) {
        const float *xp = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c;
        uint8_t tap = (uint8_t)(kh * s->k_w + kw);
        if (kh == kh0 && kw == kw0) {
          for (int ch = 0; ch < c; ch++) yp[ch] = xp[ch];
          if (ap != NULL)
            for (int ch = 0; ch < c; ch++) ap[ch] = tap;
          continue;
        }
        for (int ch = 0; ch < c; ch++) {
          float v = xp[ch], best = yp[ch];
          /* Strictly greater keeps the first maximum; a NaN wins over numbers. */
          int wins = v > best || (v != v && best == best);
          yp[ch] = wins ? v : best;
          if (ap != NULL && wins) ap[ch] = tap;
        }
      }
    }
  }
}

void sp_maxpool_bwd_f32(const sp_pool_shape *s, const float *dy, const uint8_t *argmax, float *dx,
                        int core_id, int num_cores) {
  int c = s->c, lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    float *dxp = dx + (size_t)p * c;
    for (int ch = 0; ch < c; ch++) dxp[ch] = 0.0f;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int oh = oh0; oh < oh1; oh++) {
      int kh = ih + s->pad_top - oh * s->stride_h;
      for (int ow = ow0; ow < ow1; ow++) {
        int kw = iw + s->pad_left - ow * s->stride_w;
        uint8_t tap = (uint8_t)(kh * s->k_w + kw);
        size_t q = ((size_t)oh * s->out_w + ow) * c;
        const float *dyp = dy + q;
        const uint8_t *ap = argmax + q;
        /* The sum starts at +0 and can never be -0, so adding +0 for a window
         * that chose another tap is the same as skipping it. */
        for (int ch = 0; ch < c; ch++) dxp[ch] += ap[ch] == tap ? dyp[ch] : 0.0f;
      }
    }
  }
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
