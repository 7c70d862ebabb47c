/*
 * split.c — FP32 conv and linear kernels that read a weight split into a frozen
 * full tensor w and a trainable slice w_sel of selected input channels
 * (sparrow_kernels.h "split weights"; helpers in sp_split.h).
 *
 * Every output element is computed by the core the plain kernel gives it
 * (forward: output pixels or outputs; input gradient: input pixels or
 * inputs), from the same start value, with the same terms in the same order
 * and operand order, each rounded to fp32 as the plain kernel rounds it; only
 * where a weight is loaded from differs (w_sel for a selected channel, w
 * otherwise). So the bits equal the plain kernels' on the merged weight for
 * every core count. How:
 *
 *  Forward, ordinary conv and linear: an element sums over its input channels
 *  in ascending order, frozen and selected mixed. On a scalar FP register file
 *  (rv32) a register block of up to 4 pixels with the same taps times up to 16
 *  output channels shares each x and weight load, and each channel's weight
 *  row (w or w_sel, with its stride) is picked branch-free from a per-call
 *  table of the channels (sp_split.h; rows wider than the table walk runs).
 *  On SIMD hosts the lanes are output channels, whose weights are far apart
 *  in memory, so a tile of merged weights (16 input x 16 output channels, on
 *  the stack) is interleaved once and serves every pixel of the core, and the
 *  running sums wait in y between tiles: an fp32 sum stored and reloaded is
 *  unchanged, so each element still adds its bias, then its taps (kh, kw, ic)
 *  ascending.
 *
 *  Input gradient and depthwise: an element reads the weights of its own
 *  input channel only. So every channel is computed from w first (the
 *  elements of selected channels come out of whatever w holds there, garbage
 *  included, and are discarded), then the selected channels again from w_sel,
 *  in the plain kernel's order, by the same core, over them. The first pass is
 *  the plain kernel where it is fast (AVX2 on hosts, the depthwise kernels),
 *  else blocks of pixels that apply the same taps times channels, sized for 32
 *  FP registers; the second costs k / C of the first.
 */
#include "sp_split.h"

/* ======================================================= ordinary forward */

#if SP_SIMD

/* Input channels of one tile: 16 x 16 floats, 1 KB of stack (SIMD hosts only). */
#define S32_TILE_C 16

/* t[i][l] = the merged weight of output channel oc0 + l, input channel c0 + i
 * at tap `tap` (from w_sel when selected), for i < n, l < nb; 0 for l >= nb.
 * *j: the first selected index >= c0 on entry, >= c0 + n on return. */
SP_BLOCK void s32_fwd_tile(const float *w, const float *w_sel, const int32_t *sel, int k, int c,
                           size_t sf, size_t ss, size_t tap, int oc0, int nb, int c0, int n, int *j,
                           float t[S32_TILE_C][SP_VB]) {
  for (int i = 0; i < n; i++) {
    const float *src;
    size_t st;
    if (*j < k && sel[*j] == c0 + i) {
      src = w_sel + (size_t)oc0 * ss + tap * (size_t)k + (size_t)*j;
      st = ss;
      (*j)++;
    } else {
      src = w + (size_t)oc0 * sf + tap * (size_t)c + (size_t)(c0 + i);
      st = sf;
    }
    for (int l = 0; l < SP_VB; l++) t[i][l] = l < nb ? src[(size_t)l * st] : 0.0f;
  }
}

/* npx (1..4) neighbouring output pixels of one row, channels oc0 .. (the
 * caller's yp) of a tile: each y += x[c0 + i] * t[i], i ascending, its lanes
 * independent sums; the pixels share the tile's loads. n, nb, npx literals. */
