/*
 * f16_conv_rv32.c — the fp16 conv kernels of f16_conv.c (ordinary, grouped and
 * depthwise) on rv32 with Zfh, in register blocks.
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
 *  depthwise    pixels that apply the same taps in the same order, gathered
 *               from the core's range, times neighbouring channels (forward,
 *               input grad); one tap times the channels of a split item
 *               (weight grad); with Xfvec a channel pair is one packed
 *               register of every operand (see "depthwise" below).
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

/* -------------------------------------------------------------- depthwise
 * Weights [k_h][k_w][c]: each element's terms come from its own channel, and
 * the channels are contiguous in every operand, so a block is up to 4 pixels
 * (forward, input grad) times neighbouring channels, or one tap times
 * neighbouring channels (weight grad). The pixels of a block apply the same
 * taps in the same order (a "class"), so the weight of a tap serves all of
 * them. With Xfvec, in fp16 accumulation, a channel pair is the two lanes of
 * one register, loaded as one word from each operand and updated by one
 * vfmac.h (lane k: fmadd.h(a_k, b_k, acc_k), the scalar kernel's fma). The
 * blocks are separate functions shared by every variant and by the forward
 * and input-grad walks, which keeps their code small. */

/* The terms of an element along one dimension (rows or columns): n taps, the
 * first at kernel index `first` (the next ones at first + 1 in the forward,
 * first - stride in the input grad), reading operand index a, a + 1, ...
 * (x in the forward, dy in the input grad). n = 0: first = a = 0. */
typedef struct {
  int n, first, a;
} dw_span;

/* Forward, output index o: the in-bounds taps ascending (tap t reads input
 * index o*st - pad + t). */
static inline dw_span dw_span_fwd(int o, int st, int pad, int k, int in) {
  dw_span d = {0, 0, 0};
  int t0, t1, i0 = o * st - pad;
  sp_valid_taps(i0, k, in, &t0, &t1);
  if (t1 > t0) {
    d.n = t1 - t0;
    d.first = t0;
    d.a = i0 + t0;
  }
  return d;
}

/* Input grad, input index i: the covering output positions ascending (the one
 * at o applies tap i + pad - o*st). */
static inline dw_span dw_span_bwd(int i, int st, int pad, int k, int out) {
  dw_span d = {0, 0, 0};
  int o0, o1;
  sp_covering_outputs(i, pad, k, st, out, &o0, &o1);
  if (o1 > o0) {
    d.n = o1 - o0;
    d.first = i + pad - o0 * st;
    d.a = o0;
  }
  return d;
}

/* The span of row (col = 0) or column (col = 1) index i of the forward's
 * output pixels (bwd = 0) or the input grad's input pixels (bwd = 1). */
static dw_span dw_span_of(const sp_conv2d_shape *s, int bwd, int col, int i) {
  if (col)
    return bwd ? dw_span_bwd(i, s->stride_w, s->pad_left, s->k_w, s->out_w)
               : dw_span_fwd(i, s->stride_w, s->pad_left, s->k_w, s->in_w);
  return bwd ? dw_span_bwd(i, s->stride_h, s->pad_top, s->k_h, s->out_h)
             : dw_span_fwd(i, s->stride_h, s->pad_top, s->k_h, s->in_h);
}

static inline int dw_same_class(dw_span a, dw_span b) { return a.n == b.n && a.first == b.first; }

/* One block of the forward or input grad: pixels q < np (at most 4) of one
 * class, channels c0 .. c0+nb-1. Element strides: a step to the next row /
 * column term moves the operand by ra / ca and the weights by rw / cw. */
typedef struct {
  const sp_h16 *a, *w, *init; /* operand (x or dy), weights, start values (bias) or NULL (+0) */
  sp_h16 *out;
  size_t abase[4], obase[4];  /* pixel q's first operand element and output element (channel 0) */
  ptrdiff_t w0, ra, ca, rw, cw;
  int nr, nc, c0;
} dw_job;

