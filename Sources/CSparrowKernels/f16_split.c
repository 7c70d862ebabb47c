/*
 * f16_split.c — fp16 channel gather and the fp16 conv / linear kernels that
 * read a weight split into a frozen full tensor and a trainable slice of
 * selected input channels (sparrow_kernels_f16.h; the FP32 versions are
 * gather.c and split.c, whose top comment explains the two strategies; the
 * helpers are in sp_split.h).
 *
 * Each output element is computed exactly as the plain fp16 kernel computes
 * it (f16_conv.c, f16_conv_rv32.c, f16_linear.c): by the same core (forward:
 * output pixels or outputs; input gradient: input pixels or inputs), from the
 * same start value, with the same terms in the same order, each one
 * multiply-accumulate of the mode (an fp16 fma, or an exact fp32 product and
 * an fp32 add) with the same operands, and the same final rounding. So the
 * bits equal the plain kernels' on the merged weight for any core count and
 * both accumulation modes:
 *
 *  Forward, ordinary conv and linear: register blocks of pixels (with the
 *  same taps) times output channels visit each tap row's channels in
 *  ascending order, each channel's weight row (w or w_sel) picked branch-free
 *  from a per-call channel table, or, where runs average 3 channels or more
 *  (and for rows wider than the table), walked run by run; every load serves
 *  a whole row or column of the block. On rv32 with Zfh the blocks are
 *  f16_conv_rv32.c's: fmadd.h / fmadd.s on the native halves, and with Xfvec
 *  in fp16 accumulation a pixel pair in the two lanes of one register
 *  (vfmac.r.h: each lane one fmadd.h of its own pixel). On the host each
 *  operand is widened once per block row or column (sp_h2f is exact, so the
 *  products and sums are sp_acc_mac's).
 *
 *  Input gradient and depthwise: an element reads its own channel's weights
 *  only, so every channel is computed from w first (the elements of selected
 *  channels, made of whatever w holds there, are discarded), then the
 *  selected channels again from w_sel by the same core, in the plain kernel's
 *  order, over them. The first pass is the plain kernel on rv32 (tuned
 *  register blocks) and for depthwise convs; on the host, the ordinary conv's
 *  two passes are blocks of pixels that apply the same taps times channels,
 *  each operand widened once per block.
 */
#include "sp_f16.h"
#include "sp_f16_rv32.h"
#include "sp_split.h"

#if !SP_F16_NATIVE && !defined(SP_F16_XFVEC)
#define SP_F16_XFVEC 0 /* packed FP16 SIMD: rv32 builds only (sp_f16_rv32.h) */
#endif

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

/* ----------------------------------------------- one multiply-accumulate */

#if SP_F16_NATIVE
/* Elements as the compiler's half type (flh / fsh). */
typedef sp_h16 f16s_el;
#define F16S_UNROLL SP_UNROLL_BLOCK
typedef sp_nacc f16s_acc;
#define F16S_START(mode, init) sp_nacc_start(mode, init)
#define F16S_ZERO ((_Float16)0)
#define F16S_WIDE(v) (v) /* fmadd.s widens the shared operand once (see sp_nacc_mac) */
#define F16S_MAC(mode, a, xv, yv) sp_nacc_mac(mode, a, xv, yv)
#define F16S_RESULT(mode, a) sp_nacc_result(mode, a)
typedef _Float16 f16s_wide;
#else
typedef sp_f16 f16s_el;
#define F16S_UNROLL
typedef sp_f16_accum f16s_acc;
/* sp_acc_start from a value (the bias's bits, or +0). */
SP_BLOCK sp_f16_accum f16s_start(int mode, sp_f16 init) { return sp_acc_start(mode, &init); }
#define F16S_START(mode, init) f16s_start(mode, init)
#define F16S_ZERO ((sp_f16)0)
#define F16S_WIDE(v) sp_h2f(v) /* exact; each operand of a block is widened once */
typedef float f16s_wide;

