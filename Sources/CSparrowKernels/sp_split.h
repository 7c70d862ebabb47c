/*
 * sp_split.h — helpers of the split-weight kernels (split.c, f16_split.c,
 * int8_split.c; not part of the API).
 *
 * A split weight is the frozen full tensor w (C input channels per row) and the
 * slice w_sel of the selected channels sel[0..k) (ascending, k per row). The
 * kernels never search sel per element. A forward row is visited channel by
 * channel in ascending order, each channel's weight row picked branch-free
 * from a per-call table (sp_split_table, sp_split_pick), or, for rows wider
 * than the table, as runs: frozen channels c .. c+len-1 (read from w at c) or
 * consecutive selected channels sel[j] .. sel[j]+len-1 (read from w_sel at j),
 * each a plain strided loop. Either way a sum over a row's channels keeps its
 * order.
 */
#ifndef SP_SPLIT_H
#define SP_SPLIT_H

#include "sp_internal.h"

/* Only groups 1 and depthwise (in_c == out_c == groups) have a split layout. */
static inline int sp_split_shape_ok(const sp_conv2d_shape *s) {
  return s->groups == 1 || (s->groups > 0 && sp_conv_is_depthwise(s));
}

/* The run that starts at channel c of a row of n channels, where j is the
 * index of the first selected channel >= c (k when none is left). Returns its
 * length (c < n); *slice = 1 for selected channels (slice indices j, j+1, ...),
 * 0 for frozen ones. A caller advances c by the length and, after a selected
 * run, j too. */
static inline int sp_split_run(const int32_t *sel, int k, int n, int c, int j, int *slice) {
  if (j < k && sel[j] == c) {
    int r = 1;
    while (j + r < k && sel[j + r] == c + r) r++;
    *slice = 1;
    return r;
  }
  *slice = 0;
  return (j < k ? sel[j] : n) - c;
}

/* Channels a per-channel table can describe (sp_split_table); a build may
 * lower it (tests do, to run the run walk on small rows). */
#define SP_SPLIT_TABLE_BYTES 256
#ifndef SP_SPLIT_TABLE
#define SP_SPLIT_TABLE SP_SPLIT_TABLE_BYTES
#endif

/* Choosing each channel's weight row from a table costs a few integer
 * operations per channel and no branch; starting a run costs more, but a run's
 * channels then cost nothing extra. So the forward kernels use the table when
 * a row breaks into runs shorter on average than min_run channels (0: always)
 * and it fits: tab[c] = (index of c in sel) + 1, or 0 for a frozen channel;
 * returns tab (SP_SPLIT_TABLE_BYTES, on the caller's stack), or NULL when
 * nothing is selected, the runs are long or the row too wide (then the caller
 * walks runs). */
static inline const uint8_t *sp_split_table(const int32_t *sel, int k, int n, int min_run, uint8_t *tab) {
  if (k <= 0 || k >= 256 || n > SP_SPLIT_TABLE || n > SP_SPLIT_TABLE_BYTES) return NULL;
  int runs = 1;
  for (int j = 0; j < k && min_run > 0; j++) runs += j == 0 || sel[j] != sel[j - 1] + 1 ? 2 : 0;
  if (min_run > 0 && runs * min_run <= n) return NULL;
  for (int c = 0; c < n; c++) tab[c] = 0;
  for (int j = 0; j < k; j++) tab[sel[j]] = (uint8_t)(j + 1);
  return tab;
}

/* The weight row of channel c given tab[c] (t): from the slice at index t - 1
 * (elements of size sz from sb) or the full row (from fb), with its stride,
 * chosen by masks so that the inner loops have no branch. */
static inline uintptr_t sp_split_pick(uint32_t t, int c, uintptr_t fb, uintptr_t sb, size_t sz,
                                      size_t sf, size_t ss, size_t *st) {
  uintptr_t m = (uintptr_t)0 - (uintptr_t)(t != 0);
  *st = (sf & ~(size_t)m) | (ss & (size_t)m);
  return ((fb + (uintptr_t)c * sz) & ~m) | ((sb + (uintptr_t)(t - 1u) * sz) & m);
}