SP_BLOCK void s32_fwd_tile_pixels(const float *xp, size_t xs, float *yp, size_t ys,
                                  const float t[S32_TILE_C][SP_VB], int n, int nb, int npx) {
  float a0[SP_VB], a1[SP_VB], a2[SP_VB], a3[SP_VB];
  for (int l = 0; l < nb; l++) {
    a0[l] = yp[l];
    a1[l] = npx > 1 ? yp[ys + (size_t)l] : 0.0f;
    a2[l] = npx > 2 ? yp[2 * ys + (size_t)l] : 0.0f;
    a3[l] = npx > 3 ? yp[3 * ys + (size_t)l] : 0.0f;
  }
  for (int i = 0; i < n; i++) {
    float x0 = xp[i], x1 = npx > 1 ? xp[xs + (size_t)i] : 0.0f;
    float x2 = npx > 2 ? xp[2 * xs + (size_t)i] : 0.0f, x3 = npx > 3 ? xp[3 * xs + (size_t)i] : 0.0f;
    for (int l = 0; l < nb; l++) {
      a0[l] += x0 * t[i][l];
      if (npx > 1) a1[l] += x1 * t[i][l];
      if (npx > 2) a2[l] += x2 * t[i][l];
      if (npx > 3) a3[l] += x3 * t[i][l];
    }
  }
  for (int l = 0; l < nb; l++) {
    yp[l] = a0[l];
    if (npx > 1) yp[ys + (size_t)l] = a1[l];
    if (npx > 2) yp[2 * ys + (size_t)l] = a2[l];
    if (npx > 3) yp[3 * ys + (size_t)l] = a3[l];
  }
}

/* Output row oh, columns [ow, ow1), all reading tap (kh, kw) inside x: the
 * tile's terms, up to maxpx (a literal) pixels per pass. */
SP_BLOCK void s32_fwd_tile_row(const sp_conv2d_shape *s, const float *x, float *y,
                               const float t[S32_TILE_C][SP_VB], int oh, int ow, int ow1, int kh,
                               int kw, int oc0, int c0, int n, int nb, int maxpx) {
  size_t xs = (size_t)s->stride_w * s->in_c, ys = (size_t)s->out_c;
  const float *xp = x + ((size_t)(oh * s->stride_h - s->pad_top + kh) * s->in_w +
                         (size_t)(ow * s->stride_w - s->pad_left + kw)) * s->in_c + c0;
  float *yp = y + ((size_t)oh * s->out_w + ow) * s->out_c + oc0;
  for (; maxpx >= 4 && ow + 4 <= ow1; ow += 4, xp += 4 * xs, yp += 4 * ys)
    s32_fwd_tile_pixels(xp, xs, yp, ys, t, n, nb, 4);
  for (; maxpx >= 2 && ow + 2 <= ow1; ow += 2, xp += 2 * xs, yp += 2 * ys)
    s32_fwd_tile_pixels(xp, xs, yp, ys, t, n, nb, 2);
  for (; ow < ow1; ow++, xp += xs, yp += ys) s32_fwd_tile_pixels(xp, xs, yp, ys, t, n, nb, 1);
}

/* The forward of the core's output pixels, one block of up to 16 output
 * channels at a time: y = bias, then per tap (kh, kw) and tile of input
 * channels, in ascending order, the tile's terms for every pixel whose tap is
 * inside x. maxpx (a literal): pixels per pass. */