/* sp_acc_mac(mode, a, x, y) with x and y given widened. */
SP_BLOCK void f16s_mac(int mode, sp_f16_accum *a, float x, float y) {
  if (mode == SP_F16_ACC_F16)
    a->h = sp_h_fma_wide(x, y, a->h);
  else
    a->f = sp_f32_mac(a->f, x, y);
}
#define F16S_MAC(mode, a, xv, yv) f16s_mac(mode, a, xv, yv)
/* sp_acc_store's result. */
#define F16S_RESULT(mode, a) ((mode) == SP_F16_ACC_F16 ? (a).h : sp_f2h((a).f))
#endif

/* ========================================================== conv forward */

/* Calls CHANNEL(i, wp, st) for the channels i of one tap row in ascending
 * order, wp the channel's weight for output channel oc0 (the next ones st
 * apart): from the per-call table when there is one, else run by run. wf, wsl:
 * the tap's row of w and of w_sel for oc0. */
#define F16S_CHANNELS(CHANNEL)                                                                  \
  do {                                                                                          \
    if (tab != NULL) {                                                                          \
      for (int ic = 0; ic < c; ic++) {                                                          \
        size_t st;                                                                              \
        const f16s_el *wp = (const f16s_el *)sp_split_pick(tab[ic], ic, (uintptr_t)wf,          \
                                                           (uintptr_t)wsl, sizeof(f16s_el), sf, \
                                                           ss, &st);                            \
        CHANNEL(ic, wp, st);                                                                    \
      }                                                                                         \
    } else {                                                                                    \
      for (int ic = 0, j = 0, len, sl; ic < c; ic += len) {                                     \
        len = sp_split_run(sel, k, c, ic, j, &sl);                                              \
        const f16s_el *wp = sl ? wsl + j : wf + ic;                                             \
        size_t st = sl ? ss : sf;                                                               \
        for (int i = 0; i < len; i++) CHANNEL(ic + i, wp + i, st);                              \
        if (sl) j += len;                                                                       \
      }                                                                                         \
    }                                                                                           \
  } while (0)

/* Pixels p .. p+np-1 (the same taps t; pixel q's first tap at x0[q]), output
 * channels oc0 .. oc0+nb-1: b[oc] (or +0), then x * w over the taps (kh, kw,
 * ic) ascending, each channel's weights from w or w_sel (F16S_CHANNELS).
 * packed (native, Xfvec, fp16 accumulation, np 2 or 4): pixels 2h and 2h+1
 * in the lanes of one register per channel, updated by one vfmac.r.h. nb, np,
 * packed and mode are literals. */
