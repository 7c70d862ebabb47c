/*
 * f16_pool.c — fp16 max, average and global average pooling, forward and
 * backward (sparrow_kernels_f16.h).
 *
 * The windows, splits and orders of pool.c: forward over output pixels (global
 * average over channels), taps row-major; backward gathered per input pixel
 * (global average over positions), covering windows oh, ow ascending, so no
 * core writes another core's elements. Sums go through the sp_f16_accum of
 * sp_f16.h (the conv kernels' accumulators); the mode is a literal in each
 * instantiation (SP_F16_DISPATCH).
 */
#include "sp_f16.h"

#define SP_NO_TAP 255

/* sum / k in the mode's arithmetic (see the header). */
SP_BLOCK sp_f16 f16_mean(int mode, sp_f16_accum a, int k) {
  if (mode == SP_F16_ACC_F16) return sp_h_div(a.h, sp_f2h((float)k));
  return sp_f2h(a.f / (float)k);
}

void sp_maxpool_fwd_f16(const sp_pool_shape *s, const sp_f16 *x, sp_f16 *y, uint8_t *argmax,
                        int core_id, int num_cores) {
  int c = s->c, lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    sp_f16 *yp = y + (size_t)p * c;
    uint8_t *ap = argmax != NULL ? argmax + (size_t)p * c : NULL;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    for (int ch = 0; ch < c; ch++) {
      sp_f16 best = (sp_f16)0xfc00u; /* -inf */
      int arg = SP_NO_TAP, first = 1;
      for (int kh = kh0; kh < kh1; kh++) {
        for (int kw = kw0; kw < kw1; kw++) {
          sp_f16 v = x[((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c + ch];
          float fv = sp_h2f(v), fb = sp_h2f(best);
          /* The first tap always wins; then strictly greater keeps the first
           * maximum and a NaN wins over numbers (the rule of pool.c). */
          if (first || (fb == fb && !(fv <= fb))) {
            best = v;
            arg = kh * s->k_w + kw;
          }
          first = 0;
        }
      }
      yp[ch] = best;
      if (ap != NULL) ap[ch] = (uint8_t)arg;
    }
  }
}

SP_BLOCK void f16_maxpool_bwd(const sp_pool_shape *s, const sp_f16 *dy, const uint8_t *argmax,
                              sp_f16 *dx, int core_id, int num_cores, int mode) {
  int c = s->c, lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int ch = 0; ch < c; ch++) {
      sp_f16_accum acc = sp_acc_start(mode, NULL);
      for (int oh = oh0; oh < oh1; oh++) {
        int kh = ih + s->pad_top - oh * s->stride_h;
        for (int ow = ow0; ow < ow1; ow++) {
          int kw = iw + s->pad_left - ow * s->stride_w;
          size_t q = ((size_t)oh * s->out_w + ow) * c + ch;
          /* pool.c adds +0 for the other windows; the sum starts at +0 and an
           * exact-arithmetic sum from +0 is never -0, so skipping is the same. */
          if ((int)argmax[q] == kh * s->k_w + kw) sp_acc_add(mode, &acc, dy[q]);
        }
      }
      sp_acc_store(mode, acc, dx + (size_t)p * c + ch, 0);
    }
  }
}

void sp_maxpool_bwd_f16(const sp_pool_shape *s, const sp_f16 *dy, const uint8_t *argmax, sp_f16 *dx,
                        sp_f16_acc mode, int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_maxpool_bwd, s, dy, argmax, dx, core_id, num_cores);
}

SP_BLOCK void f16_avgpool_fwd(const sp_pool_shape *s, const sp_f16 *x, sp_f16 *y, int core_id,
                              int num_cores, int mode) {
  int c = s->c, lo, hi, area = s->k_h * s->k_w;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    for (int ch = 0; ch < c; ch++) {
      sp_f16_accum acc = sp_acc_start(mode, NULL);
      for (int kh = kh0; kh < kh1; kh++)
        for (int kw = kw0; kw < kw1; kw++)
          sp_acc_add(mode, &acc, x[((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * c + ch]);
      y[(size_t)p * c + ch] = f16_mean(mode, acc, area);
    }
  }
}

void sp_avgpool_fwd_f16(const sp_pool_shape *s, const sp_f16 *x, sp_f16 *y, sp_f16_acc mode,
                        int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_avgpool_fwd, s, x, y, core_id, num_cores);
}

SP_BLOCK void f16_avgpool_bwd(const sp_pool_shape *s, const sp_f16 *dy, sp_f16 *dx, int core_id,
                              int num_cores, int mode) {
  int c = s->c, lo, hi, area = s->k_h * s->k_w;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int ch = 0; ch < c; ch++) {
      sp_f16_accum acc = sp_acc_start(mode, NULL);
      for (int oh = oh0; oh < oh1; oh++)
        for (int ow = ow0; ow < ow1; ow++)
          sp_acc_add(mode, &acc, dy[((size_t)oh * s->out_w + ow) * c + ch]);
      dx[(size_t)p * c + ch] = f16_mean(mode, acc, area);
    }
  }
}

void sp_avgpool_bwd_f16(const sp_pool_shape *s, const sp_f16 *dy, sp_f16 *dx, sp_f16_acc mode,
                        int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_avgpool_bwd, s, dy, dx, core_id, num_cores);
}

SP_BLOCK void f16_global_avgpool_fwd(int positions, int channels, const sp_f16 *x, sp_f16 *y,
                                     int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int ch = lo; ch < hi; ch++) {
    sp_f16_accum acc = sp_acc_start(mode, NULL);
    for (int p = 0; p < positions; p++) sp_acc_add(mode, &acc, x[(size_t)p * channels + ch]);
    y[ch] = f16_mean(mode, acc, positions);
  }
}

void sp_global_avgpool_fwd_f16(int positions, int channels, const sp_f16 *x, sp_f16 *y,
                               sp_f16_acc mode, int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_global_avgpool_fwd, positions, channels, x, y, core_id, num_cores);
}

void sp_global_avgpool_bwd_f16(int positions, int channels, const sp_f16 *dy, sp_f16 *dx,
                               int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(positions, 1, core_id, num_cores, &lo, &hi);
  sp_f16 count = sp_f2h((float)positions);
  for (int p = lo; p < hi; p++)
    for (int ch = 0; ch < channels; ch++) dx[(size_t)p * channels + ch] = sp_h_div(dy[ch], count);
}
