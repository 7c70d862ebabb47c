/*
 * f16_conv_rv32.c — the fp16 conv kernels of f16_conv.c (ordinary and grouped;
 * depthwise stays there) on rv32 with Zfh, in register blocks.
 *
 * The same elements, terms, orders and core splits as f16_conv.c (see the top
 * of that file), so the bits are the same on any core count; only the order in
 * which a core visits its independent elements changes:
 *  forward      a run of neighbouring pixels of the core's range with the same
 *               in-bounds taps, times output channels of a group: the input
 *               value of a tap serves the channels, its weight the pixels; with
 *               Xfvec a pixel pair is one packed register per channel
 *               (vfmac.r.h: both pixels' inputs times the weight);
 *  input grad   one input pixel, or a pair whose windows apply the same taps,
 *               times input channels of a group: the output gradient serves
 *               the channels, the weight the pixels, and with Xfvec the channel
 *               pairs' weights, adjacent in memory, load as one word;
 *  weight grad  a run of taps (neighbouring input channels) times output
 *               channels of a group: the output gradients, adjacent in memory,
 *               serve the taps (with Xfvec as packed words).
 * How many pixels, taps and channels one block holds, and whether loads are
 * packed, is the call's kernel variant (sparrow_kernels_tuning.h; the tables
 * are at each entry point): the same sums either way, at different speeds.
 * The packed paths need 4-byte aligned pairs; other shapes use the scalar
 * blocks (fmadd.h / fmadd.s), which have no such condition.
 */
#include "sp_f16_rv32.h"

#if SP_F16_NATIVE

/* A variant's block limits (sparrow_kernels_tuning.h) as one literal: at most
 * px pixels (forward, input grad) or taps (weight grad) side by side, at most
 * nb channels per block, and (input grad) whether channel pairs may load as
 * one word. Literal at every use, so each variant is its own instance. */
#define F16_CFG(px, nb, packed) ((px) | (nb) << 4 | (packed) << 12)
#define F16_CFG_PX(c) ((c) & 15)
#define F16_CFG_NB(c) (((c) >> 4) & 255)
#define F16_CFG_PACKED(c) (((c) >> 12) & 1)

/* 4, 2 or 1: the block size for a run of `run` elements that may share a pass. */
static inline int f16_run_block(int run) { return run >= 4 ? 4 : run >= 2 ? 2 : 1; }

/* One block of width nb (a literal in each case). */
#define F16_WIDTHS(CALL, nb) \
  switch (nb) {              \
    case 16: CALL(16); break; \
    case 8: CALL(8); break;   \
    case 4: CALL(4); break;   \
    case 2: CALL(2); break;   \
    default: CALL(1); break;  \
  }

/* ---------------------------------------------------------------- forward */

/* The in-bounds taps of output pixel p: rows [kh0, kh1), columns [kw0, kw1),
 * and where its first one starts in x (channel 0). */
typedef struct {
  int kh0, kh1, kw0, kw1;
  size_t x0;
} f16_window;

static inline f16_window f16_window_of(const sp_conv2d_shape *s, int p) {
  f16_window t;
  int oh = p / s->out_w, ow = p % s->out_w;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  sp_valid_taps(ih0, s->k_h, s->in_h, &t.kh0, &t.kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &t.kw0, &t.kw1);
  t.x0 = ((size_t)(ih0 + t.kh0) * s->in_w + (size_t)(iw0 + t.kw0)) * s->in_c;
  return t;
}

static inline int f16_same_taps(f16_window a, f16_window b) {
  return a.kh0 == b.kh0 && a.kh1 == b.kh1 && a.kw0 == b.kw0 && a.kw1 == b.kw1;
}

/* Pixels p .. p+np-1 (np = 1, 2 or 4) with the same taps t, pixel q's first
 * tap at x0[q], channels oc0 .. oc0+nb-1 of group g: b[oc], then x * w over
 * the taps (kh, kw, ic) ascending. packed (np >= 2, fp16 mode, Xfvec): pixels
 * 2h and 2h+1 in the lanes of one register per channel, both updated by one
 * vfmac.r.h with their inputs times the channel's weight. */