SP_BLOCK void f16s_fwd_block(const sp_conv2d_shape *s, const f16s_el *x, const f16s_el *w,
                             const f16s_el *w_sel, const int32_t *sel, int k, const uint8_t *tab,
                             const f16s_el *b, f16s_el *y, int p, sp_conv_window t,
                             const size_t *x0, int oc0, int nb, int np, int packed, int mode) {
  const int c = s->in_c;
  const size_t sf = (size_t)s->k_h * s->k_w * c, ss = (size_t)s->k_h * s->k_w * k;
  f16s_el *y0 = y + (size_t)p * s->out_c + oc0;
#if SP_F16_XFVEC
  if (packed) {
    float acc[2][SP_NB_MAX];
    F16S_UNROLL
    for (int o = 0; o < nb; o++) {
      sp_f16 bo = b != NULL ? sp_h_to_bits(b[oc0 + o]) : 0;
      F16S_UNROLL
      for (int h = 0; h < np / 2; h++) acc[h][o] = sp_pair(bo, bo);
    }
    for (int kh = t.kh0; kh < t.kh1; kh++) {
      for (int kw = t.kw0; kw < t.kw1; kw++) {
        size_t xo = ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c;
        size_t tap = (size_t)kh * s->k_w + kw;
        const f16s_el *wf = w + (size_t)oc0 * sf + tap * c, *wsl = w_sel + (size_t)oc0 * ss + tap * k;
        const sp_f16 *xr[4];
        F16S_UNROLL
        for (int q = 0; q < np; q++) xr[q] = (const sp_f16 *)(x + x0[q] + xo);
#define F16S_PACKED_CHANNEL(i, wp, st)                                                  \
  do {                                                                                  \
    float xv[2];                                                                        \
    F16S_UNROLL                                                                         \
    for (int h = 0; h < np / 2; h++) xv[h] = sp_pair(xr[2 * h][i], xr[2 * h + 1][i]);   \
    F16S_UNROLL                                                                         \
    for (int o = 0; o < nb; o++) {                                                      \
      _Float16 wv = (wp)[(size_t)o * (st)];                                             \
      F16S_UNROLL                                                                       \
      for (int h = 0; h < np / 2; h++) acc[h][o] = sp_vfmac_r(acc[h][o], xv[h], wv);    \
    }                                                                                   \
  } while (0)
        F16S_CHANNELS(F16S_PACKED_CHANNEL);
#undef F16S_PACKED_CHANNEL
      }
    }
    F16S_UNROLL
    for (int h = 0; h < np / 2; h++)
      F16S_UNROLL
      for (int o = 0; o < nb; o++) {
        ((sp_f16 *)y0)[(size_t)(2 * h) * s->out_c + o] = sp_pair_lo(acc[h][o]);
        ((sp_f16 *)y0)[(size_t)(2 * h + 1) * s->out_c + o] = sp_pair_hi(acc[h][o]);
      }
    return;
  }
#endif
  (void)packed;
  f16s_acc acc[4][16];
  F16S_UNROLL
  for (int o = 0; o < nb; o++) {
    f16s_acc v = F16S_START(mode, b != NULL ? b[oc0 + o] : F16S_ZERO);
    F16S_UNROLL
    for (int q = 0; q < np; q++) acc[q][o] = v;
  }
  for (int kh = t.kh0; kh < t.kh1; kh++) {
    for (int kw = t.kw0; kw < t.kw1; kw++) {
      size_t xo = ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c;
      size_t tap = (size_t)kh * s->k_w + kw;
      const f16s_el *wf = w + (size_t)oc0 * sf + tap * c, *wsl = w_sel + (size_t)oc0 * ss + tap * k;
      const f16s_el *xr[4];
      F16S_UNROLL
      for (int q = 0; q < np; q++) xr[q] = x + x0[q] + xo;
#define F16S_SCALAR_CHANNEL(i, wp, st)                                                   \
  do {                                                                                   \
    f16s_wide v[4];                                                                      \
    F16S_UNROLL                                                                          \
    for (int q = 0; q < np; q++) v[q] = F16S_WIDE(xr[q][i]);                             \
    F16S_UNROLL                                                                          \
    for (int o = 0; o < nb; o++) {                                                       \
      f16s_wide wv = F16S_WIDE((wp)[(size_t)o * (st)]);                                  \
      F16S_UNROLL                                                                        \
      for (int q = 0; q < np; q++) F16S_MAC(mode, &acc[q][o], v[q], wv);                 \
    }                                                                                    \
  } while (0)
      F16S_CHANNELS(F16S_SCALAR_CHANNEL);
#undef F16S_SCALAR_CHANNEL
    }
  }
  F16S_UNROLL
  for (int q = 0; q < np; q++)
    F16S_UNROLL
    for (int o = 0; o < nb; o++) y0[(size_t)q * s->out_c + o] = F16S_RESULT(mode, acc[q][o]);
}

