/*
 * f16_split.c — fp16 channel gather and the fp16 conv / linear kernels that
 * read a weight split into a frozen full tensor and a trainable slice of
 * selected input channels (sparrow_kernels_f16.h; the FP32 versions are
 * gather.c and split.c).
 *
 * Each output element is computed exactly as the plain fp16 kernel computes
 * it (f16_conv.c, f16_linear.c): the same split over cores (forward: output
 * pixels or outputs; input gradient: input pixels or inputs), the same start
 * value, the same terms in the same order, each through sp_acc_mac with the
 * same operand order, stored by sp_acc_store. Only where a weight is loaded
 * from differs (the slice for a selected channel, the full tensor otherwise),
 * so the bits equal the plain kernels' on the merged weight for any core
 * count and both accumulation modes. The selected channels of the full tensor
 * are never read. Direct loops, no scratch: the merged weight is never built.
 */
#include "sp_f16.h"

/* Index of channel c in sel, or -1 (binary search; sel ascending). k <= 0
 * never reads sel. */
static inline int f16_selected_index(const int32_t *sel, int k, int c) {
  int lo = 0, hi = k;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (sel[mid] < c) lo = mid + 1; else hi = mid;
  }
  return lo < k && sel[lo] == c ? lo : -1;
}

/* The weight of (row, channel c), row indexing everything before the channel
 * dimension, given j = f16_selected_index(sel, k, c): from the slice (k
 * channels per row) if c is selected, else from the full tensor. */
static inline sp_f16 f16_weight(const sp_f16 *w, const sp_f16 *w_sel, int k, int channels,
                                size_t row, int c, int j) {
  return j >= 0 ? w_sel[row * (size_t)k + (size_t)j] : w[row * (size_t)channels + (size_t)c];
}

/* Only groups 1 and depthwise have a split layout. */
static inline int f16_split_shape_ok(const sp_conv2d_shape *s) {
  return s->groups == 1 || (s->groups > 0 && sp_conv_is_depthwise(s));
}

/* ------------------------------------------------------------------ gather */

void sp_gather_channels_f16(int positions, int channels, const sp_f16 *x, const int32_t *sel, int k,
                            sp_f16 *x_sel, int core_id, int num_cores) {
  int lo, hi;
  if (k <= 0) return;
  sp_core_range(positions, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    const sp_f16 *row = x + (size_t)p * (size_t)channels;
    sp_f16 *out = x_sel + (size_t)p * (size_t)k;
    for (int j = 0; j < k; j++) out[j] = row[sel[j]];
  }
}

/* ----------------------------------------------------------------- forward */

/* Output pixel p, channel oc: b[oc] + x * w over the in-bounds taps (kh, kw,
 * ic ascending), as f16_fwd_element with groups 1 or depthwise. */
SP_BLOCK void f16s_fwd_element(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                               const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                               sp_f16 *y, int p, int oc, int dw, int mode) {
  int oh = p / s->out_w, ow = p % s->out_w;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  int jdw = dw ? f16_selected_index(sel, k, oc) : -1;
  sp_f16_accum acc = sp_acc_start(mode, b != NULL ? b + oc : NULL);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const sp_f16 *xk = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * s->in_c;
      if (dw) {
        sp_acc_mac(mode, &acc, xk[oc],
                   f16_weight(w, w_sel, k, s->in_c, (size_t)(kh * s->k_w + kw), oc, jdw));
      } else {
        size_t row = ((size_t)oc * s->k_h + kh) * s->k_w + kw;
        const sp_f16 *wk = w + row * (size_t)s->in_c;
        /* Walk sel alongside ic: j is the next selected channel's index. */
        int j = 0;
        for (int ic = 0; ic < s->in_c; ic++) {
          sp_f16 wv;
          if (j < k && sel[j] == ic) {
            wv = w_sel[row * (size_t)k + (size_t)j];
            j++;
          } else {
            wv = wk[ic];
          }
          sp_acc_mac(mode, &acc, xk[ic], wv);
        }
      }
    }
  }
  sp_acc_store(mode, acc, y + (size_t)p * s->out_c + oc, 0);
}

SP_BLOCK void f16s_fwd(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w, const sp_f16 *w_sel,
                       const int32_t *sel, int k, const sp_f16 *b, sp_f16 *y, int core_id,
                       int num_cores, int mode) {
  int lo, hi, dw = sp_conv_is_depthwise(s);
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++)
    for (int oc = 0; oc < s->out_c; oc++) f16s_fwd_element(s, x, w, w_sel, sel, k, b, y, p, oc, dw, mode);
}