/* One block of the weight grad: tap (kh, kw) of channels c0 .. c0+nb-1, whose
 * output positions inside x are nr rows x nc columns: +0, then x * dy over
 * them, (oh, ow) ascending; stored (or added, accumulate) to dw[tap][c]. */
typedef struct {
  const sp_h16 *x, *dy;
  sp_h16 *dw;
  size_t xbase, dybase, dwbase; /* the first position's x and dy elements, dw[tap] (channel 0) */
  ptrdiff_t xr, xc, dyr;        /* element steps: x per row and column, dy per row (per column: 1 pixel) */
  int nr, nc, c, c0, accumulate;
} dw_wjob;

/* One accumulator register of a depthwise block: with packed (Xfvec, fp16
 * accumulation) a channel pair in the two lanes of a float, else one channel's
 * sum. packed is a literal at every use, so only one field is live and the
 * scalar and packed blocks share one walk over the terms. */
typedef struct {
  sp_nacc s;
#if SP_F16_XFVEC
  float pair;
#endif
} dw_acc;

/* The start value: init[0] (packed: init[0], init[1]), or +0 when init is NULL. */
SP_BLOCK dw_acc dw_acc_start(int packed, int mode, const sp_h16 *init) {
  dw_acc a;
#if SP_F16_XFVEC
  if (packed) {
    a.pair = init != NULL ? sp_pair(sp_h_to_bits(init[0]), sp_h_to_bits(init[1])) : 0.0f;
    return a;
  }
#endif
  (void)packed;
  a.s = sp_nacc_start(mode, init != NULL ? init[0] : (_Float16)0);
  return a;
}

/* acc += a * b for the channel (packed: the pair, one vfmac.h) at a and b. */
SP_BLOCK void dw_acc_mac(int packed, int mode, dw_acc *acc, const sp_h16 *a, const sp_h16 *b) {
#if SP_F16_XFVEC
  if (packed) {
    acc->pair = sp_vfmac(acc->pair, sp_pair_load(a), sp_pair_load(b));
    return;
  }
#endif
  (void)packed;
  sp_nacc_mac(mode, &acc->s, a[0], b[0]);
}

/* The finished sum to dst (packed: the pair as one word store). */
SP_BLOCK void dw_acc_put(int packed, int mode, dw_acc a, sp_h16 *dst) {
#if SP_F16_XFVEC
  if (packed) {
    *(sp_f32a *)dst = a.pair;
    return;
  }
#endif
  (void)packed;
  *dst = sp_nacc_result(mode, a.s);
}

/* The finished sum stored, or added when accumulating, to dst (sp_nacc_store;
 * packed: each lane to its own channel). */
SP_BLOCK void dw_acc_store(int packed, int mode, dw_acc a, sp_h16 *dst, int accumulate) {
#if SP_F16_XFVEC
  if (packed) {
    sp_nacc_store(sp_h_from_bits(sp_pair_lo(a.pair)), dst, accumulate);
    sp_nacc_store(sp_h_from_bits(sp_pair_hi(a.pair)), dst + 1, accumulate);
    return;
  }
#endif
  (void)packed;
  sp_nacc_store(sp_nacc_result(mode, a.s), dst, accumulate);
}

/* init[c] (or +0), then for each row term, each column term (the class's
 * order): acc += operand * weight; stored to out. */
