/*
 * int8_split.c — int8 conv / linear forward and fp32 input gradient that read a
 * weight split into a frozen full tensor and a trainable slice of selected
 * input channels (sparrow_kernels_int8.h; the int8 twin of split.c).
 *
 * Forward: the accumulator is a sum modulo 2^32 (uint32_t), which does not
 * depend on the order of its terms, so each output takes the unselected
 * channels of a tap row from w in contiguous runs and the selected ones from
 * w_sel; the requantization is the plain kernels' (sp_requantize_clamped with
 * the same arguments), so the bytes equal sp_conv2d_fwd_int8 /
 * sp_linear_fwd_int8 on the merged weight.
 * Input gradient: fp32 sums, so the order matters; every element is summed in
 * exactly the order of sp_conv2d_bwd_input_int8w_f32 /
 * sp_linear_bwd_input_int8w_f32, from +0, with the same dequantization
 * (float)w * w_scale[oc] and the same split, so the bits are the same.
 * The selected channels of w are never read. Direct loops, no scratch.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

/* 1 when sel[0..k) is a strictly ascending list of channels in [0, channels)
 * and the slice pointers are usable (k == 0 needs neither). */
static int selection_ok(const int32_t *sel, int k, const int8_t *w_sel, int channels) {
  if (k == 0) return 1;
  if (k < 0 || k > channels || sel == NULL || w_sel == NULL) return 0;
  for (int j = 0; j < k; j++) {
    if (sel[j] < 0 || sel[j] >= channels) return 0;
    if (j > 0 && sel[j] <= sel[j - 1]) return 0;
  }
  return 1;
}

/* sum over c in [c0, c1) of (x[c] - zx) * w[c], mod 2^32. */
static inline uint32_t dot_run(const int8_t *x, const int8_t *w, int c0, int c1, int32_t zx) {
  uint32_t acc = 0;
  for (int c = c0; c < c1; c++) acc += (uint32_t)(((int32_t)x[c] - zx) * (int32_t)w[c]);
  return acc;
}

/* sum over c < n of (x[c] - zx) * weight(c), mod 2^32, where weight(c) is
 * ws[j] for c == sel[j] and w[c] otherwise (w[sel[j]] is not read). */
static inline uint32_t dot_split(const int8_t *x, const int8_t *w, const int8_t *ws,
                                 const int32_t *sel, int k, int n, int32_t zx) {
  uint32_t acc = 0;
  int c = 0;
  for (int j = 0; j < k; j++) {
    int e = sel[j];
    acc += dot_run(x, w, c, e, zx);
    acc += (uint32_t)(((int32_t)x[e] - zx) * (int32_t)ws[j]);
    c = e + 1;
  }
  return acc + dot_run(x, w, c, n, zx);
}

static inline float deq_w(int8_t q, float scale) { return (float)(int32_t)q * scale; }

/* Ordinary conv (groups == 1): weights [out_c][k_h][k_w][in_c], slice
 * [out_c][k_h][k_w][k]. */
static void conv_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                     const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                     const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  const int c = s->in_c;
  const int32_t zx = rq->in_zero_point;
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    int8_t *yp = y + (size_t)p * (size_t)s->out_c;
    for (int oc = 0; oc < s->out_c; oc++) {
      uint32_t acc = b != NULL ? (uint32_t)b[oc] : 0u;
      for (int kh = kh0; kh < kh1; kh++) {
        for (int kw = kw0; kw < kw1; kw++) {
          const int8_t *xp = x + ((size_t)(ih0 + kh) * (size_t)s->in_w + (size_t)(iw0 + kw)) * (size_t)c;
          size_t row = ((size_t)oc * (size_t)s->k_h + (size_t)kh) * (size_t)s->k_w + (size_t)kw;
          acc += dot_split(xp, w + row * (size_t)c, w_sel + row * (size_t)k, sel, k, c, zx);
        }
      }
      yp[oc] = sp_requantize_clamped((int32_t)acc, rq->mult[oc], rq->shift[oc], rq->out_zero_point,
                                     rq->act_min, rq->act_max);
    }
  }
}

