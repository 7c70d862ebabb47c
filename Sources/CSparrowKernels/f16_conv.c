/*
 * f16_conv.c — fp16 conv2d forward, input gradient and weight gradient
 * (ordinary, grouped and depthwise), sparrow_kernels_f16.h.
 *
 * The sums, their orders and the splits over cores are those of the FP32
 * kernels (conv.c, conv_backward.c, depthwise.c), one output element at a time:
 *  forward      split over output pixels; b[oc], then taps (kh, kw, ic) ascending;
 *  input grad   split over input pixels; gathered: +0, then covering output
 *               positions (oh, ow) ascending and, within one, the group's oc
 *               ascending;
 *  weight grad  split over taps (kh, kw, ic-in-group), each core doing every
 *               oc of its taps (depthwise: over (tap, block of 16 channels)
 *               items); +0, then output positions (oh, ow) ascending.
 * So every element is computed by one core in an order independent of
 * num_cores. Each term goes through sp_acc_mac (sp_f16.h), whose mode is a
 * literal in every instantiation.
 *
 * Speed: plain scalar loops, correct first. The fp16 mode costs a software fma
 * per term on the host. On rv32 with Zfh, every conv (ordinary, grouped and
 * depthwise) runs the register-blocked kernels of f16_conv_rv32.c instead
 * (native fmadd.h / fmadd.s, packed vfmac.h with Xfvec): the same elements and
 * orders, so the same bits.
 */
#include "sp_f16.h"
#include "sp_f16_rv32.h"

/* The portable loops (every build but rv32 with Zfh, which runs f16_conv_rv32.c). */
#if !SP_F16_NATIVE

/* Output pixel p, channel oc: b[oc] + x * w over the in-bounds taps. */
SP_BLOCK void f16_fwd_element(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                              const sp_f16 *b, sp_f16 *y, int p, int oc, int dw, int mode) {
  int icg = s->in_c / s->groups, g = oc / (s->out_c / s->groups);
  int oh = p / s->out_w, ow = p % s->out_w;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  int kh0, kh1, kw0, kw1;
  sp_valid_taps(ih0, s->k_h, s->in_h, &kh0, &kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &kw0, &kw1);
  sp_f16_accum acc = sp_acc_start(mode, b != NULL ? b + oc : NULL);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const sp_f16 *xk = x + ((size_t)(ih0 + kh) * s->in_w + (size_t)(iw0 + kw)) * s->in_c;
      if (dw) {
        sp_acc_mac(mode, &acc, xk[oc], w[(size_t)(kh * s->k_w + kw) * s->in_c + oc]);
      } else {
        const sp_f16 *wk = w + (((size_t)oc * s->k_h + kh) * s->k_w + kw) * icg;
        xk += (size_t)g * icg;
        for (int ic = 0; ic < icg; ic++) sp_acc_mac(mode, &acc, xk[ic], wk[ic]);
      }
    }
  }
  sp_acc_store(mode, acc, y + (size_t)p * s->out_c + oc, 0);
}

SP_BLOCK void f16_fwd(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w, const sp_f16 *b,
                      sp_f16 *y, int core_id, int num_cores, int mode) {
  int lo, hi, dw = sp_conv_is_depthwise(s);
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++)
    for (int oc = 0; oc < s->out_c; oc++) f16_fwd_element(s, x, w, b, y, p, oc, dw, mode);
}

/* Input pixel p, channel ic: +0, then dy * w over the covering output
 * positions (oh, ow ascending) and the group's output channels. */
SP_BLOCK void f16_bwd_input_element(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                    sp_f16 *dx, int p, int ic, int dw, int mode) {
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int g = ic / icg, icl = ic % icg;
  int ih = p / s->in_w, iw = p % s->in_w;
  int oh0, oh1, ow0, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &ow0, &ow1);
  sp_f16_accum acc = sp_acc_start(mode, NULL);
  for (int oh = oh0; oh < oh1; oh++) {
    int kh = ih + s->pad_top - oh * s->stride_h;
    for (int ow = ow0; ow < ow1; ow++) {
      int kw = iw + s->pad_left - ow * s->stride_w;
      const sp_f16 *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c;
      if (dw) {
        sp_acc_mac(mode, &acc, dyp[ic], w[(size_t)(kh * s->k_w + kw) * s->in_c + ic]);
      } else {
        for (int oc = g * ocg; oc < (g + 1) * ocg; oc++)
          sp_acc_mac(mode, &acc, dyp[oc], w[(((size_t)oc * s->k_h + kh) * s->k_w + kw) * icg + icl]);
      }
    }
  }
  sp_acc_store(mode, acc, dx + (size_t)p * s->in_c + ic, 0);
}