/* The first index j with sel[j] >= c (k if none): sel ascending. */
static inline int sp_split_first(const int32_t *sel, int k, int c) {
  int lo = 0, hi = k;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (sel[mid] < c) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/* Where the input-gradient sum of input pixel p reads: covering output rows
 * [oh0, oh0+nh), columns [ow0, ow0+nw), the first window
 * applying tap (kh, kw); window (oh0 + a, ow0 + b) applies (kh - a*stride_h,
 * kw - b*stride_w). Neighbouring pixels with the same nh, nw, kh, kw apply
 * the same taps in the same order, so a block of them shares every weight
 * load. (An empty range has nh or nw <= 0, its taps meaningless.) */
typedef struct {
  int oh0, ow0, nh, nw, kh, kw;
} sp_split_win;

static inline sp_split_win sp_split_win_of(const sp_conv2d_shape *s, int p) {
  sp_split_win r;
  int ih = p / s->in_w, iw = p % s->in_w, oh1, ow1;
  sp_covering_outputs(ih, s->pad_top, s->k_h, s->stride_h, s->out_h, &r.oh0, &oh1);
  sp_covering_outputs(iw, s->pad_left, s->k_w, s->stride_w, s->out_w, &r.ow0, &ow1);
  r.nh = oh1 - r.oh0;
  r.nw = ow1 - r.ow0;
  r.kh = ih + s->pad_top - r.oh0 * s->stride_h;
  r.kw = iw + s->pad_left - r.ow0 * s->stride_w;
  return r;
}

/* Window (a, b) of w: the tap it applies (kh*k_w + kw) and its output pixel. */
static inline size_t sp_split_win_tap(const sp_conv2d_shape *s, const sp_split_win *w, int a, int b) {
  return (size_t)(w->kh - a * s->stride_h) * s->k_w + (size_t)(w->kw - b * s->stride_w);
}
static inline size_t sp_split_win_out(const sp_conv2d_shape *s, const sp_split_win *w, int a, int b) {
  return (size_t)(w->oh0 + a) * s->out_w + (size_t)(w->ow0 + b);
}

/* The block of pixels p, p+1, ... (1, 2 or 4 of them, at most max, below hi)
 * whose windows apply the same taps as p's; fills win[0..n), returns n. (A
 * division per pixel, not per element; stepping the windows along a row
 * with sp_covering_next measured no faster on rv32.) */
static inline int sp_split_win_run(const sp_conv2d_shape *s, int p, int hi, int max, sp_split_win *win) {
  int n = 1;
  win[0] = sp_split_win_of(s, p);
  for (; n < max && p + n < hi; n++) {
    win[n] = sp_split_win_of(s, p + n);
    if (win[n].nh != win[0].nh || win[n].nw != win[0].nw || win[n].kh != win[0].kh || win[n].kw != win[0].kw)
      break;
  }
  return n == 3 ? 2 : n; /* blocks hold 1, 2 or 4 pixels */
}

/* The lanes of the next input-gradient channel block for np pixels with
 * `left` channels to go: 16 lanes on SIMD hosts; on a scalar FP register
 * file at most 8 accumulators (4 x 2, 2 x 4, 1 x 8), since the compiler
 * computes a block's products before its sums and 16 of each would spill. */
static inline int sp_split_dx_lanes(int np, int left) {
  int cap = SP_SIMD ? SP_VB : 8 / np;
  return sp_min(cap, left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : SP_SIMD ? left : left >= 2 ? 2 : 1);
}

/* Calls DX(P, N) with np pixels and nb lanes (sp_split_dx_lanes) as literals,
 * so each block shape is its own instantiation. */
#define SP_SPLIT_DX_DISPATCH(np, nb, DX)                                          \
  switch ((np) * 32 + (nb)) {                                                     \
    case 4 * 32 + 16: if (SP_SIMD) DX(4, 16); break;                              \
    case 4 * 32 + 8: if (SP_SIMD) DX(4, 8); break;                                \
    case 4 * 32 + 4: if (SP_SIMD) DX(4, 4); break;                                \
    case 2 * 32 + 16: if (SP_SIMD) DX(2, 16); break;                              \
    case 2 * 32 + 8: if (SP_SIMD) DX(2, 8); break;                                \
    case 1 * 32 + 16: if (SP_SIMD) DX(1, 16); break;                              \
    case 4 * 32 + 2: DX(4, 2); break;                                             \
    case 4 * 32 + 1: DX(4, 1); break;                                             \
    case 2 * 32 + 4: DX(2, 4); break;                                             \
    case 2 * 32 + 2: DX(2, 2); break;                                             \
    case 2 * 32 + 1: DX(2, 1); break;                                             \
    case 1 * 32 + 8: DX(1, 8); break;                                             \
    case 1 * 32 + 4: DX(1, 4); break;                                             \
    case 1 * 32 + 2: DX(1, 2); break;                                             \
    case 1 * 32 + 1: DX(1, 1); break;                                             \
    default: /* SIMD hosts: a tail of 3, 5, 6 or 7 lanes */                       \
      if ((np) == 4) DX(4, nb); else if ((np) == 2) DX(2, nb); else DX(1, nb);    \
      break;                                                                      \
  }

#endif /* SP_SPLIT_H */