/* Depthwise: weights [k_h][k_w][c], slice [k_h][k_w][k]; channels in blocks of
 * SP_VB accumulators, as int8_conv.c. */
static void dw_fwd(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                   const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                   const sp_requant_int8 *rq, int8_t *y, int lo, int hi) {
  const int c = s->in_c;
  const int32_t zx = rq->in_zero_point;
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    int kh0, kh1, kw0, kw1;
    sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
    sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
    int8_t *yp = y + (size_t)p * (size_t)c;
    int j0 = 0; /* first selected channel >= c0 */
    for (int c0 = 0; c0 < c; c0 += SP_VB) {
      int nb = sp_min(SP_VB, c - c0);
      int j1 = j0; /* selected channels of this block: sel[j0..j1) */
      while (j1 < k && sel[j1] < c0 + nb) j1++;
      uint32_t acc[SP_VB];
      for (int t = 0; t < nb; t++) acc[t] = b != NULL ? (uint32_t)b[c0 + t] : 0u;
      for (int kh = kh0; kh < kh1; kh++) {
        for (int kw = kw0; kw < kw1; kw++) {
          size_t tap = (size_t)kh * (size_t)s->k_w + (size_t)kw;
          const int8_t *xp = x + ((size_t)(ih0 + kh) * (size_t)s->in_w + (size_t)(iw0 + kw)) * (size_t)c + (size_t)c0;
          const int8_t *wp = w + tap * (size_t)c + (size_t)c0;
          const int8_t *wsp = w_sel + tap * (size_t)k;
          int t = 0;
          for (int j = j0; j < j1; j++) {
            int e = sel[j] - c0;
            for (; t < e; t++) acc[t] += (uint32_t)(((int32_t)xp[t] - zx) * (int32_t)wp[t]);
            acc[e] += (uint32_t)(((int32_t)xp[e] - zx) * (int32_t)wsp[j]);
            t = e + 1;
          }
          for (; t < nb; t++) acc[t] += (uint32_t)(((int32_t)xp[t] - zx) * (int32_t)wp[t]);
        }
      }
      for (int t = 0; t < nb; t++)
        yp[c0 + t] = sp_requantize_clamped((int32_t)acc[t], rq->mult[c0 + t], rq->shift[c0 + t],
                                           rq->out_zero_point, rq->act_min, rq->act_max);
      j0 = j1;
    }
  }
}