SP_BLOCK void f16_bwd_input(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w, sp_f16 *dx,
                            int core_id, int num_cores, int mode) {
  int lo, hi, dw = sp_conv_is_depthwise(s);
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++)
    for (int ic = 0; ic < s->in_c; ic++) f16_bwd_input_element(s, dy, w, dx, p, ic, dw, mode);
}

/* The gradient of the weight at tap (kh, kw) joining input channel ic to
 * output channel oc: +0, then x * dy over the output positions (oh, ow
 * ascending) whose tap is inside x; stored to *dst. */
SP_BLOCK void f16_bwd_weight_element(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                                     sp_f16 *dst, int accumulate, int kh, int kw, int ic, int oc,
                                     int mode) {
  int oh0, oh1, ow0, ow1;
  sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
  sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
  sp_f16_accum acc = sp_acc_start(mode, NULL);
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      sp_acc_mac(mode, &acc, x[((size_t)ih * s->in_w + iw) * s->in_c + ic],
                 dy[((size_t)oh * s->out_w + ow) * s->out_c + oc]);
    }
  }
  sp_acc_store(mode, acc, dst, accumulate);
}

SP_BLOCK void f16_bwd_weight(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy, sp_f16 *dw,
                             int accumulate, int core_id, int num_cores, int mode) {
  int lo, hi;
  if (sp_conv_is_depthwise(s)) {
    /* Items (tap, block of SP_VB channels), as depthwise.c splits them. */
    int c = s->in_c, blocks = (c + SP_VB - 1) / SP_VB;
    sp_core_range(s->k_h * s->k_w * blocks, 1, core_id, num_cores, &lo, &hi);
    for (int item = lo; item < hi; item++) {
      int tap = item / blocks, c0 = (item % blocks) * SP_VB, c1 = sp_min(c, c0 + SP_VB);
      for (int ch = c0; ch < c1; ch++)
        f16_bwd_weight_element(s, x, dy, dw + (size_t)tap * c + ch, accumulate, tap / s->k_w,
                               tap % s->k_w, ch, ch, mode);
    }
    return;
  }
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  int taps = s->k_h * s->k_w * icg;
  sp_core_range(taps, 1, core_id, num_cores, &lo, &hi);
  for (int k = lo; k < hi; k++) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    for (int oc = 0; oc < s->out_c; oc++)
      f16_bwd_weight_element(s, x, dy, dw + (size_t)oc * taps + k, accumulate, kh, kw,
                             (oc / ocg) * icg + icl, oc, mode);
  }
}

#endif /* !SP_F16_NATIVE */

void sp_conv2d_fwd_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w, const sp_f16 *b,
                       sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  if (s->groups <= 0) return;
#if SP_F16_NATIVE
  sp_f16_conv_fwd_native(s, x, w, b, y, mode, core_id, num_cores);
#else
  SP_F16_DISPATCH(mode, f16_fwd, s, x, w, b, y, core_id, num_cores);
#endif
}

void sp_conv2d_bwd_input_f16(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                             sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores) {
  if (s->groups <= 0) return;
#if SP_F16_NATIVE
  sp_f16_conv_bwd_input_native(s, dy, w, dx, mode, core_id, num_cores);
#else
  SP_F16_DISPATCH(mode, f16_bwd_input, s, dy, w, dx, core_id, num_cores);
#endif
}

void sp_conv2d_bwd_weight_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                              sp_f16 *dw, int accumulate, sp_f16_acc mode, int core_id,
                              int num_cores) {
  if (s->groups <= 0) return;
#if SP_F16_NATIVE
  sp_f16_conv_bwd_weight_native(s, x, dy, dw, accumulate, mode, core_id, num_cores);
#else
  SP_F16_DISPATCH(mode, f16_bwd_weight, s, x, dy, dw, accumulate, core_id, num_cores);
#endif
}