/* The width of the next channel block: cap (16, 8 or 4) or less, 8, 4, 2, 1. */
static inline int f16s_width(int left, int cap) {
  return left >= cap ? cap : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/* One block of width nb (a literal in each case). */
#define F16S_WIDTHS(CALL, nb)  \
  switch (nb) {                \
    case 16: CALL(16); break;  \
    case 8: CALL(8); break;    \
    case 4: CALL(4); break;    \
    case 2: CALL(2); break;    \
    default: CALL(1); break;   \
  }

/* The forward of the core's output pixels: runs of up to 4 neighbouring pixels
 * with the same taps (blocks of 4, 2 or 1), times blocks of output channels:
 * at most 16 accumulator registers on rv32 (a packed one holds two pixels). */
SP_BLOCK void f16s_fwd(const sp_conv2d_shape *s, const f16s_el *x, const f16s_el *w,
                       const f16s_el *w_sel, const int32_t *sel, int k, const f16s_el *b, f16s_el *y,
                       int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  uint8_t table[SP_SPLIT_TABLE_BYTES];
  /* Runs averaging 3 channels or more are walked (measured: faster than the
   * table for DS-CNN's 8 of 64 in fp16 accumulation, slower for 16 of 64). */
  const uint8_t *tab = sp_split_table(sel, k, s->in_c, 3, table);
  for (int p = lo, np; p < hi; p += np) {
    sp_conv_window t;
    size_t x0[4];
    int run = sp_conv_tap_run(s, p, sp_min(4, hi - p), &t, x0);
    np = run >= 4 ? 4 : run >= 2 ? 2 : 1;
    int packed = SP_F16_XFVEC && np >= 2 && mode == SP_F16_ACC_F16;
    int cap = SP_F16_NATIVE ? 16 / (packed ? np / 2 : np) : 16;
    for (int oc0 = 0, nb; oc0 < s->out_c; oc0 += nb) {
      nb = f16s_width(s->out_c - oc0, cap);
#define F16S_BLOCK(n, P, pk) f16s_fwd_block(s, x, w, w_sel, sel, k, tab, b, y, p, t, x0, oc0, n, P, pk, mode)
#define F16S_FWD(n)                                                  \
  if (np == 4 && packed)                                             \
    F16S_BLOCK(n <= 8 ? n : 8, 4, 1);                                \
  else if (np == 4)                                                  \
    F16S_BLOCK(SP_F16_NATIVE && n > 4 ? 4 : n, 4, 0);                \
  else if (np == 2 && packed)                                        \
    F16S_BLOCK(n, 2, 1);                                             \
  else if (np == 2)                                                  \
    F16S_BLOCK(SP_F16_NATIVE && n > 8 ? 8 : n, 2, 0);                \
  else                                                               \
    F16S_BLOCK(n, 1, 0)
      F16S_WIDTHS(F16S_FWD, nb)
#undef F16S_FWD
#undef F16S_BLOCK
    }
  }
}

/* ------------------------------------------ depthwise, selected channels */

/* Depthwise forward, the selected channels of the core's output pixels: b[c]
 * (or +0), then x * w_sel over the in-bounds taps (kh, kw ascending). */
SP_BLOCK void f16s_dw_fwd_selected(const sp_conv2d_shape *s, const f16s_el *x, const f16s_el *w_sel,
                                   const int32_t *sel, int k, const f16s_el *b, f16s_el *y,
                                   int core_id, int num_cores, int mode) {
  int lo, hi, c = s->in_c;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    sp_conv_window t = sp_conv_window_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      f16s_acc acc = F16S_START(mode, b != NULL ? b[ch] : F16S_ZERO);
      for (int kh = t.kh0; kh < t.kh1; kh++)
        for (int kw = t.kw0; kw < t.kw1; kw++)
          F16S_MAC(mode, &acc,
                   F16S_WIDE(x[t.x0 + ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c + (size_t)ch]),
                   F16S_WIDE(w_sel[((size_t)kh * s->k_w + kw) * k + j]));
      y[(size_t)p * c + ch] = F16S_RESULT(mode, acc);
    }
  }
}

/* Depthwise input gradient, the selected channels of the core's input pixels:
 * +0, then dy * w_sel over the covering outputs (oh, ow ascending). */
SP_BLOCK void f16s_dw_dx_selected(const sp_conv2d_shape *s, const f16s_el *dy, const f16s_el *w_sel,
                                  const int32_t *sel, int k, f16s_el *dx, int core_id, int num_cores,
                                  int mode) {
  int lo, hi, c = s->in_c;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    sp_split_win win = sp_split_win_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      f16s_acc acc = F16S_START(mode, F16S_ZERO);
      for (int a = 0; a < win.nh; a++)
        for (int bb = 0; bb < win.nw; bb++)
          F16S_MAC(mode, &acc, F16S_WIDE(dy[sp_split_win_out(s, &win, a, bb) * c + (size_t)ch]),
                   F16S_WIDE(w_sel[sp_split_win_tap(s, &win, a, bb) * k + j]));
      dx[(size_t)p * c + ch] = F16S_RESULT(mode, acc);
    }
  }
}