void sp_conv2d_fwd_split_int8(const sp_conv2d_shape *s, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores) {
  if (s == NULL || x == NULL || w == NULL || rq == NULL || rq->mult == NULL ||
      rq->shift == NULL || y == NULL)
    return;
  int depthwise = sp_conv_is_depthwise(s);
  if ((s->groups != 1 && !depthwise) || s->out_w <= 0) return;
  if (!selection_ok(sel, k, w_sel, s->in_c)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (depthwise)
    dw_fwd(s, x, w, w_sel, sel, k, b, rq, y, lo, hi);
  else
    conv_fwd(s, x, w, w_sel, sel, k, b, rq, y, lo, hi);
}

void sp_linear_fwd_split_int8(int in_features, int out_features, const int8_t *x, const int8_t *w,
                              const int8_t *w_sel, const int32_t *sel, int k, const int32_t *b,
                              const sp_requant_int8 *rq, int8_t *y, int core_id, int num_cores) {
  if (x == NULL || w == NULL || rq == NULL || rq->mult == NULL || rq->shift == NULL || y == NULL ||
      in_features < 0)
    return;
  if (!selection_ok(sel, k, w_sel, in_features)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    uint32_t acc = b != NULL ? (uint32_t)b[o] : 0u;
    acc += dot_split(x, w + (size_t)o * (size_t)in_features, w_sel + (size_t)o * (size_t)k, sel, k,
                     in_features, rq->in_zero_point);
    y[o] = sp_requantize_clamped((int32_t)acc, rq->mult[o], rq->shift[o], rq->out_zero_point,
                                 rq->act_min, rq->act_max);
  }
}

void sp_conv2d_bwd_input_split_int8w_f32(const sp_conv2d_shape *s, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores) {
  if (s == NULL || dy == NULL || w == NULL || w_scale == NULL || dx == NULL) return;
  int depthwise = sp_conv_is_depthwise(s);
  if (s->groups != 1 && !depthwise) return;
  if (!selection_ok(sel, k, w_sel, s->in_c)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  const int c = s->in_c;
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    int next = 0; /* first selected channel >= ic */
    for (int ic = 0; ic < c; ic++) {
      int j = -1; /* index of ic in sel, or -1 */
      if (next < k && sel[next] == ic) j = next++;
      float acc = 0.0f;
      for (int oh = oh0; oh < oh1; oh++) {
        int kh = ih + s->pad_top - oh * s->stride_h;
        for (int ow = ow0; ow < ow1; ow++) {
          int kw = iw + s->pad_left - ow * s->stride_w;
          const float *dyp = dy + ((size_t)oh * (size_t)s->out_w + (size_t)ow) * (size_t)s->out_c;
          size_t tap = (size_t)(kh * s->k_w + kw);
          if (depthwise) {
            int8_t q = j >= 0 ? w_sel[tap * (size_t)k + (size_t)j] : w[tap * (size_t)c + (size_t)ic];
            acc += dyp[ic] * deq_w(q, w_scale[ic]);
          } else {
            for (int oc = 0; oc < s->out_c; oc++) {
              size_t row = (size_t)oc * (size_t)s->k_h * (size_t)s->k_w + tap;
              int8_t q = j >= 0 ? w_sel[row * (size_t)k + (size_t)j] : w[row * (size_t)c + (size_t)ic];
              acc += dyp[oc] * deq_w(q, w_scale[oc]);
            }
          }
        }
      }
      dx[(size_t)p * (size_t)c + (size_t)ic] = acc;
    }
  }
}

void sp_linear_bwd_input_split_int8w_f32(int in_features, int out_features, const float *dy,
                                         const int8_t *w, const int8_t *w_sel, const int32_t *sel,
                                         int k, const float *w_scale, float *dx, int core_id,
                                         int num_cores) {
  if (dy == NULL || w == NULL || w_scale == NULL || dx == NULL || in_features < 0) return;
  if (!selection_ok(sel, k, w_sel, in_features)) return;
  if (k == 0) w_sel = w; /* never read; keeps w_sel + offset defined */
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  /* sel[j0..j1): the selected inputs of this core's range [lo, hi). */
  int j0 = 0;
  while (j0 < k && sel[j0] < lo) j0++;
  int j1 = j0;
  while (j1 < k && sel[j1] < hi) j1++;
  for (int i = lo; i < hi; i++) dx[i] = 0.0f;
  /* Rows o ascending, as sp_linear_bwd_input_int8w_f32: every dx[i] is
   * +0 then + dy[o] * w_real[o][i] for o = 0, 1, ... */
  for (int o = 0; o < out_features; o++) {
    float d = dy[o], sc = w_scale[o];
    const int8_t *wr = w + (size_t)o * (size_t)in_features;
    const int8_t *wsr = w_sel + (size_t)o * (size_t)k;
    int i = lo;
    for (int j = j0; j < j1; j++) {
      int e = sel[j];
      for (; i < e; i++) dx[i] += d * deq_w(wr[i], sc);
      dx[e] += d * deq_w(wsr[j], sc);
      i = e + 1;
    }
    for (; i < hi; i++) dx[i] += d * deq_w(wr[i], sc);
  }
}