SP_BLOCK void f16_fwd_block(const sp_conv2d_shape *s, const sp_h16 *x, const sp_h16 *w,
                            const sp_h16 *b, sp_h16 *y, int p, f16_window t, const size_t *x0,
                            int g, int oc0, int nb, int np, int packed, int mode) {
  int icg = s->in_c / s->groups;
  size_t wstride = (size_t)s->k_h * s->k_w * icg; /* from one output channel to the next */
  const sp_h16 *xq[4];
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++) xq[q] = x + x0[q] + (size_t)g * icg;
  const sp_h16 *w0 = w + (((size_t)oc0 * s->k_h + t.kh0) * s->k_w + t.kw0) * icg;
  sp_h16 *y0 = y + (size_t)p * s->out_c + oc0;
#if SP_F16_XFVEC
  if (packed) {
    float acc[2][SP_NB_MAX];
    SP_UNROLL_BLOCK
    for (int h = 0; h < np / 2; h++)
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb; j++) {
        sp_f16 bj = b != NULL ? sp_h_to_bits(b[oc0 + j]) : 0;
        acc[h][j] = sp_pair(bj, bj);
      }
    for (int kh = 0; kh < t.kh1 - t.kh0; kh++) {
      for (int kw = 0; kw < t.kw1 - t.kw0; kw++) {
        size_t xo = ((size_t)kh * s->in_w + kw) * s->in_c;
        const sp_h16 *wp = w0 + ((size_t)kh * s->k_w + kw) * icg;
        for (int ic = 0; ic < icg; ic++) {
          float xv[2];
          SP_UNROLL_BLOCK
          for (int h = 0; h < np / 2; h++)
            xv[h] = sp_pair(((const sp_f16 *)(xq[2 * h] + xo))[ic], ((const sp_f16 *)(xq[2 * h + 1] + xo))[ic]);
          SP_UNROLL_BLOCK
          for (int j = 0; j < nb; j++) {
            _Float16 wv = wp[j * wstride + ic];
            SP_UNROLL_BLOCK
            for (int h = 0; h < np / 2; h++) acc[h][j] = sp_vfmac_r(acc[h][j], xv[h], wv);
          }
        }
      }
    }
    SP_UNROLL_BLOCK
    for (int h = 0; h < np / 2; h++)
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb; j++) {
        ((sp_f16 *)y0)[(size_t)(2 * h) * s->out_c + j] = sp_pair_lo(acc[h][j]);
        ((sp_f16 *)y0)[(size_t)(2 * h + 1) * s->out_c + j] = sp_pair_hi(acc[h][j]);
      }
    return;
  }
#endif
  (void)packed;
  sp_nacc acc[4][SP_NB_MAX];
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++) acc[q][j] = sp_nacc_start(mode, b != NULL ? b[oc0 + j] : (_Float16)0);
  for (int kh = 0; kh < t.kh1 - t.kh0; kh++) {
    for (int kw = 0; kw < t.kw1 - t.kw0; kw++) {
      size_t xo = ((size_t)kh * s->in_w + kw) * s->in_c;
      const sp_h16 *wp = w0 + ((size_t)kh * s->k_w + kw) * icg;
      for (int ic = 0; ic < icg; ic++) {
        _Float16 v[4];
        SP_UNROLL_BLOCK
        for (int q = 0; q < np; q++) v[q] = xq[q][xo + ic];
        SP_UNROLL_BLOCK
        for (int j = 0; j < nb; j++) {
          _Float16 wv = wp[j * wstride + ic];
          SP_UNROLL_BLOCK
          for (int q = 0; q < np; q++) sp_nacc_mac(mode, &acc[q][j], v[q], wv);
        }
      }
    }
  }
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++) y0[(size_t)q * s->out_c + j] = sp_nacc_result(mode, acc[q][j]);
}

/* The forward with the limits of cfg (F16_CFG): runs of up to px neighbouring
 * pixels of the core's range with the same taps share a pass (1, 2 or 4 of
 * them), times up to nb output channels of a group, at most 16 accumulator
 * registers (a packed register holds two pixels). */