SP_BLOCK void s32_conv_fwd(const sp_conv2d_shape *s, const float *x, const float *w,
                           const float *w_sel, const int32_t *sel, int k, const float *b, float *y,
                           int core_id, int num_cores, int maxpx) {
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  const int c = s->in_c, oc = s->out_c;
  const size_t sf = (size_t)s->k_h * s->k_w * c, ss = (size_t)s->k_h * s->k_w * k;
  for (int oc0 = 0, nb; oc0 < oc; oc0 += nb) {
    nb = sp_block_width(oc - oc0);
    for (int p = lo; p < hi; p++)
      for (int l = 0; l < nb; l++) y[(size_t)p * oc + oc0 + l] = b != NULL ? b[oc0 + l] : 0.0f;
    for (int kh = 0; kh < s->k_h; kh++) {
      int oh0, oh1;
      sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
      oh0 = sp_max(oh0, lo / s->out_w);
      oh1 = sp_min(oh1, (hi - 1) / s->out_w + 1);
      for (int kw = 0; kw < s->k_w && oh0 < oh1; kw++) {
        int ow0, ow1;
        sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
        if (ow0 >= ow1) continue;
        size_t tap = (size_t)kh * s->k_w + kw;
        for (int c0 = 0, j = 0; c0 < c; c0 += S32_TILE_C) {
          int n = sp_min(S32_TILE_C, c - c0);
          float t[S32_TILE_C][SP_VB];
          s32_fwd_tile(w, w_sel, sel, k, c, sf, ss, tap, oc0, nb, c0, n, &j, t);
          for (int oh = oh0; oh < oh1; oh++) {
            int a = sp_max(ow0, lo - oh * s->out_w), e = sp_min(ow1, hi - oh * s->out_w);
            if (a >= e) continue;
            /* Full tiles and blocks with literal sizes: straight-line channel loops. */
#define S32_ROW(N, NB, PX) s32_fwd_tile_row(s, x, y, t, oh, a, e, kh, kw, oc0, c0, N, NB, PX)
            if (n == S32_TILE_C && nb == 16)
              S32_ROW(S32_TILE_C, 16, maxpx);
            else if (n == S32_TILE_C && nb == 8)
              S32_ROW(S32_TILE_C, 8, maxpx);
            else if (nb == 16)
              S32_ROW(n, 16, maxpx);
            else if (nb == 8)
              S32_ROW(n, 8, maxpx);
            else if (nb == 4)
              S32_ROW(n, 4, maxpx);
            else
              S32_ROW(n, nb, 1);
#undef S32_ROW
          }
        }
      }
    }
  }
}

SP_VARIANTS(s32_conv_fwd,
            (const sp_conv2d_shape *s, const float *x, const float *w, const float *w_sel,
             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores),
            (s, x, w, w_sel, sel, k, b, y, core_id, num_cores, SP_PAIR),
            (s, x, w, w_sel, sel, k, b, y, core_id, num_cores, SP_WIDE))
#define S32_CALL_CONV_FWD(args) SP_CALL_BEST(s32_conv_fwd, args)

#else /* !SP_SIMD */

/* Unrolled: the accumulator arrays of a block become registers. */
#define S32_UNROLL _Pragma("GCC unroll 16")

/* Pixels p .. p+np-1 (the same taps t; pixel q's first tap at x0[q]), output
 * channels oc0 .. oc0+nb-1: bias, then x * w over the taps (kh, kw, ic)
 * ascending, each channel's weight row picked from the table (tab), or the
 * tap row walked as runs (tab NULL). An x load serves the nb channels, a
 * weight load the np pixels. nb, np literals. */
SP_BLOCK void s32_fwd_block(const sp_conv2d_shape *s, const float *x, const float *w,
                            const float *w_sel, const int32_t *sel, int k, const uint8_t *tab,
                            const float *b, float *y, int p, sp_conv_window t, const size_t *x0,
                            int oc0, int nb, int np) {
  const int c = s->in_c;
  const size_t sf = (size_t)s->k_h * s->k_w * c, ss = (size_t)s->k_h * s->k_w * k;
  float acc[4][SP_VB];
  S32_UNROLL
  for (int o = 0; o < nb; o++) {
    float v = b != NULL ? b[oc0 + o] : 0.0f;
    S32_UNROLL
    for (int q = 0; q < np; q++) acc[q][o] = v;
  }
/* The terms of channel i of the tap (x at xr[q][i]), weight row wp, stride st. */
#define S32_CHANNEL(i, wp, st)                                 \
  do {                                                         \
    float v[4];                                                \
    S32_UNROLL                                                 \
    for (int q = 0; q < np; q++) v[q] = xr[q][i];              \
    S32_UNROLL                                                 \
    for (int o = 0; o < nb; o++) {                             \
      float wv = (wp)[(size_t)o * (st)];                       \
      S32_UNROLL                                               \
      for (int q = 0; q < np; q++) acc[q][o] += v[q] * wv;     \
    }                                                          \
  } while (0)
  for (int kh = t.kh0; kh < t.kh1; kh++) {
    for (int kw = t.kw0; kw < t.kw1; kw++) {
      size_t xo = ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c;
      size_t tap = (size_t)kh * s->k_w + kw;
      const float *wf = w + (size_t)oc0 * sf + tap * c, *wsl = w_sel + (size_t)oc0 * ss + tap * k;
      const float *xr[4];
      S32_UNROLL
      for (int q = 0; q < np; q++) xr[q] = x + x0[q] + xo;
      if (tab != NULL) {
        for (int ic = 0; ic < c; ic++) {
          size_t st;
          const float *wp = (const float *)sp_split_pick(tab[ic], ic, (uintptr_t)wf, (uintptr_t)wsl,
                                                         sizeof(float), sf, ss, &st);
          S32_CHANNEL(ic, wp, st);
        }
      } else {
        for (int ic = 0, j = 0, len, sl; ic < c; ic += len) {
          len = sp_split_run(sel, k, c, ic, j, &sl);
          const float *wp = sl ? wsl + j : wf + ic;
          size_t st = sl ? ss : sf;
          for (int i = 0; i < len; i++) S32_CHANNEL(ic + i, wp + i, st);
          if (sl) j += len;
        }
      }
    }
  }
#undef S32_CHANNEL
  S32_UNROLL
  for (int q = 0; q < np; q++)
    S32_UNROLL
    for (int o = 0; o < nb; o++) y[(size_t)(p + q) * s->out_c + oc0 + o] = acc[q][o];
}