/* ------------------------------------------------- ordinary input gradient */

/* Input pixels p .. p+np-1 (the same window grid and taps as win[0]; pixel
 * q's windows start at win[q]), channels ch0 .. ch0+nb-1 of a weight whose
 * element (oc, tap, ch) is wv[oc*st + tap*cs + ch]: +0, then dy * w over the
 * windows (oh, ow ascending) and, within one, oc ascending; stored to
 * dx[pixel][map[ch]] (map NULL: ch). The pixels share each weight, a dy value
 * serves the channels. Native: fmadd.h / fmadd.s, and with packed (Xfvec, fp16
 * accumulation, at most 2 pixels) channel pairs loaded as one word, each lane
 * one fmadd.h. nb, np, packed and mode are literals. */
SP_BLOCK void f16s_dx_block(const sp_conv2d_shape *s, const f16s_el *dy, const f16s_el *wv,
                            size_t st, int cs, const int32_t *map, f16s_el *dx, int p,
                            const sp_split_win *win, int ch0, int nb, int np, int packed, int mode) {
#if SP_F16_XFVEC
  if (packed) {
    float acc[2][SP_NB_MAX / 2];
    F16S_UNROLL
    for (int q = 0; q < np; q++)
      F16S_UNROLL
      for (int l = 0; l < nb / 2; l++) acc[q][l] = 0.0f;
    for (int a = 0; a < win[0].nh; a++) {
      for (int bb = 0; bb < win[0].nw; bb++) {
        const f16s_el *d[2];
        F16S_UNROLL
        for (int q = 0; q < np; q++)
          d[q] = dy + sp_split_win_out(s, &win[q], a, bb) * s->out_c;
        const f16s_el *wp = wv + sp_split_win_tap(s, &win[0], a, bb) * cs + ch0;
        for (int oc = 0; oc < s->out_c; oc++, wp += st) {
          _Float16 dv[2];
          F16S_UNROLL
          for (int q = 0; q < np; q++) dv[q] = d[q][oc];
          F16S_UNROLL
          for (int l = 0; l < nb / 2; l++) {
            float wl = sp_pair_load(wp + 2 * l);
            F16S_UNROLL
            for (int q = 0; q < np; q++) acc[q][l] = sp_vfmac_r(acc[q][l], wl, dv[q]);
          }
        }
      }
    }
    F16S_UNROLL
    for (int q = 0; q < np; q++) {
      sp_f16 *out = (sp_f16 *)(dx + (size_t)(p + q) * s->in_c);
      F16S_UNROLL
      for (int l = 0; l < nb / 2; l++) {
        out[map != NULL ? map[ch0 + 2 * l] : ch0 + 2 * l] = sp_pair_lo(acc[q][l]);
        out[map != NULL ? map[ch0 + 2 * l + 1] : ch0 + 2 * l + 1] = sp_pair_hi(acc[q][l]);
      }
    }
    return;
  }
#endif
  (void)packed;
  f16s_acc acc[4][16];
  F16S_UNROLL
  for (int q = 0; q < np; q++)
    F16S_UNROLL
    for (int l = 0; l < nb; l++) acc[q][l] = F16S_START(mode, F16S_ZERO);
  for (int a = 0; a < win[0].nh; a++) {
    for (int bb = 0; bb < win[0].nw; bb++) {
      const f16s_el *d[4];
      F16S_UNROLL
      for (int q = 0; q < np; q++)
        d[q] = dy + sp_split_win_out(s, &win[q], a, bb) * s->out_c;
      const f16s_el *wp = wv + sp_split_win_tap(s, &win[0], a, bb) * cs + ch0;
      for (int oc = 0; oc < s->out_c; oc++, wp += st) {
        f16s_wide dv[4];
        F16S_UNROLL
        for (int q = 0; q < np; q++) dv[q] = F16S_WIDE(d[q][oc]);
        F16S_UNROLL
        for (int l = 0; l < nb; l++) {
          f16s_wide wl = F16S_WIDE(wp[l]);
          F16S_UNROLL
          for (int q = 0; q < np; q++) F16S_MAC(mode, &acc[q][l], dv[q], wl);
        }
      }
    }
  }
  F16S_UNROLL
  for (int q = 0; q < np; q++) {
    f16s_el *out = dx + (size_t)(p + q) * s->in_c;
    F16S_UNROLL
    for (int l = 0; l < nb; l++) out[map != NULL ? map[ch0 + l] : ch0 + l] = F16S_RESULT(mode, acc[q][l]);
  }
}