SP_BLOCK void dw_block(const dw_job *jb, int np, int nb, int packed, int mode) {
  const int lanes = packed ? 2 : 1; /* channels per accumulator register */
  const sp_h16 *ap[4], *wr = jb->w + jb->w0 + jb->c0;
  dw_acc acc[4][SP_NB_MAX];
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++) ap[q] = jb->a + jb->abase[q] + jb->c0;
  SP_UNROLL_BLOCK
  for (int j = 0; j < nb / lanes; j++) {
    dw_acc v = dw_acc_start(packed, mode, jb->init != NULL ? jb->init + jb->c0 + lanes * j : NULL);
    SP_UNROLL_BLOCK
    for (int q = 0; q < np; q++) acc[q][j] = v;
  }
  for (int r = 0; r < jb->nr; r++) {
    const sp_h16 *wt = wr, *at[4];
    SP_UNROLL_BLOCK
    for (int q = 0; q < np; q++) at[q] = ap[q];
    for (int c = 0; c < jb->nc; c++) {
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / lanes; j++)
        SP_UNROLL_BLOCK
        for (int q = 0; q < np; q++) dw_acc_mac(packed, mode, &acc[q][j], at[q] + lanes * j, wt + lanes * j);
      wt += jb->cw;
      SP_UNROLL_BLOCK
      for (int q = 0; q < np; q++) at[q] += jb->ca;
    }
    wr += jb->rw;
    SP_UNROLL_BLOCK
    for (int q = 0; q < np; q++) ap[q] += jb->ra;
  }
  SP_UNROLL_BLOCK
  for (int q = 0; q < np; q++)
    SP_UNROLL_BLOCK
    for (int j = 0; j < nb / lanes; j++)
      dw_acc_put(packed, mode, acc[q][j], jb->out + jb->obase[q] + jb->c0 + lanes * j);
}

SP_BLOCK void dw_wblock(const dw_wjob *jb, int nb, int packed, int mode) {
  const int lanes = packed ? 2 : 1;
  const sp_h16 *xr = jb->x + jb->xbase + jb->c0, *dr = jb->dy + jb->dybase + jb->c0;
  sp_h16 *dst = jb->dw + jb->dwbase + jb->c0;
  dw_acc acc[SP_NB_MAX];
  SP_UNROLL_BLOCK
  for (int j = 0; j < nb / lanes; j++) acc[j] = dw_acc_start(packed, mode, NULL);
  for (int r = 0; r < jb->nr; r++) {
    const sp_h16 *xt = xr, *dt = dr;
    for (int c = 0; c < jb->nc; c++) {
      SP_UNROLL_BLOCK
      for (int j = 0; j < nb / lanes; j++) dw_acc_mac(packed, mode, &acc[j], xt + lanes * j, dt + lanes * j);
      xt += jb->xc;
      dt += jb->c;
    }
    xr += jb->xr;
    dr += jb->dyr;
  }
  SP_UNROLL_BLOCK
  for (int j = 0; j < nb / lanes; j++) dw_acc_store(packed, mode, acc[j], dst + lanes * j, jb->accumulate);
}

/* The block instances, one function each: packed (fp16 accumulation, Xfvec)
 * np x nb in {4} x {8, 4, 2}, {2, 1} x {16, 8, 4, 2}; scalar, per mode, {4} x
 * {4, 1}, {2} x {8, 4, 1}, {1} x {16, 8, 4, 1}; weight grad nb in {16, 8, 4,
 * 2} packed, {16, 8, 4, 1} scalar. dw_width picks among them. */
#define DW_FN(np, nb, pk, m)                                                                    \
  static __attribute__((noinline)) void dw_block_##np##_##nb##_##pk##_##m(const dw_job *jb) {  \
    dw_block(jb, np, nb, pk, m);                                                                \
  }
#define DW_WFN(nb, pk, m)                                                                       \
  static __attribute__((noinline)) void dw_wblock_##nb##_##pk##_##m(const dw_wjob *jb) {       \
    dw_wblock(jb, nb, pk, m);                                                                   \
  }
#define DW_SCALAR_FNS(m) \
  DW_FN(4, 4, 0, m) DW_FN(4, 1, 0, m) DW_FN(2, 8, 0, m) DW_FN(2, 4, 0, m) DW_FN(2, 1, 0, m) \
  DW_FN(1, 16, 0, m) DW_FN(1, 8, 0, m) DW_FN(1, 4, 0, m) DW_FN(1, 1, 0, m)                   \
  DW_WFN(16, 0, m) DW_WFN(8, 0, m) DW_WFN(4, 0, m) DW_WFN(1, 0, m)