/* The forward of the core's output pixels: runs of up to 4 neighbouring
 * pixels with the same taps, times blocks of output channels, at most 16
 * accumulators (4 x 4, 2 x 8, 1 x 16). */
static void s32_conv_fwd_base(const sp_conv2d_shape *s, const float *x, const float *w,
                              const float *w_sel, const int32_t *sel, int k, const float *b,
                              float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  uint8_t table[SP_SPLIT_TABLE_BYTES];
  /* The table always (measured: faster than runs even for DS-CNN's 8 of 64). */
  const uint8_t *tab = sp_split_table(sel, k, s->in_c, 0, table);
  for (int p = lo, np; p < hi; p += np) {
    sp_conv_window t;
    size_t x0[4];
    int run = sp_conv_tap_run(s, p, sp_min(4, hi - p), &t, x0);
    np = run >= 4 ? 4 : run >= 2 ? 2 : 1;
    for (int oc0 = 0, nb; oc0 < s->out_c; oc0 += nb) {
      int left = s->out_c - oc0, cap = SP_VB / np;
      nb = left >= cap ? cap : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
#define S32_FWD_BLOCK(P, N) s32_fwd_block(s, x, w, w_sel, sel, k, tab, b, y, p, t, x0, oc0, N, P)
      switch (np * 32 + nb) {
        case 4 * 32 + 4: S32_FWD_BLOCK(4, 4); break;
        case 4 * 32 + 2: S32_FWD_BLOCK(4, 2); break;
        case 4 * 32 + 1: S32_FWD_BLOCK(4, 1); break;
        case 2 * 32 + 8: S32_FWD_BLOCK(2, 8); break;
        case 2 * 32 + 4: S32_FWD_BLOCK(2, 4); break;
        case 2 * 32 + 2: S32_FWD_BLOCK(2, 2); break;
        case 2 * 32 + 1: S32_FWD_BLOCK(2, 1); break;
        case 1 * 32 + 16: S32_FWD_BLOCK(1, 16); break;
        case 1 * 32 + 8: S32_FWD_BLOCK(1, 8); break;
        case 1 * 32 + 4: S32_FWD_BLOCK(1, 4); break;
        case 1 * 32 + 2: S32_FWD_BLOCK(1, 2); break;
        default: S32_FWD_BLOCK(1, 1); break;
      }
#undef S32_FWD_BLOCK
    }
  }
}
#define S32_CALL_CONV_FWD(args) s32_conv_fwd_base args

#endif /* SP_SIMD */

/* ========================================================== input gradient */

/* Input pixels p .. p+np-1 (the same window grid and taps as win[0]; pixel
 * q's windows start at win[q]), channels ch0 .. ch0+nb-1 of a weight whose
 * element (oc, tap, ch) is wv[oc*st + tap*cs + ch]: +0, then dy * w over the
 * windows (oh, ow ascending) and, within one, oc ascending (the plain
 * kernel's sum); stored to dx[pixel][map[ch]] (map NULL: ch). A weight load
 * serves the pixels, a dy load the channels; channels are contiguous in w, so
 * the lanes vectorise on hosts. nb, np literals. */
