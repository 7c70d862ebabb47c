/*
 * int8_backward.c — fp32 backward of conv / linear from the int8 tensors the
 * forward saved (TTE's default backward; sparrow_kernels_int8.h).
 *
 * Each int8 value is dequantized where a product term reads it, with the one
 * fp32 multiply of sp_dequantize_int8_to_f32: x_real = (float)(x - zx) * s_x,
 * w_real = (float)w * s_w[oc] (both conversions exact). The sums then run in
 * the FP32 kernels' documented orders, from +0, with the FP32 kernels' splits,
 * so the results equal the FP32 kernels on the dequantized tensors bit for bit.
 * Direct loops (no packing), except the ordinary conv's input gradient, which
 * runs the blocked loops of int8_split.c with nothing selected.
 */
#include "sp_internal.h"
#include "sparrow_kernels_int8.h"

static inline float deq_x(int8_t q, int32_t zp, float scale) {
  return (float)((int32_t)q - zp) * scale;
}

static inline float deq_w(int8_t q, float scale) { return (float)(int32_t)q * scale; }

/* One weight's gradient: +0, then x_real[tap] * dy over the output positions
 * (oh, ow ascending) whose tap (kh, kw) is in bounds; input channel ic,
 * output channel oc. */
static float weight_grad_sum(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                             int32_t x_zero_point, const float *dy, int kh, int kw, int ic,
                             int oc) {
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  float acc = 0.0f;
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      float xv = deq_x(x[((size_t)ih * s->in_w + (size_t)iw) * s->in_c + (size_t)ic],
                       x_zero_point, x_scale);
      acc += xv * dy[((size_t)oh * s->out_w + (size_t)ow) * s->out_c + (size_t)oc];
    }
  }
  return acc;
}

void sp_conv2d_bwd_weight_int8x_f32(const sp_conv2d_shape *s, const int8_t *x, float x_scale,
                                    int32_t x_zero_point, const float *dy, float *dw,
                                    int accumulate, int core_id, int num_cores) {
  if (s == NULL || x == NULL || dy == NULL || dw == NULL || s->groups <= 0) return;
  int lo, hi;
  if (sp_conv_is_depthwise(s)) {
    /* Items (tap, block of SP_VB channels), as sp_conv2d_bwd_weight_f32. */
    int c = s->in_c, blocks = (c + SP_VB - 1) / SP_VB;
    sp_core_range(s->k_h * s->k_w * blocks, 1, core_id, num_cores, &lo, &hi);
    for (int item = lo; item < hi; item++) {
      int tap = item / blocks, c0 = (item % blocks) * SP_VB, c1 = sp_min(c, c0 + SP_VB);
      int kh = tap / s->k_w, kw = tap % s->k_w;
      for (int ch = c0; ch < c1; ch++) {
        float sum = weight_grad_sum(s, x, x_scale, x_zero_point, dy, kh, kw, ch, ch);
        float *d = dw + (size_t)tap * c + (size_t)ch;
        *d = accumulate ? *d + sum : sum;
      }
    }
    return;
  }
  /* Taps k = (kh, kw, ic-in-group), every oc of every group, as the FP32 kernel. */
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  sp_core_range(taps, 1, core_id, num_cores, &lo, &hi);
  for (int k = lo; k < hi; k++) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    for (int oc = 0; oc < s->out_c; oc++) {
      int ic = (oc / ocg) * icg + icl;
      float sum = weight_grad_sum(s, x, x_scale, x_zero_point, dy, kh, kw, ic, oc);
      float *d = dw + (size_t)oc * taps + (size_t)k;
      *d = accumulate ? *d + sum : sum;
    }
  }
}

void sp_conv2d_bwd_input_int8w_f32(const sp_conv2d_shape *s, const float *dy, const int8_t *w,
                                   const float *w_scale, float *dx, int core_id, int num_cores) {
  if (s == NULL || dy == NULL || w == NULL || w_scale == NULL || dx == NULL || s->groups <= 0)
    return;
  /* An ordinary conv is the split kernel with nothing selected: its blocked
   * loops (int8_split.c) sum every element in the order below, several pixels
   * and channels at a time. (One channel in and out with groups 1 is also
   * depthwise, which the split kernel hands back here.) */
  if (s->groups == 1 && !sp_conv_is_depthwise(s)) {
    sp_conv2d_bwd_input_split_int8w_f32(s, dy, w, NULL, NULL, 0, w_scale, dx, core_id, num_cores);
    return;
  }
  int depthwise = sp_conv_is_depthwise(s);
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  size_t taps = (size_t)s->k_h * s->k_w * icg;
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    int ih = p / s->in_w, iw = p % s->in_w;
    int oh0, oh1, ow0, ow1;
    sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
    sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
    for (int ic = 0; ic < s->in_c; ic++) {
      int g = ic / icg, icl = ic % icg;
      float acc = 0.0f;
      for (int oh = oh0; oh < oh1; oh++) {
        int kh = ih + s->pad_top - oh * s->stride_h;
        for (int ow = ow0; ow < ow1; ow++) {
          int kw = iw + s->pad_left - ow * s->stride_w;
          const float *dyp = dy + ((size_t)oh * s->out_w + (size_t)ow) * s->out_c;
          if (depthwise) {
            acc += dyp[ic] * deq_w(w[(size_t)(kh * s->k_w + kw) * s->in_c + (size_t)ic], w_scale[ic]);
          } else {
            for (int o = 0; o < ocg; o++) {
              int oc = g * ocg + o;
              size_t wi = (size_t)oc * taps + (size_t)(kh * s->k_w + kw) * icg + (size_t)icl;
              acc += dyp[oc] * deq_w(w[wi], w_scale[oc]);
            }
          }
        }
      }
      dx[(size_t)p * s->in_c + (size_t)ic] = acc;
    }
  }
}

void sp_linear_bwd_weight_int8x_f32(int in_features, int out_features, const int8_t *x,
                                    float x_scale, int32_t x_zero_point, const float *dy,
                                    float *dw, int accumulate, int core_id, int num_cores) {
  if (x == NULL || dy == NULL || dw == NULL) return;
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    float d = dy[o];
    float *row = dw + (size_t)o * in_features;
    for (int i = 0; i < in_features; i++) {
      float term = 0.0f + deq_x(x[i], x_zero_point, x_scale) * d;
      row[i] = accumulate ? row[i] + term : term;
    }
  }
}

void sp_linear_bwd_input_int8w_f32(int in_features, int out_features, const float *dy,
                                   const int8_t *w, const float *w_scale, float *dx, int core_id,
                                   int num_cores) {
  if (dy == NULL || w == NULL || w_scale == NULL || dx == NULL) return;
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) dx[i] = 0.0f;
  for (int o = 0; o < out_features; o++) {
    float d = dy[o], s = w_scale[o];
    const int8_t *wr = w + (size_t)o * in_features;
    for (int i = lo; i < hi; i++) dx[i] += d * deq_w(wr[i], s);
  }
}