SP_BLOCK void f16_fwd_native(const sp_conv2d_shape *s, const sp_h16 *x, const sp_h16 *w,
                             const sp_h16 *b, sp_h16 *y, int core_id, int num_cores, int mode,
                             int cfg) {
  int lo, hi, ocg = s->out_c / s->groups, maxpx = F16_CFG_PX(cfg);
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi;) {
    f16_window t = f16_window_of(s, p);
    size_t x0[4] = {t.x0, t.x0, t.x0, t.x0};
    int run = 1;
    for (; run < maxpx && p + run < hi; run++) {
      f16_window u = f16_window_of(s, p + run);
      if (!f16_same_taps(t, u)) break;
      x0[run] = u.x0;
    }
    int np = f16_run_block(run);
    int packed = SP_F16_XFVEC && np >= 2 && mode == SP_F16_ACC_F16;
    int cap = sp_min(F16_CFG_NB(cfg), 16 / (packed ? np / 2 : np));
    for (int g = 0; g < s->groups; g++) {
      for (int oc0 = g * ocg; oc0 < (g + 1) * ocg;) {
        int nb = sp_nb_width((g + 1) * ocg - oc0, cap);
/* (The caps keep every instance within 16 accumulator registers.) */
#define F16_FWD(n)                                                                           \
  if (maxpx >= 4 && np == 4 && packed)                                                       \
    f16_fwd_block(s, x, w, b, y, p, t, x0, g, oc0, n <= 8 ? n : 8, 4, 1, mode);              \
  else if (maxpx >= 4 && np == 4)                                                            \
    f16_fwd_block(s, x, w, b, y, p, t, x0, g, oc0, n <= 4 ? n : 4, 4, 0, mode);              \
  else if (maxpx >= 2 && np == 2 && packed)                                                  \
    f16_fwd_block(s, x, w, b, y, p, t, x0, g, oc0, n, 2, 1, mode);                           \
  else if (maxpx >= 2 && np == 2)                                                            \
    f16_fwd_block(s, x, w, b, y, p, t, x0, g, oc0, n <= 8 ? n : 8, 2, 0, mode);              \
  else                                                                                       \
    f16_fwd_block(s, x, w, b, y, p, t, x0, g, oc0, n, 1, 0, mode)
        F16_WIDTHS(F16_FWD, nb)
#undef F16_FWD
        oc0 += nb;
      }
    }
    p += np;
  }
}

/* The forward variants: 0 runs of up to 4 pixels (x 8 channels packed, x 4
 * scalar), 1 pixel pairs x 16 channels (x 8 scalar), 2 single pixels x 16
 * channels, 3 pixel pairs x 8 channels. */
#define F16_FWD_VARIANT(...)                                                                  \
  SP_CALL_VARIANT(f16_fwd_native, F16_CFG(4, 16, 1), F16_CFG(2, 16, 1), F16_CFG(1, 16, 1),   \
                  F16_CFG(2, 8, 1), __VA_ARGS__)

int sp_f16_conv_fwd_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                           const sp_f16 *b, sp_f16 *y, int mode, int core_id, int num_cores) {
  if (sp_conv_is_depthwise(s)) return 0;
  SP_F16_DISPATCH(mode, F16_FWD_VARIANT, s, (const sp_h16 *)x, (const sp_h16 *)w,
                  (const sp_h16 *)b, (sp_h16 *)y, core_id, num_cores);
  return 1;
}

/* ------------------------------------------------------------- input grad */

/* Input pixel (ih, iw) and the output positions whose windows cover it: rows
 * [oh0, oh1), columns [ow0, ow1) (sp_covering_outputs). */
typedef struct {
  int ih, iw, oh0, oh1, ow0, ow1;
} f16_cover;

static inline f16_cover f16_cover_of(const sp_conv2d_shape *s, int ih, int iw) {
  f16_cover c;
  c.ih = ih;
  c.iw = iw;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &c.oh0, &c.oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &c.ow0, &c.ow1);
  return c;
}

/* The next pixel's: along a row without dividing (sp_covering_next). */
static inline f16_cover f16_cover_next(const sp_conv2d_shape *s, f16_cover c) {
  if (c.iw + 1 == s->in_w) return f16_cover_of(s, c.ih + 1, 0);
  c.iw++;
  sp_covering_next(c.iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &c.ow0, &c.ow1);
  return c;
}

/* Whether b's windows, in order, apply the same taps as a's: the same row and
 * number of windows, and the same first column tap (stride 1 neighbours). */