/* The channels [0, n) of the core's input pixels from the weight (wv, st, cs)
 * into dx[pixel][map[ch]] (see f16s_dx_block): runs of neighbouring pixels
 * that apply the same taps (up to 4 on the host, 2 on rv32) share a block;
 * on rv32 channel pairs are packed when they can load as words. */
SP_BLOCK void f16s_dx_channels(const sp_conv2d_shape *s, const f16s_el *dy, const f16s_el *wv, size_t st,
                               int cs, const int32_t *map, int n, f16s_el *dx, int core_id,
                               int num_cores, int mode) {
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  int packed = SP_F16_XFVEC && mode == SP_F16_ACC_F16 && cs % 2 == 0 && ((uintptr_t)wv & 3u) == 0;
  for (int p = lo, np; p < hi; p += np) {
    sp_split_win win[4] = {{0, 0, 0, 0, 0, 0}}; /* (all set before use; quiets gcc) */
    np = sp_split_win_run(s, p, hi, SP_F16_NATIVE ? 2 : 4, win);
    /* rv32: at most 16 accumulator registers (a packed one holds two channels). */
    int cap = SP_F16_NATIVE && !packed ? 16 / np : 16;
    for (int ch0 = 0, nb; ch0 < n; ch0 += nb) {
      nb = f16s_width(n - ch0, cap);
#define F16S_DX(nbl)                                                                         \
  if (packed && np == 2)                                                                     \
    f16s_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, nbl, 2, nbl >= 2, mode);          \
  else if (packed)                                                                           \
    f16s_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, nbl, 1, nbl >= 2, mode);          \
  else if (!SP_F16_NATIVE && np == 4)                                                        \
    f16s_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, nbl, 4, 0, mode);                 \
  else if (np == 2)                                                                          \
    f16s_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, SP_F16_NATIVE && nbl > 8 ? 8 : nbl, 2, 0, mode); \
  else                                                                                       \
    f16s_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, nbl, 1, 0, mode)
      F16S_WIDTHS(F16S_DX, nb)
#undef F16S_DX
    }
  }
}

/* ------------------------------------------------------------ entry points */

SP_BLOCK void f16s_conv_fwd(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                            const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b, sp_f16 *y,
                            int core_id, int num_cores, int mode) {
  if (sp_conv_is_depthwise(s)) {
    sp_conv2d_fwd_f16(s, x, w, b, y, (sp_f16_acc)mode, core_id, num_cores);
    f16s_dw_fwd_selected(s, (const f16s_el *)x, (const f16s_el *)w_sel, sel, k, (const f16s_el *)b,
                         (f16s_el *)y, core_id, num_cores, mode);
    return;
  }
  f16s_fwd(s, (const f16s_el *)x, (const f16s_el *)w, (const f16s_el *)w_sel, sel, k,
           (const f16s_el *)b, (f16s_el *)y, core_id, num_cores, mode);
}

void sp_conv2d_fwd_split_f16(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  if (!sp_split_shape_ok(s)) return;
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w; /* never read; keeps w_sel + offset defined */
  }
  SP_F16_DISPATCH(mode, f16s_conv_fwd, s, x, w, w_sel, sel, k, b, y, core_id, num_cores);
}