SP_BLOCK void s32_dx_block(const sp_conv2d_shape *s, const float *dy, const float *wv, size_t st,
                           int cs, const int32_t *map, float *dx, int p, const sp_split_win *win,
                           int ch0, int nb, int np) {
  float acc[4][SP_VB];
  for (int q = 0; q < np; q++)
    for (int l = 0; l < nb; l++) acc[q][l] = 0.0f;
  for (int a = 0; a < win[0].nh; a++) {
    for (int bb = 0; bb < win[0].nw; bb++) {
      const float *d[4];
      for (int q = 0; q < np; q++)
        d[q] = dy + sp_split_win_out(s, &win[q], a, bb) * s->out_c;
      const float *wp = wv + sp_split_win_tap(s, &win[0], a, bb) * cs + ch0;
      _Pragma("GCC unroll 2") /* two output channels per iteration: half the taken branches */
      for (int oc = 0; oc < s->out_c; oc++, wp += st) {
        float dv[4];
        for (int q = 0; q < np; q++) dv[q] = d[q][oc];
        for (int l = 0; l < nb; l++) {
          float wl = wp[l];
          for (int q = 0; q < np; q++) acc[q][l] += dv[q] * wl;
        }
      }
    }
  }
  for (int q = 0; q < np; q++) {
    float *out = dx + (size_t)(p + q) * s->in_c;
    for (int l = 0; l < nb; l++) out[map != NULL ? map[ch0 + l] : ch0 + l] = acc[q][l];
  }
}

/* The channels [0, n) of the core's input pixels from the weight (wv, st, cs)
 * into dx[pixel][map[ch]]: runs of pixels that apply the same taps (up to
 * maxpx, a literal) times channel blocks (sp_split_dx_lanes). */
SP_BLOCK void s32_dx_channels(const sp_conv2d_shape *s, const float *dy, const float *wv, size_t st,
                              int cs, const int32_t *map, int n, float *dx, int core_id,
                              int num_cores, int maxpx) {
  int lo, hi;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo, np; p < hi; p += np) {
    sp_split_win win[4] = {{0, 0, 0, 0, 0, 0}}; /* (all set before use; quiets gcc) */
    np = sp_split_win_run(s, p, hi, maxpx, win);
    for (int ch0 = 0, nb; ch0 < n; ch0 += nb) {
      nb = sp_split_dx_lanes(np, n - ch0);
#define S32_DX(P, N) s32_dx_block(s, dy, wv, st, cs, map, dx, p, win, ch0, N, P)
      SP_SPLIT_DX_DISPATCH(np, nb, S32_DX);
#undef S32_DX
    }
  }
}

/* The ordinary conv's input gradient: every channel from w (on SIMD hosts the
 * caller has run the plain kernel for that), then the selected channels
 * again from w_sel, over them. maxpx (a literal): pixels per block. */
SP_BLOCK void s32_conv_dx(const sp_conv2d_shape *s, const float *dy, const float *w, const float *w_sel,
                          const int32_t *sel, int k, float *dx, int core_id, int num_cores, int maxpx) {
  size_t taps = (size_t)s->k_h * s->k_w;
  if (!SP_SIMD)
    s32_dx_channels(s, dy, w, taps * s->in_c, s->in_c, NULL, s->in_c, dx, core_id, num_cores, maxpx);
  if (k > 0) s32_dx_channels(s, dy, w_sel, taps * k, k, sel, k, dx, core_id, num_cores, maxpx);
}

SP_VARIANTS(s32_conv_dx,
            (const sp_conv2d_shape *s, const float *dy, const float *w, const float *w_sel,
             const int32_t *sel, int k, float *dx, int core_id, int num_cores),
            (s, dy, w, w_sel, sel, k, dx, core_id, num_cores, SP_SIMD ? SP_PAIR : 4),
            (s, dy, w, w_sel, sel, k, dx, core_id, num_cores, SP_WIDE))