DW_SCALAR_FNS(0)
DW_SCALAR_FNS(1)
#if SP_F16_XFVEC
DW_FN(4, 8, 1, 0) DW_FN(4, 4, 1, 0) DW_FN(4, 2, 1, 0)
DW_FN(2, 16, 1, 0) DW_FN(2, 8, 1, 0) DW_FN(2, 4, 1, 0) DW_FN(2, 2, 1, 0)
DW_FN(1, 16, 1, 0) DW_FN(1, 8, 1, 0) DW_FN(1, 4, 1, 0) DW_FN(1, 2, 1, 0)
DW_WFN(16, 1, 0) DW_WFN(8, 1, 0) DW_WFN(4, 1, 0) DW_WFN(2, 1, 0)
#endif
#undef DW_SCALAR_FNS
#undef DW_WFN
#undef DW_FN

#if SP_F16_XFVEC
#define DW_PACKED_CASES                                                      \
  case 4 * 64 + 8 * 2 + 1: dw_block_4_8_1_0(jb); break;                     \
  case 4 * 64 + 4 * 2 + 1: dw_block_4_4_1_0(jb); break;                     \
  case 4 * 64 + 2 * 2 + 1: dw_block_4_2_1_0(jb); break;                     \
  case 2 * 64 + 16 * 2 + 1: dw_block_2_16_1_0(jb); break;                   \
  case 2 * 64 + 8 * 2 + 1: dw_block_2_8_1_0(jb); break;                     \
  case 2 * 64 + 4 * 2 + 1: dw_block_2_4_1_0(jb); break;                     \
  case 2 * 64 + 2 * 2 + 1: dw_block_2_2_1_0(jb); break;                     \
  case 1 * 64 + 16 * 2 + 1: dw_block_1_16_1_0(jb); break;                   \
  case 1 * 64 + 8 * 2 + 1: dw_block_1_8_1_0(jb); break;                     \
  case 1 * 64 + 4 * 2 + 1: dw_block_1_4_1_0(jb); break;                     \
  case 1 * 64 + 2 * 2 + 1: dw_block_1_2_1_0(jb); break;
#define DW_WPACKED_CASES                        \
  case 16 * 2 + 1: dw_wblock_16_1_0(jb); break; \
  case 8 * 2 + 1: dw_wblock_8_1_0(jb); break;   \
  case 4 * 2 + 1: dw_wblock_4_1_0(jb); break;   \
  case 2 * 2 + 1: dw_wblock_2_1_0(jb); break;
#else
#define DW_PACKED_CASES
#define DW_WPACKED_CASES
#endif

/* Runs block (np, nb, packed) of mode (an instance listed above). */
static void dw_run(const dw_job *jb, int np, int nb, int packed, int mode) {
#define DW_SCALAR_CASES(m)                                    \
  case 4 * 64 + 4 * 2: dw_block_4_4_0_##m(jb); break;         \
  case 4 * 64 + 1 * 2: dw_block_4_1_0_##m(jb); break;         \
  case 2 * 64 + 8 * 2: dw_block_2_8_0_##m(jb); break;         \
  case 2 * 64 + 4 * 2: dw_block_2_4_0_##m(jb); break;         \
  case 2 * 64 + 1 * 2: dw_block_2_1_0_##m(jb); break;         \
  case 1 * 64 + 16 * 2: dw_block_1_16_0_##m(jb); break;       \
  case 1 * 64 + 8 * 2: dw_block_1_8_0_##m(jb); break;         \
  case 1 * 64 + 4 * 2: dw_block_1_4_0_##m(jb); break;         \
  default: dw_block_1_1_0_##m(jb); break;
  int key = np * 64 + nb * 2 + packed;
  if (mode == SP_F16_ACC_F32) {
    switch (key) { DW_SCALAR_CASES(1) }
  } else {
    switch (key) { DW_PACKED_CASES DW_SCALAR_CASES(0) }
  }
#undef DW_SCALAR_CASES
}