static inline int f16_cover_shared(const sp_conv2d_shape *s, f16_cover a, f16_cover b) {
  return a.ih == b.ih && a.ow1 - a.ow0 == b.ow1 - b.ow0 &&
         a.iw - a.ow0 * s->stride_w == b.iw - b.ow0 * s->stride_w;
}

/* Input pixel p (and p + 1 when np == 2, whose windows c.ow0 + d are at
 * ow0b + d with the same taps), channels icl0 .. icl0+nb-1 of group g: +0, then
 * dy * w over the covering output positions (oh, ow) ascending and, within
 * one, the group's output channels ascending. The pixels share each weight
 * load; packed: channel pairs, adjacent in w, load as one word and are the
 * lanes of one register. */
SP_BLOCK void f16_bwd_input_block(const sp_conv2d_shape *s, const sp_h16 *dy, const sp_h16 *w,
                                  sp_h16 *dx, int p, f16_cover c, int ow0b, int g, int icl0,
                                  int nb, int np, int packed, int mode) {
  int icg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  size_t wstride = (size_t)s->k_h * s->k_w * icg;
  sp_h16 *dxp = dx + (size_t)p * s->in_c + (size_t)g * icg + icl0;
  int nw = c.ow1 - c.ow0;
#if SP_F16_XFVEC
  if (packed) {
    float acc[2][SP_NB_MAX / 2];
    SP_UNROLL_BLOCK
    for (int q = 0; q < np; q++)
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / 2; j++) acc[q][j] = 0.0f;
    for (int oh = c.oh0; oh < c.oh1; oh++) {
      int kh = c.ih + s->pad_top - oh * s->stride_h;
      for (int d = 0; d < nw; d++) {
        int kw = c.iw + s->pad_left - (c.ow0 + d) * s->stride_w;
        const sp_h16 *dy0 = dy + ((size_t)oh * s->out_w + c.ow0 + d) * s->out_c + (size_t)g * ocg;
        const sp_h16 *dy1 = dy + ((size_t)oh * s->out_w + ow0b + d) * s->out_c + (size_t)g * ocg;
        const sp_h16 *wp = w + (((size_t)g * ocg * s->k_h + kh) * s->k_w + kw) * icg + icl0;
        for (int oc = 0; oc < ocg; oc++) {
          _Float16 d0 = dy0[oc], d1 = np == 2 ? dy1[oc] : (_Float16)0;
          const sp_h16 *wr = wp + oc * wstride;
          SP_UNROLL_BLOCK
          for (int j = 0; j < nb / 2; j++) {
            float wv = sp_pair_load(wr + 2 * j);
            acc[0][j] = sp_vfmac_r(acc[0][j], wv, d0);
            if (np == 2) acc[1][j] = sp_vfmac_r(acc[1][j], wv, d1);
          }
        }
      }
    }
    SP_UNROLL_BLOCK
    for (int q = 0; q < np; q++)
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / 2; j++) {
        ((sp_f16 *)dxp)[(size_t)q * s->in_c + 2 * j] = sp_pair_lo(acc[q][j]);
        ((sp_f16 *)dxp)[(size_t)q * s->in_c + 2 * j + 1] = sp_pair_hi(acc[q][j]);
      }
    return;
  }
#endif
  (void)packed;
  sp_nacc acc[2][SP_NB_MAX];
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++) acc[q][j] = sp_nacc_start(mode, (_Float16)0);
  for (int oh = c.oh0; oh < c.oh1; oh++) {
    int kh = c.ih + s->pad_top - oh * s->stride_h;
    for (int d = 0; d < nw; d++) {
      int kw = c.iw + s->pad_left - (c.ow0 + d) * s->stride_w;
      const sp_h16 *dy0 = dy + ((size_t)oh * s->out_w + c.ow0 + d) * s->out_c + (size_t)g * ocg;
      const sp_h16 *dy1 = dy + ((size_t)oh * s->out_w + ow0b + d) * s->out_c + (size_t)g * ocg;
      const sp_h16 *wp = w + (((size_t)g * ocg * s->k_h + kh) * s->k_w + kw) * icg + icl0;
      for (int oc = 0; oc < ocg; oc++) {
        _Float16 d0 = dy0[oc], d1 = np == 2 ? dy1[oc] : (_Float16)0;
        const sp_h16 *wr = wp + oc * wstride;
        SP_UNROLL_BLOCK
        for (int j = 0; j < nb; j++) {
          _Float16 wv = wr[j];
          sp_nacc_mac(mode, &acc[0][j], d0, wv);
          if (np == 2) sp_nacc_mac(mode, &acc[1][j], d1, wv);
        }
      }
    }
  }
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++) dxp[(size_t)q * s->in_c + j] = sp_nacc_result(mode, acc[q][j]);
}