void sp_conv2d_fwd_split_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  if (!f16_split_shape_ok(s)) return;
  if (k < 0) k = 0;
  SP_F16_DISPATCH(mode, f16s_fwd, s, x, w, w_sel, sel, k, b, y, core_id, num_cores);
}

/* ---------------------------------------------------------- input gradient */

/* Input pixel p, channel ic: +0, then dy * w over the covering output
 * positions (oh, ow ascending) and, within one, oc ascending (depthwise: the
 * one channel ic), as f16_bwd_input_element with groups 1 or depthwise. */
SP_BLOCK void f16s_bwd_input_element(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                     const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx,
                                     int p, int ic, int dw, int mode) {
  int ih = p / s->in_w, iw = p % s->in_w;
  int oh0, oh1, ow0, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
  int j = f16_selected_index(sel, k, ic); /* the same for every weight this element reads */
  sp_f16_accum acc = sp_acc_start(mode, NULL);
  for (int oh = oh0; oh < oh1; oh++) {
    int kh = ih + s->pad_top - oh * s->stride_h;
    for (int ow = ow0; ow < ow1; ow++) {
      int kw = iw + s->pad_left - ow * s->stride_w;
      const sp_f16 *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c;
      if (dw) {
        sp_acc_mac(mode, &acc, dyp[ic], f16_weight(w, w_sel, k, s->in_c, (size_t)(kh * s->k_w + kw), ic, j));
      } else {
        for (int oc = 0; oc < s->out_c; oc++)
          sp_acc_mac(mode, &acc, dyp[oc],
                     f16_weight(w, w_sel, k, s->in_c, ((size_t)oc * s->k_h + kh) * s->k_w + kw, ic, j));
      }
    }
  }
  sp_acc_store(mode, acc, dx + (size_t)p * s->in_c + ic, 0);
}

SP_BLOCK void f16s_bwd_input(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx, int core_id,
                             int num_cores, int mode) {
  int lo, hi, dw = sp_conv_is_depthwise(s);
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++)
    for (int ic = 0; ic < s->in_c; ic++) f16s_bwd_input_element(s, dy, w, w_sel, sel, k, dx, p, ic, dw, mode);
}

void sp_conv2d_bwd_input_split_f16(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                   const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx,
                                   sp_f16_acc mode, int core_id, int num_cores) {
  if (!f16_split_shape_ok(s)) return;
  if (k < 0) k = 0;
  SP_F16_DISPATCH(mode, f16s_bwd_input, s, dy, w, w_sel, sel, k, dx, core_id, num_cores);
}

/* ------------------------------------------------------------------ linear */

/* y[o] = b[o], then x[i] * w[o][i], i ascending (as f16_linear_fwd). */
SP_BLOCK void f16s_linear_fwd(int n_in, int n_out, const sp_f16 *x, const sp_f16 *w,
                              const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                              sp_f16 *y, int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(n_out, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    const sp_f16 *wr = w + (size_t)o * n_in;
    sp_f16_accum acc = sp_acc_start(mode, b != NULL ? b + o : NULL);
    int j = 0;
    for (int i = 0; i < n_in; i++) {
      sp_f16 wv;
      if (j < k && sel[j] == i) {
        wv = w_sel[(size_t)o * k + (size_t)j];
        j++;
      } else {
        wv = wr[i];
      }
      sp_acc_mac(mode, &acc, x[i], wv);
    }
    sp_acc_store(mode, acc, y + o, 0);
  }
}

void sp_linear_fwd_split_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  if (k < 0) k = 0;
  SP_F16_DISPATCH(mode, f16s_linear_fwd, in_features, out_features, x, w, w_sel, sel, k, b, y,
                  core_id, num_cores);
}

/* dx[i] = +0, then dy[o] * w[o][i], o ascending (as f16_linear_bwd_input). */
SP_BLOCK void f16s_linear_bwd_input(int n_in, int n_out, const sp_f16 *dy, const sp_f16 *w,
                                    const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx,
                                    int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(n_in, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    int j = f16_selected_index(sel, k, i);
    sp_f16_accum acc = sp_acc_start(mode, NULL);
    for (int o = 0; o < n_out; o++) sp_acc_mac(mode, &acc, dy[o], f16_weight(w, w_sel, k, n_in, (size_t)o, i, j));
    sp_acc_store(mode, acc, dx + i, 0);
  }
}

void sp_linear_bwd_input_split_f16(int in_features, int out_features, const sp_f16 *dy,
                                   const sp_f16 *w, const sp_f16 *w_sel, const int32_t *sel, int k,
                                   sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores) {
  if (k < 0) k = 0;
  SP_F16_DISPATCH(mode, f16s_linear_bwd_input, in_features, out_features, dy, w, w_sel, sel, k, dx,
                  core_id, num_cores);
}