/* Runs weight-grad block (nb, packed) of mode. */
static void dw_wrun(const dw_wjob *jb, int nb, int packed, int mode) {
#define DW_WSCALAR_CASES(m)                          \
  case 16 * 2: dw_wblock_16_0_##m(jb); break;        \
  case 8 * 2: dw_wblock_8_0_##m(jb); break;          \
  case 4 * 2: dw_wblock_4_0_##m(jb); break;          \
  default: dw_wblock_1_0_##m(jb); break;
  int key = nb * 2 + packed;
  if (mode == SP_F16_ACC_F32) {
    switch (key) { DW_WSCALAR_CASES(1) }
  } else {
    switch (key) { DW_WPACKED_CASES DW_WSCALAR_CASES(0) }
  }
#undef DW_WSCALAR_CASES
}
#undef DW_PACKED_CASES
#undef DW_WPACKED_CASES

/* The widest instance for `left` channels of np pixels, at most cap: packed
 * 16, 8, 4, 2 (left is even), scalar 16, 8, 4, 1; at most 16 accumulator
 * registers (a packed one holds two channels). */
static inline int dw_width(int left, int np, int cap, int packed) {
  int m = sp_min(sp_min(cap, left), (packed ? 32 : 16) / np);
  return m >= 16 ? 16 : m >= 8 ? 8 : m >= 4 ? 4 : packed ? 2 : 1;
}

/* Pixels q < n of *jb (one class): blocks of 4, 2 and 1 pixels, each over all
 * channels in blocks of at most cap. */
static void dw_pixels(dw_job *jb, int n, int channels, int cap, int packed, int mode) {
  for (int q0 = 0; q0 < n;) {
    int np = f16_run_block(n - q0);
    for (int q = 0; q < np; q++) {
      jb->abase[q] = jb->abase[q0 + q];
      jb->obase[q] = jb->obase[q0 + q];
    }
    for (int c0 = 0; c0 < channels;) {
      int nb = dw_width(channels - c0, np, cap, packed);
      jb->c0 = c0;
      dw_run(jb, np, nb, packed, mode);
      c0 += nb;
    }
    q0 += np;
  }
}

/* The forward (bwd = 0: output pixels, operand x) or input grad (bwd = 1:
 * input pixels, operand dy) of the core's pixels, gathered by class up to
 * maxpx (4, 2 or 1) at a time, channel blocks of at most cap. A class is a run
 * of rows, and within it a run of columns, with the same spans; in the input
 * grad, rows (columns) step by the stride, as neighbours of a strided conv
 * alternate between classes. */