SP_BLOCK void f16s_conv_dx(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                           const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx, int core_id,
                           int num_cores, int mode) {
  const f16s_el *d = (const f16s_el *)dy;
  if (sp_conv_is_depthwise(s)) {
    sp_conv2d_bwd_input_f16(s, dy, w, dx, (sp_f16_acc)mode, core_id, num_cores);
    f16s_dw_dx_selected(s, d, (const f16s_el *)w_sel, sel, k, (f16s_el *)dx, core_id, num_cores, mode);
    return;
  }
  size_t taps = (size_t)s->k_h * s->k_w;
#if SP_F16_NATIVE
  /* The plain register-blocked kernel on w (f16_conv_rv32.c). */
  sp_conv2d_bwd_input_f16(s, dy, w, dx, (sp_f16_acc)mode, core_id, num_cores);
#else
  f16s_dx_channels(s, d, (const f16s_el *)w, taps * s->in_c, s->in_c, NULL, s->in_c, (f16s_el *)dx,
                   core_id, num_cores, mode);
#endif
  if (k > 0)
    f16s_dx_channels(s, d, (const f16s_el *)w_sel, taps * k, k, sel, k, (f16s_el *)dx, core_id,
                     num_cores, mode);
}

void sp_conv2d_bwd_input_split_f16(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                   const sp_f16 *w_sel, const int32_t *sel, int k, sp_f16 *dx,
                                   sp_f16_acc mode, int core_id, int num_cores) {
  if (!sp_split_shape_ok(s)) return;
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w;
  }
  SP_F16_DISPATCH(mode, f16s_conv_dx, s, dy, w, w_sel, sel, k, dx, core_id, num_cores);
}

/* ------------------------------------------------------------------ linear */

/* Rows o .. o+nr-1 (nr a literal: 8, 4, 2 or 1) side by side: b[o] (or +0),
 * then x[i] * w[o][i], i ascending (as f16_linear_fwd), each input's weights
 * picked from the table (tab), or walked as runs (tab NULL). */
SP_BLOCK void f16s_linear_rows(int n, const f16s_el *x, const f16s_el *w, const f16s_el *w_sel,
                               const int32_t *sel, int k, const uint8_t *tab, const f16s_el *b,
                               f16s_el *y, int o, int nr, int mode) {
  f16s_acc acc[8];
  F16S_UNROLL
  for (int r = 0; r < nr; r++) acc[r] = F16S_START(mode, b != NULL ? b[o + r] : F16S_ZERO);
  const f16s_el *wf = w + (size_t)o * n, *wsl = w_sel + (size_t)o * k;
  if (tab != NULL) {
    for (int i = 0; i < n; i++) {
      size_t st;
      const f16s_el *wp = (const f16s_el *)sp_split_pick(tab[i], i, (uintptr_t)wf, (uintptr_t)wsl,
                                                         sizeof(f16s_el), (size_t)n, (size_t)k, &st);
      f16s_wide xv = F16S_WIDE(x[i]);
      F16S_UNROLL
      for (int r = 0; r < nr; r++) F16S_MAC(mode, &acc[r], xv, F16S_WIDE(wp[(size_t)r * st]));
    }
  } else {
    for (int i = 0, j = 0, len, sl; i < n; i += len) {
      len = sp_split_run(sel, k, n, i, j, &sl);
      const f16s_el *wp = sl ? wsl + j : wf + i;
      size_t st = sl ? (size_t)k : (size_t)n;
      for (int t = 0; t < len; t++) {
        f16s_wide xv = F16S_WIDE(x[i + t]);
        F16S_UNROLL
        for (int r = 0; r < nr; r++) F16S_MAC(mode, &acc[r], xv, F16S_WIDE(wp[(size_t)r * st + (size_t)t]));
      }
      if (sl) j += len;
    }
  }
  F16S_UNROLL
  for (int r = 0; r < nr; r++) y[o + r] = F16S_RESULT(mode, acc[r]);
}