/* ============================================ depthwise, selected channels */

/* The selected channels of the core's output pixels: y[c] = b[c] (or +0),
 * then x * w_sel over the in-bounds taps (kh, kw ascending), as the plain
 * depthwise forward. */
static void s32_dw_fwd_selected(const sp_conv2d_shape *s, const float *x, const float *w_sel,
                                const int32_t *sel, int k, const float *b, float *y, int core_id,
                                int num_cores) {
  int lo, hi, c = s->in_c;
  sp_core_range(s->out_h * s->out_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    sp_conv_window t = sp_conv_window_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      float acc = b != NULL ? b[ch] : 0.0f;
      for (int kh = t.kh0; kh < t.kh1; kh++)
        for (int kw = t.kw0; kw < t.kw1; kw++)
          acc += x[t.x0 + ((size_t)(kh - t.kh0) * s->in_w + (size_t)(kw - t.kw0)) * c + (size_t)ch] *
                 w_sel[((size_t)kh * s->k_w + kw) * k + j];
      y[(size_t)p * c + ch] = acc;
    }
  }
}

/* The selected channels of the core's input pixels: +0, then dy * w_sel over
 * the covering outputs (oh, ow ascending), as the plain depthwise kernel. */
static void s32_dw_dx_selected(const sp_conv2d_shape *s, const float *dy, const float *w_sel,
                               const int32_t *sel, int k, float *dx, int core_id, int num_cores) {
  int lo, hi, c = s->in_c;
  sp_core_range(s->in_h * s->in_w, 1, core_id, num_cores, &lo, &hi);
  for (int p = lo; p < hi; p++) {
    sp_split_win win = sp_split_win_of(s, p);
    for (int j = 0; j < k; j++) {
      int ch = sel[j];
      float acc = 0.0f;
      for (int a = 0; a < win.nh; a++)
        for (int bb = 0; bb < win.nw; bb++)
          acc += dy[sp_split_win_out(s, &win, a, bb) * c + (size_t)ch] *
                 w_sel[sp_split_win_tap(s, &win, a, bb) * k + j];
      dx[(size_t)p * c + ch] = acc;
    }
  }
}

/* ============================================================ entry points */

void sp_conv2d_fwd_split_f32(const sp_conv2d_shape *s, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores) {
  if (!sp_split_shape_ok(s)) return;
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w; /* never read; keeps w_sel + offset defined */
  }
  if (sp_conv_is_depthwise(s)) {
    sp_conv2d_fwd_f32(s, x, w, b, y, NULL, core_id, num_cores);
    s32_dw_fwd_selected(s, x, w_sel, sel, k, b, y, core_id, num_cores);
    return;
  }
  S32_CALL_CONV_FWD((s, x, w, w_sel, sel, k, b, y, core_id, num_cores));
}

void sp_conv2d_bwd_input_split_f32(const sp_conv2d_shape *s, const float *dy, const float *w, const float *w_sel,
                                   const int32_t *sel, int k, float *dx, int core_id, int num_cores) {
  if (!sp_split_shape_ok(s)) return;
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w; /* never read */
  }
  if (sp_conv_is_depthwise(s)) {
    sp_conv2d_bwd_input_f32(s, dy, w, dx, NULL, core_id, num_cores);
    s32_dw_dx_selected(s, dy, w_sel, sel, k, dx, core_id, num_cores);
    return;
  }
  if (SP_SIMD) sp_conv2d_bwd_input_f32(s, dy, w, dx, NULL, core_id, num_cores);
  SP_CALL_BEST(s32_conv_dx, (s, dy, w, w_sel, sel, k, dx, core_id, num_cores));
}

/* ------------------------------------------------------------------ linear */

/* Rows o .. o+nr-1 (nr a literal: 8, 4, 2 or 1) side by side: b[o] (or +0),
 * then w[o][i] * x[i], i ascending, each input's weights picked from the
 * table (tab), or walked as runs (tab NULL). */