/* The input gradient with the limits of cfg: one input pixel, or with px = 2
 * a pixel pair whose windows apply the same taps, times up to nb input
 * channels of a group, at most 16 accumulator registers; channel pairs load
 * as one word when cfg allows it and they are aligned. */
SP_BLOCK void f16_bwd_input_native(const sp_conv2d_shape *s, const sp_h16 *dy, const sp_h16 *w,
                                   sp_h16 *dx, int core_id, int num_cores, int mode, int cfg) {
  int lo, hi, icg = s->in_c / s->groups, maxpx = F16_CFG_PX(cfg);
  /* Pairs of channels load as one word: aligned when w is and every pair starts
   * at an even index (icg even; blocks are even-sized). */
  int packed = SP_F16_XFVEC && F16_CFG_PACKED(cfg) && mode == SP_F16_ACC_F16 && icg % 2 == 0 &&
               ((uintptr_t)w & 3u) == 0;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  f16_cover c = f16_cover_of(s, lo / s->in_w, lo % s->in_w);
  for (int p = lo; p < hi;) {
    f16_cover nx = c;
    int np = 1;
    if (p + 1 < hi) {
      nx = f16_cover_next(s, c);
      if (maxpx >= 2 && f16_cover_shared(s, c, nx)) np = 2;
    }
    int cap = sp_min(F16_CFG_NB(cfg), (packed ? 32 : 16) / np);
    for (int g = 0; g < s->groups; g++) {
      for (int icl0 = 0; icl0 < icg;) {
        int nb = sp_nb_width(icg - icl0, cap);
#define F16_BWD_INPUT(n)                                                                       \
  if (maxpx >= 2 && np == 2 && packed)                                                         \
    f16_bwd_input_block(s, dy, w, dx, p, c, nx.ow0, g, icl0, n, 2, n >= 2, mode);            \
  else if (maxpx >= 2 && np == 2)                                                              \
    f16_bwd_input_block(s, dy, w, dx, p, c, nx.ow0, g, icl0, n <= 8 ? n : 8, 2, 0, mode);    \
  else if (packed)                                                                             \
    f16_bwd_input_block(s, dy, w, dx, p, c, c.ow0, g, icl0, n, 1, n >= 2, mode);            \
  else                                                                                         \
    f16_bwd_input_block(s, dy, w, dx, p, c, c.ow0, g, icl0, n, 1, 0, mode)
        F16_WIDTHS(F16_BWD_INPUT, nb)
#undef F16_BWD_INPUT
        icl0 += nb;
      }
    }
    p += np;
    if (p < hi) c = np == 2 ? f16_cover_next(s, nx) : nx;
  }
}

/* The input-gradient variants: 0 pixel pairs that share taps (else single
 * pixels) x 16 channels (x 8 scalar), 1 single pixels x 16 channels, 2 pixel
 * pairs x 8 channels, 3 single pixels x 16 channels with scalar loads only (in
 * fp32 accumulation, which has no packed loads, the same as 1). */
#define F16_BWD_INPUT_VARIANT(...)                                                            \
  SP_CALL_VARIANT(f16_bwd_input_native, F16_CFG(2, 16, 1), F16_CFG(1, 16, 1),                 \
                  F16_CFG(2, 8, 1), F16_CFG(1, 16, 0), __VA_ARGS__)

int sp_f16_conv_bwd_input_native(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                 sp_f16 *dx, int mode, int core_id, int num_cores) {
  if (sp_conv_is_depthwise(s)) return 0;
  SP_F16_DISPATCH(mode, F16_BWD_INPUT_VARIANT, s, (const sp_h16 *)dy, (const sp_h16 *)w,
                  (sp_h16 *)dx, core_id, num_cores);
  return 1;
}

