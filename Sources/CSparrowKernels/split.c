/*
 * split.c — conv and linear kernels that read a weight split into a frozen full
 * tensor and a trainable slice of selected input channels (see the header).
 *
 * Work is split exactly as in the plain kernels (forward: output pixels or
 * outputs; input gradient: input pixels or inputs), and every output element
 * is summed in the order the header documents for the plain kernels, so the
 * bits equal the plain kernels' on the merged weight for any core count. The
 * loops are direct (no packing, no scratch): split layers are the few late
 * layers a sparse update trains, and their weights must not be copied.
 */
#include "sp_internal.h"

/* Weight of (row, channel c) where row indexes everything before the channel
 * dimension: from the slice if c is selected. `j` walks sel as c ascends
 * within one row; callers reset it to 0 at the start of each row. */
static inline float split_weight(const float *w, const float *w_sel, const int32_t *sel, int k, int channels,
                                 size_t row, int c, int *j) {
  if (*j < k && sel[*j] == c) {
    float v = w_sel[row * (size_t)k + (size_t)*j];
    (*j)++;
    return v;
  }
  return w[row * (size_t)channels + (size_t)c];
}

/* Index of channel c in sel, or -1 (binary search; sel ascending). */
static inline int selected_index(const int32_t *sel, int k, int c) {
  int lo = 0, hi = k;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (sel[mid] < c) lo = mid + 1; else hi = mid;
  }
  return lo < k && sel[lo] == c ? lo : -1;
}

static inline float weight_at(const float *w, const float *w_sel, const int32_t *sel, int k, int channels,
                              size_t row, int c) {
  int j = selected_index(sel, k, c);
  return j >= 0 ? w_sel[row * (size_t)k + (size_t)j] : w[row * (size_t)channels + (size_t)c];
}

void sp_conv2d_fwd_split_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores) {
  int depthwise = s->groups > 1 && s->groups == s->in_c && s->groups == s->out_c;
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int oh = p / s->out_w, ow = p % s->out_w;
    int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
    for (int oc = 0; oc < s->out_c; oc++) {
      float acc = b != NULL ? b[oc] : 0.0f;
      for (int kh = 0; kh < s->k_h; kh++) {
        int ih = ih0 + kh;
        if (ih < 0 || ih >= s->in_h) continue;
        for (int kw = 0; kw < s->k_w; kw++) {
          int iw = iw0 + kw;
          if (iw < 0 || iw >= s->in_w) continue;
          const float *xp = x + ((size_t)ih * (size_t)s->in_w + (size_t)iw) * (size_t)s->in_c;
          if (depthwise) {
            size_t row = (size_t)(kh * s->k_w + kw);
            acc += xp[oc] * weight_at(w, w_sel, sel, k, s->in_c, row, oc);
          } else {
            size_t row = ((size_t)oc * (size_t)s->k_h + (size_t)kh) * (size_t)s->k_w + (size_t)kw;
            int j = 0;
            for (int ic = 0; ic < s->in_c; ic++) acc += xp[ic] * split_weight(w, w_sel, sel, k, s->in_c, row, ic, &j);
          }
        }
      }
      y[(size_t)p * (size_t)s->out_c + (size_t)oc] = acc;
    }
  }
}

void sp_conv2d_bwd_input_split_f32(const sp_conv2d_shape *s, const float *dy, const float *w, const float *w_sel,
                                   const int32_t *sel, int k, float *dx, int core_id, int num_cores) {
  int depthwise = s->groups > 1 && s->groups == s->in_c && s->groups == s->out_c;
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int ic = 0; ic < s->in_c; ic++) {
      int j = depthwise ? -1 : selected_index(sel, k, ic);
      float acc = 0.0f;
      for (int oh = oh0; oh < oh1; oh++) {
        int kh = ih + s->pad_top - oh * s->stride_h;
        for (int ow = ow0; ow < ow1; ow++) {
          int kw = iw + s->pad_left - ow * s->stride_w;
          const float *dyp = dy + ((size_t)oh * (size_t)s->out_w + (size_t)ow) * (size_t)s->out_c;
          if (depthwise) {
            acc += dyp[ic] * weight_at(w, w_sel, sel, k, s->in_c, (size_t)(kh * s->k_w + kw), ic);
          } else {
            for (int oc = 0; oc < s->out_c; oc++) {
              size_t row = ((size_t)oc * (size_t)s->k_h + (size_t)kh) * (size_t)s->k_w + (size_t)kw;
              float wv = j >= 0 ? w_sel[row * (size_t)k + (size_t)j] : w[row * (size_t)s->in_c + (size_t)ic];
              acc += dyp[oc] * wv;
            }
          }
        }
      }
      dx[(size_t)p * (size_t)s->in_c + (size_t)ic] = acc;
    }
  }
}

void sp_linear_fwd_split_f32(int in_features, int out_features, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    float acc = b != NULL ? b[o] : 0.0f;
    int j = 0;
    for (int i = 0; i < in_features; i++) acc += split_weight(w, w_sel, sel, k, in_features, (size_t)o, i, &j) * x[i];
    y[o] = acc;
  }
}

void sp_linear_bwd_input_split_f32(int in_features, int out_features, const float *dy, const float *w,
                                   const float *w_sel, const int32_t *sel, int k, float *dx, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    int j = selected_index(sel, k, i);
    float acc = 0.0f;
    for (int o = 0; o < out_features; o++) {
      float wv = j >= 0 ? w_sel[(size_t)o * (size_t)k + (size_t)j] : w[(size_t)o * (size_t)in_features + (size_t)i];
      acc += dy[o] * wv;
    }
    dx[i] = acc;
  }
}