SP_BLOCK void s32_linear_rows(int n, const float *x, const float *w, const float *w_sel,
                              const int32_t *sel, int k, const uint8_t *tab, const float *b,
                              float *y, int o, int nr) {
  float acc[8];
  for (int r = 0; r < nr; r++) acc[r] = b != NULL ? b[o + r] : 0.0f;
  const float *wf = w + (size_t)o * n, *wsl = w_sel + (size_t)o * k;
  if (tab != NULL) {
    for (int i = 0; i < n; i++) {
      size_t st;
      const float *wp = (const float *)sp_split_pick(tab[i], i, (uintptr_t)wf, (uintptr_t)wsl,
                                                     sizeof(float), (size_t)n, (size_t)k, &st);
      float xv = x[i];
      for (int r = 0; r < nr; r++) acc[r] += wp[(size_t)r * st] * xv;
    }
  } else {
    for (int i = 0, j = 0, len, sl; i < n; i += len) {
      len = sp_split_run(sel, k, n, i, j, &sl);
      const float *wp = sl ? wsl + j : wf + i;
      size_t st = sl ? (size_t)k : (size_t)n;
      for (int t = 0; t < len; t++) {
        float xv = x[i + t];
        for (int r = 0; r < nr; r++) acc[r] += wp[(size_t)r * st + (size_t)t] * xv;
      }
      if (sl) j += len;
    }
  }
  for (int r = 0; r < nr; r++) y[o + r] = acc[r];
}

void sp_linear_fwd_split_f32(int in_features, int out_features, const float *x, const float *w, const float *w_sel,
                             const int32_t *sel, int k, const float *b, float *y, int core_id, int num_cores) {
  if (k <= 0 || w_sel == NULL) {
    k = 0;
    w_sel = w; /* never read */
  }
  int lo, hi, o;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  uint8_t table[SP_SPLIT_TABLE_BYTES];
  const uint8_t *tab = sp_split_table(sel, k, in_features, 0, table);
  for (o = lo; o + 8 <= hi; o += 8) s32_linear_rows(in_features, x, w, w_sel, sel, k, tab, b, y, o, 8);
  if (o + 4 <= hi) {
    s32_linear_rows(in_features, x, w, w_sel, sel, k, tab, b, y, o, 4);
    o += 4;
  }
  if (o + 2 <= hi) {
    s32_linear_rows(in_features, x, w, w_sel, sel, k, tab, b, y, o, 2);
    o += 2;
  }
  if (o < hi) s32_linear_rows(in_features, x, w, w_sel, sel, k, tab, b, y, o, 1);
}

/* Selected inputs sel[j0] .. sel[j0+nb-1]: dx = +0, then dy[o] * w_sel[o][j],
 * o ascending (the plain kernel's sum). nb a literal for 16. */
SP_BLOCK void s32_linear_dx_sel(int n_out, const float *dy, const float *w_sel, const int32_t *sel,
                                int k, float *dx, int j0, int nb) {
  float acc[SP_VB];
  for (int l = 0; l < nb; l++) acc[l] = 0.0f;
  for (int o = 0; o < n_out; o++) {
    float d = dy[o];
    const float *wp = w_sel + (size_t)o * k + j0;
    for (int l = 0; l < nb; l++) acc[l] += d * wp[l];
  }
  for (int l = 0; l < nb; l++) dx[sel[j0 + l]] = acc[l];
}

/* The plain kernel on w (axpy over the core's inputs), then the core's
 * selected inputs again from w_sel. */
void sp_linear_bwd_input_split_f32(int in_features, int out_features, const float *dy, const float *w,
                                   const float *w_sel, const int32_t *sel, int k, float *dx, int core_id, int num_cores) {
  sp_linear_bwd_input_f32(in_features, out_features, dy, w, dx, core_id, num_cores);
  if (k <= 0 || w_sel == NULL) return;
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  int j1 = sp_split_first(sel, k, hi);
  for (int j = sp_split_first(sel, k, lo), nb; j < j1; j += nb) {
    nb = sp_min(SP_VB, j1 - j);
    if (nb == SP_VB)
      s32_linear_dx_sel(out_features, dy, w_sel, sel, k, dx, j, SP_VB);
    else
      s32_linear_dx_sel(out_features, dy, w_sel, sel, k, dx, j, nb);
  }
}