/* ------------------------------------------------------------ weight grad */

/* Taps k .. k+nt-1 (nt = 1, 2 or 4: neighbouring input channels ic.., the
 * same kh, kw), output channels oc0 .. oc0+nb-1 of their group, whose taps are
 * inside x at output rows [oh0, oh1) and columns [ow0, ow1): +0, then x * dy
 * over those positions, (oh, ow) ascending. The taps share each dy load;
 * packed: output channel pairs, adjacent in dy, load as one word and are the
 * lanes of one register. */
SP_BLOCK void f16_bwd_weight_block(const sp_conv2d_shape *s, const sp_h16 *x, const sp_h16 *dy,
                                   sp_h16 *dw, int accumulate, int k, int kh, int kw, int ic,
                                   int oh0, int oh1, int ow0, int ow1, int oc0, int nb, int nt,
                                   int packed, int mode) {
  int taps = s->k_h * s->k_w * (s->in_c / s->groups);
  sp_h16 *dst = dw + (size_t)oc0 * taps + k;
#if SP_F16_XFVEC
  if (packed) {
    float acc[4][SP_NB_MAX / 2];
    SP_UNROLL_BLOCK
    for (int q = 0; q < nt; q++)
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / 2; j++) acc[q][j] = 0.0f;
    for (int oh = oh0; oh < oh1; oh++) {
      int ih = oh * s->stride_h - s->pad_top + kh;
      for (int ow = ow0; ow < ow1; ow++) {
        int iw = ow * s->stride_w - s->pad_left + kw;
        const sp_h16 *xp = x + ((size_t)ih * s->in_w + iw) * s->in_c + ic;
        const sp_h16 *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c + oc0;
        _Float16 xv[4];
        SP_UNROLL_BLOCK
        for (int q = 0; q < nt; q++) xv[q] = xp[q];
        SP_UNROLL_BLOCK
        for (int j = 0; j < nb / 2; j++) {
          float d = sp_pair_load(dyp + 2 * j);
          SP_UNROLL_BLOCK
          for (int q = 0; q < nt; q++) acc[q][j] = sp_vfmac_r(acc[q][j], d, xv[q]);
        }
      }
    }
    SP_UNROLL_BLOCK
    for (int q = 0; q < nt; q++) {
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / 2; j++) {
        sp_nacc_store(sp_h_from_bits(sp_pair_lo(acc[q][j])), dst + (size_t)(2 * j) * taps + q, accumulate);
        sp_nacc_store(sp_h_from_bits(sp_pair_hi(acc[q][j])), dst + (size_t)(2 * j + 1) * taps + q, accumulate);
      }
    }
    return;
  }
#endif
  (void)packed;
  sp_nacc acc[4][SP_NB_MAX];
  SP_UNROLL_BLOCK
  for (int q = 0; q < nt; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++) acc[q][j] = sp_nacc_start(mode, (_Float16)0);
  for (int oh = oh0; oh < oh1; oh++) {
    int ih = oh * s->stride_h - s->pad_top + kh;
    for (int ow = ow0; ow < ow1; ow++) {
      int iw = ow * s->stride_w - s->pad_left + kw;
      const sp_h16 *xp = x + ((size_t)ih * s->in_w + iw) * s->in_c + ic;
      const sp_h16 *dyp = dy + ((size_t)oh * s->out_w + ow) * s->out_c + oc0;
      _Float16 xv[4];
      SP_UNROLL_BLOCK
      for (int q = 0; q < nt; q++) xv[q] = xp[q];
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb; j++) {
        _Float16 d = dyp[j];
        SP_UNROLL_BLOCK
        for (int q = 0; q < nt; q++) sp_nacc_mac(mode, &acc[q][j], xv[q], d);
      }
    }
  }
  SP_UNROLL_BLOCK
  for (int q = 0; q < nt; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb; j++)
      sp_nacc_store(sp_nacc_result(mode, acc[q][j]), dst + (size_t)j * taps + q, accumulate);
}