static void dw_walk(const sp_conv2d_shape *s, dw_job *jb, int bwd, int core_id, int num_cores,
                    int maxpx, int cap, int packed, int mode) {
  int gh = bwd ? s->in_h : s->out_h, gw = bwd ? s->in_w : s->out_w, aw = bwd ? s->out_w : s->in_w;
  int ch = s->in_c, lo, hi;
  int pr = bwd ? s->stride_h : 1, pc = bwd ? s->stride_w : 1;
  sp_core_range(gh * gw, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  jb->ra = (ptrdiff_t)aw * ch;
  jb->ca = ch;
  jb->rw = (ptrdiff_t)(bwd ? -s->stride_h : 1) * s->k_w * ch;
  jb->cw = (ptrdiff_t)(bwd ? -s->stride_w : 1) * ch;
  int rlo = lo / gw, rhi = (hi - 1) / gw + 1;
  for (int fr = 0; fr < pr; fr++) {
    for (int r0 = rlo + fr, r1; r0 < rhi; r0 = r1) {
      dw_span rs = dw_span_of(s, bwd, 0, r0);
      for (r1 = r0 + pr; r1 < rhi && dw_same_class(dw_span_of(s, bwd, 0, r1), rs); r1 += pr) {
      }
      for (int fc = 0; fc < pc; fc++) {
        for (int c0 = fc, c1; c0 < gw; c0 = c1) {
          dw_span cs = dw_span_of(s, bwd, 1, c0);
          for (c1 = c0 + pc; c1 < gw && dw_same_class(dw_span_of(s, bwd, 1, c1), cs); c1 += pc) {
          }
          jb->nr = rs.n;
          jb->nc = cs.n;
          jb->w0 = ((ptrdiff_t)rs.first * s->k_w + cs.first) * ch;
          int n = 0;
          for (int r = r0; r < r1; r += pr) {
            int ar = dw_span_of(s, bwd, 0, r).a;
            for (int c = c0; c < c1; c += pc) {
              int p = r * gw + c;
              if (p < lo || p >= hi) continue;
              jb->abase[n] = ((size_t)ar * aw + (size_t)dw_span_of(s, bwd, 1, c).a) * ch;
              jb->obase[n] = (size_t)p * ch;
              if (++n == maxpx) {
                dw_pixels(jb, n, ch, cap, packed, mode);
                n = 0;
              }
            }
          }
          if (n > 0) dw_pixels(jb, n, ch, cap, packed, mode);
        }
      }
    }
  }
}

/* A variant's limits (sparrow_kernels_tuning.h) for the depthwise forward and
 * input grad: at most px pixels side by side, at most nb channels per block. */
#define DW_CFG(px, nb) ((px) | (nb) << 4)

/* The depthwise variants: 0 pixel pairs x 16 channels (the fastest on
 * DS-CNN's 25 x 5 x 64 layers on vega-like), 1 up to 4 pixels x 8 channels
 * (fewer weight loads where classes hold 4 pixels: wide images), 2 single
 * pixels x 16 channels (no gathering), 3 as 0. Scalar blocks hold at most 16
 * accumulators: 4 pixels x 4 channels, 2 x 8, 1 x 16. The weight grad has one
 * shape in every variant: a tap x 16 channels, the work item of the split. */
static int dw_cfg(void) {
  static const unsigned short cfg[SP_KERNEL_VARIANTS] = {DW_CFG(2, 16), DW_CFG(4, 8), DW_CFG(1, 16),
                                                        DW_CFG(2, 16)};
  return cfg[sp_variant()];
}

/* Whether channel pairs can be packed: fp16 accumulation with Xfvec, an even
 * channel count and word-aligned operands (every pair then starts on a word). */
static int dw_packed(int mode, int channels, const void *a, const void *b, const void *c) {
  return SP_F16_XFVEC && mode == SP_F16_ACC_F16 && channels % 2 == 0 &&
         (((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) & 3u) == 0;
}

static void dw_fwd_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                          const sp_f16 *b, sp_f16 *y, int core_id, int num_cores, int mode) {
  dw_job jb;
  int cfg = dw_cfg();
  jb.a = (const sp_h16 *)x;
  jb.w = (const sp_h16 *)w;
  jb.init = (const sp_h16 *)b;
  jb.out = (sp_h16 *)y;
  dw_walk(s, &jb, 0, core_id, num_cores, cfg & 15, cfg >> 4, dw_packed(mode, s->in_c, x, w, y), mode);
}

static void dw_bwd_input_native(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                sp_f16 *dx, int core_id, int num_cores, int mode) {
  dw_job jb;
  int cfg = dw_cfg();
  jb.a = (const sp_h16 *)dy;
  jb.w = (const sp_h16 *)w;
  jb.init = NULL;
  jb.out = (sp_h16 *)dx;
  dw_walk(s, &jb, 1, core_id, num_cores, cfg & 15, cfg >> 4, dw_packed(mode, s->in_c, dy, w, dx), mode);
}

/* The weight grad over the split's items (tap, block of SP_VB channels), as
 * f16_conv.c. */
static void dw_bwd_weight_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                                 sp_f16 *dw, int accumulate, int core_id, int num_cores, int mode) {
  int ch = s->in_c, blocks = (ch + SP_VB - 1) / SP_VB, lo, hi;
  int packed = dw_packed(mode, ch, x, dy, x);
  dw_wjob jb;
  jb.x = (const sp_h16 *)x;
  jb.dy = (const sp_h16 *)dy;
  jb.dw = (sp_h16 *)dw;
  jb.xr = (ptrdiff_t)s->stride_h * s->in_w * ch;
  jb.xc = (ptrdiff_t)s->stride_w * ch;
  jb.dyr = (ptrdiff_t)s->out_w * ch;
  jb.c = ch;
  jb.accumulate = accumulate;
  sp_core_range(s->k_h * s->k_w * blocks, 1, core_id, num_cores, &lo, &hi);
  for (int item = lo; item < hi; item++) {
    int tap = item / blocks, c0 = (item % blocks) * SP_VB, c1 = sp_min(ch, c0 + SP_VB);
    int kh = tap / s->k_w, kw = tap % s->k_w, oh0, oh1, ow0, ow1;
    sp_outputs_of_tap(kh, s->pad_top, s->stride_h, s->in_h, s->out_h, &oh0, &oh1);
    sp_outputs_of_tap(kw, s->pad_left, s->stride_w, s->in_w, s->out_w, &ow0, &ow1);
    jb.nr = oh1 - oh0;
    jb.nc = ow1 - ow0;
    jb.xbase = jb.dybase = 0;
    if (jb.nr > 0 && jb.nc > 0) {
      jb.xbase = ((size_t)(oh0 * s->stride_h - s->pad_top + kh) * s->in_w +
                  (size_t)(ow0 * s->stride_w - s->pad_left + kw)) * ch;
      jb.dybase = ((size_t)oh0 * s->out_w + ow0) * ch;
    }
    jb.dwbase = (size_t)tap * ch;
    for (int c = c0; c < c1;) {
      int nb = dw_width(c1 - c, 1, SP_VB, packed);
      jb.c0 = c;
      dw_wrun(&jb, nb, packed, mode);
      c += nb;
    }
  }
}