SP_BLOCK void f16s_linear_fwd(int n_in, int n_out, const sp_f16 *x, const sp_f16 *w,
                              const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                              sp_f16 *y, int core_id, int num_cores, int mode) {
  const f16s_el *xe = (const f16s_el *)x, *we = (const f16s_el *)w, *wse = (const f16s_el *)w_sel;
  const f16s_el *be = (const f16s_el *)b;
  f16s_el *ye = (f16s_el *)y;
  int lo, hi, o;
  sp_core_range(n_out, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  uint8_t table[SP_SPLIT_TABLE_BYTES];
  const uint8_t *tab = sp_split_table(sel, k, n_in, 3, table);
  for (o = lo; o + 8 <= hi; o += 8) f16s_linear_rows(n_in, xe, we, wse, sel, k, tab, be, ye, o, 8, mode);
  if (o + 4 <= hi) {
    f16s_linear_rows(n_in, xe, we, wse, sel, k, tab, be, ye, o, 4, mode);
    o += 4;
  }
  if (o + 2 <= hi) {
    f16s_linear_rows(n_in, xe, we, wse, sel, k, tab, be, ye, o, 2, mode);
    o += 2;
  }
  if (o < hi) f16s_linear_rows(n_in, xe, we, wse, sel, k, tab, be, ye, o, 1, mode);
}

void sp_linear_fwd_split_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *w,
                             const sp_f16 *w_sel, const int32_t *sel, int k, const sp_f16 *b,
                             sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w;
  }
  SP_F16_DISPATCH(mode, f16s_linear_fwd, in_features, out_features, x, w, w_sel, sel, k, b, y,
                  core_id, num_cores);
}

/* Selected inputs sel[j0] .. sel[j0+nb-1]: dx = +0, then dy[o] * w_sel[o][j],
 * o ascending (as f16_linear_bwd_input). nb a literal for 16. */
SP_BLOCK void f16s_linear_dx_sel(int n_out, const f16s_el *dy, const f16s_el *w_sel, const int32_t *sel,
                                 int k, f16s_el *dx, int j0, int nb, int mode) {
  f16s_acc acc[16];
  F16S_UNROLL
  for (int l = 0; l < nb; l++) acc[l] = F16S_START(mode, F16S_ZERO);
  for (int o = 0; o < n_out; o++) {
    f16s_wide d = F16S_WIDE(dy[o]);
    const f16s_el *wp = w_sel + (size_t)o * k + j0;
    F16S_UNROLL
    for (int l = 0; l < nb; l++) F16S_MAC(mode, &acc[l], d, F16S_WIDE(wp[l]));
  }
  F16S_UNROLL
  for (int l = 0; l < nb; l++) dx[sel[j0 + l]] = F16S_RESULT(mode, acc[l]);
}

SP_BLOCK void f16s_linear_dx(int n_in, int n_out, const sp_f16 *dy, const sp_f16 *w, const sp_f16 *w_sel,
                             const int32_t *sel, int k, sp_f16 *dx, int core_id, int num_cores, int mode) {
  sp_linear_bwd_input_f16(n_in, n_out, dy, w, dx, (sp_f16_acc)mode, core_id, num_cores);
  if (k <= 0) return;
  int lo, hi;
  sp_core_range(n_in, 1, core_id, num_cores, &lo, &hi);
  int j1 = sp_split_first(sel, k, hi);
  for (int j = sp_split_first(sel, k, lo), nb; j < j1; j += nb) {
    nb = sp_min(16, j1 - j);
    if (nb == 16)
      f16s_linear_dx_sel(n_out, (const f16s_el *)dy, (const f16s_el *)w_sel, sel, k, (f16s_el *)dx, j, 16, mode);
    else
      f16s_linear_dx_sel(n_out, (const f16s_el *)dy, (const f16s_el *)w_sel, sel, k, (f16s_el *)dx, j, nb, mode);
  }
}

void sp_linear_bwd_input_split_f16(int in_features, int out_features, const sp_f16 *dy,
                                   const sp_f16 *w, const sp_f16 *w_sel, const int32_t *sel, int k,
                                   sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores) {
  if (k <= 0 || w_sel == NULL) k = 0;
  SP_F16_DISPATCH(mode, f16s_linear_dx, in_features, out_features, dy, w, w_sel, sel, k, dx,
                  core_id, num_cores);
}