/* The weight gradient with the limits of cfg: runs of up to px taps of the
 * core's range on neighbouring input channels (1, 2 or 4 of them) times up to
 * nb output channels of a group, at most 16 accumulator registers (a packed
 * register holds two channels). */
SP_BLOCK void f16_bwd_weight_native(const sp_conv2d_shape *s, const sp_h16 *x, const sp_h16 *dy,
                                    sp_h16 *dw, int accumulate, int core_id, int num_cores,
                                    int mode, int cfg) {
  int lo, hi, icg = s->in_c / s->groups, ocg = s->out_c / s->groups, maxtap = F16_CFG_PX(cfg);
  /* Pairs of output channels load as one word: aligned when dy is and every
   * pair starts at an even index (out_c and ocg even; blocks are even-sized). */
  int packed = SP_F16_XFVEC && mode == SP_F16_ACC_F16 && s->out_c % 2 == 0 && ocg % 2 == 0 &&
               ((uintptr_t)dy & 3u) == 0;
  sp_core_range(s->k_h * s->k_w * icg, 1, core_id, num_cores, &lo, &hi);
  for (int k = lo; k < hi;) {
    int kh = k / (s->k_w * icg), kw = (k / icg) % s->k_w, icl = k % icg;
    int nt = f16_run_block(sp_min(maxtap, sp_min(hi - k, icg - icl)));
    int cap = sp_min(F16_CFG_NB(cfg), (packed ? 32 : 16) / nt);
    int oh0, oh1, ow0, ow1;
    sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
    sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
    for (int g = 0; g < s->groups; g++) {
      int ic = g * icg + icl;
      for (int oc0 = g * ocg; oc0 < (g + 1) * ocg;) {
        int nb = sp_nb_width((g + 1) * ocg - oc0, cap);
#define F16_BWD_WEIGHT_BLOCK(n, t, pk) \
  f16_bwd_weight_block(s, x, dy, dw, accumulate, k, kh, kw, ic, oh0, oh1, ow0, ow1, oc0, n, t, pk, mode)
#define F16_BWD_WEIGHT(n)                                        \
  if (maxtap >= 4 && nt == 4 && packed)                          \
    F16_BWD_WEIGHT_BLOCK(n <= 8 ? n : 8, 4, n >= 2);             \
  else if (maxtap >= 4 && nt == 4)                               \
    F16_BWD_WEIGHT_BLOCK(n <= 4 ? n : 4, 4, 0);                  \
  else if (maxtap >= 2 && nt == 2 && packed)                     \
    F16_BWD_WEIGHT_BLOCK(n, 2, n >= 2);                          \
  else if (maxtap >= 2 && nt == 2)                               \
    F16_BWD_WEIGHT_BLOCK(n <= 8 ? n : 8, 2, 0);                  \
  else if (packed)                                               \
    F16_BWD_WEIGHT_BLOCK(n, 1, n >= 2);                          \
  else                                                           \
    F16_BWD_WEIGHT_BLOCK(n, 1, 0)
        F16_WIDTHS(F16_BWD_WEIGHT, nb)
#undef F16_BWD_WEIGHT
#undef F16_BWD_WEIGHT_BLOCK
        oc0 += nb;
      }
    }
    k += nt;
  }
}

/* The weight-gradient variants: 0 runs of up to 4 taps (x 8 channels packed,
 * x 4 scalar), 1 tap pairs x 16 channels (x 8 scalar), 2 single taps x 16
 * channels, 3 tap pairs x 8 channels. */
#define F16_BWD_WEIGHT_VARIANT(...)                                                           \
  SP_CALL_VARIANT(f16_bwd_weight_native, F16_CFG(4, 16, 1), F16_CFG(2, 16, 1),                \
                  F16_CFG(1, 16, 1), F16_CFG(2, 8, 1), __VA_ARGS__)

int sp_f16_conv_bwd_weight_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                                  sp_f16 *dw, int accumulate, int mode, int core_id,
                                  int num_cores) {
  if (sp_conv_is_depthwise(s)) return 0;
  SP_F16_DISPATCH(mode, F16_BWD_WEIGHT_VARIANT, s, (const sp_h16 *)x, (const sp_h16 *)dy,
                  (sp_h16 *)dw, accumulate, core_id, num_cores);
  return 1;
}

#endif /* SP_F16_NATIVE */