/* ---------------------------------------------------------------- forward */

/* Pixels p .. p+np-1 (np = 1, 2 or 4) with the same taps t, pixel q's first
 * tap at x0[q], channels oc0 .. oc0+nb-1 of group g: b[oc], then x * w over
 * the taps (kh, kw, ic) ascending. packed (np >= 2, fp16 mode, Xfvec): pixels
 * 2h and 2h+1 in the lanes of one register per channel, both updated by one
 * vfmac.r.h with their inputs times the channel's weight. */
SP_BLOCK void f16_fwd_block(const sp_conv2d_shape *s, const sp_h16 *x, const sp_h16 *w,
                            const sp_h16 *b, sp_h16 *y, int p, sp_conv_window t, const size_t *x0,
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
    sp_conv_window t;
    size_t x0[4];
    int np = f16_run_block(sp_conv_tap_run(s, p, sp_min(maxpx, hi - p), &t, x0));
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

void sp_f16_conv_fwd_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                            const sp_f16 *b, sp_f16 *y, int mode, int core_id, int num_cores) {
  if (sp_conv_is_depthwise(s)) {
    SP_F16_DISPATCH(mode, dw_fwd_native, s, x, w, b, y, core_id, num_cores);
    return;
  }
  SP_F16_DISPATCH(mode, F16_FWD_VARIANT, s, (const sp_h16 *)x, (const sp_h16 *)w,
                  (const sp_h16 *)b, (sp_h16 *)y, core_id, num_cores);
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

void sp_f16_conv_bwd_input_native(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                  sp_f16 *dx, int mode, int core_id, int num_cores) {
  if (sp_conv_is_depthwise(s)) {
    SP_F16_DISPATCH(mode, dw_bwd_input_native, s, dy, w, dx, core_id, num_cores);
    return;
  }
  SP_F16_DISPATCH(mode, F16_BWD_INPUT_VARIANT, s, (const sp_h16 *)dy, (const sp_h16 *)w,
                  (sp_h16 *)dx, core_id, num_cores);
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

void sp_f16_conv_bwd_weight_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                                   sp_f16 *dw, int accumulate, int mode, int core_id,
                                   int num_cores) {
  if (sp_conv_is_depthwise(s)) {
    SP_F16_DISPATCH(mode, dw_bwd_weight_native, s, x, dy, dw, accumulate, core_id, num_cores);
    return;
  }
  SP_F16_DISPATCH(mode, F16_BWD_WEIGHT_VARIANT, s, (const sp_h16 *)x, (const sp_h16 *)dy,
                  (sp_h16 *)dw, accumulate, core_id, num_cores);
}

#endif /* SP_F16_NATIVE */
