/*
 * sp_internal.h — helpers shared by the kernel sources (not part of the API).
 *
 * Work splitting: a kernel hands each core one contiguous range of independent
 * work items (output pixels, channels, elements, ...). The range depends on
 * num_cores, but the arithmetic done for one item never does: that is what makes
 * every core count bit-identical.
 */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sparrow_kernels.h"

/* Lanes of a register-resident accumulator block (output channels, input
 * channels, ...). Fixed-width loops over SP_VB let the host compiler keep the
 * block in SIMD registers; on a scalar core they stay in FP registers. The width
 * changes speed only: each lane is an independent output element. */
#define SP_VB 16
#if SP_VB != 16
#error "sp_block_width() and the block dispatch switches assume SP_VB == 16"
#endif

/* Block kernels are instantiated twice, with nb == SP_VB as a constant (fast,
 * register-resident) and with a runtime tail width; forcing the inlining makes
 * the constant reach the loops. */
#if defined(__GNUC__) || defined(__clang__)
#define SP_BLOCK static inline __attribute__((always_inline))
#else
#define SP_BLOCK static inline
#endif

/* Independent sums the conv kernels run side by side (pixels, or input
 * channels), at most: 2 where the lanes live in SIMD registers, which then hold
 * both blocks of SP_VB accumulators; 1 on a scalar FP register file (rv32: 32
 * registers), which holds one block but not two. Speed only: every sum keeps
 * its own order either way. */
#ifndef SP_PAIR
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__wasm_simd128__)
#define SP_PAIR 2
#else
#define SP_PAIR 1
#endif
#endif
/* 1 where the lanes of a block live in SIMD registers (the same test as
 * SP_PAIR). Speed only: it picks how the fused updates are laid out. */
#ifndef SP_SIMD
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__wasm_simd128__)
#define SP_SIMD 1
#else
#define SP_SIMD 0
#endif
#endif
/* The same for the AVX2 variants: sixteen 256-bit registers hold four blocks,
 * and four independent adds in flight are needed to cover the add latency. */
#ifndef SP_WIDE
#define SP_WIDE 4
#endif

/* AVX2 on x86-64 hosts. A plain x86-64 build (SwiftPM's) may only use SSE2; on
 * a CPU with AVX2 the conv, pooling and optimizer loops can run twice as many
 * lanes per instruction. So a hot kernel body is an SP_BLOCK function `name`,
 * and SP_VARIANTS(name, (params), (base args), (avx2 args)) defines name_base,
 * which calls it, and, on x86-64, name_avx2, which calls it compiled for AVX2;
 * the two argument lists differ only in literals such as how many independent
 * sums run side by side (SP_PAIR, SP_WIDE). SP_CALL_BEST(name, (args)) calls
 * name_avx2 when the CPU and OS support AVX2, else name_base. Both do the same
 * +, -, *, /, sqrt on the same values in the same order, each rounded to fp32
 * (AVX2 has no FMA and contraction is off), so they give the same bits; only
 * NaN payloads may differ, as the header allows. Everything the body calls must
 * be inlined into it (SP_BLOCK), or it runs as SSE code between AVX2 loops,
 * which costs far more than the call. Elsewhere (rv32, arm64, a build that
 * already targets AVX2, or with SP_NO_AVX2_DISPATCH defined) there is only
 * name_base. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__) && \
    !defined(SP_NO_AVX2_DISPATCH)
#include <cpuid.h>

/* 1 when the CPU has AVX2 and the OS saves the AVX registers. Asked once per
 * source file; the cached answer is the same for every core, so the relaxed
 * atomic only keeps concurrent first calls well defined. */
static inline int sp_cpu_has_avx2(void) {
  static int known; /* 0: not asked yet, 1: no, 2: yes */
  int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (v == 0) {
    unsigned a, b, c, d, xcr0_lo = 0, xcr0_hi = 0;
    int avx2 = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && (c & bit_AVX)) {
      __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
      if ((xcr0_lo & 6) == 6 && __get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        avx2 = (b & bit_AVX2) != 0;
      }
    }
    (void)xcr0_hi;
    v = avx2 ? 2 : 1;
    __atomic_store_n(&known, v, __ATOMIC_RELAXED);
  }
  return v == 2;
}

#define SP_VARIANTS(name, params, base_args, avx2_args)                    \
  static void name##_base params { name base_args; }                       \
  __attribute__((target("avx2"))) static void name##_avx2 params { name avx2_args; }
#define SP_CALL_BEST(name, args) \
  do {                           \
    if (sp_cpu_has_avx2())       \
      name##_avx2 args;          \
    else                         \
      name##_base args;          \
  } while (0)
#else
#define SP_VARIANTS(name, params, base_args, avx2_args) \
  static void name##_base params { name base_args; }
#define SP_CALL_BEST(name, args) name##_base args
#endif

/* Kernel variants (sparrow_kernels_tuning.h): how many the rv32 conv kernels
 * distinguish, and the variant of the running call (tuning.c), set by the
 * master core before it forks a call and only read inside kernels. */
#define SP_KERNEL_VARIANTS 4
extern int sp_kernel_variant_current;

/* The variant of the running call in [0, SP_KERNEL_VARIANTS): out of range is 0. */
static inline int sp_variant(void) {
  unsigned v = (unsigned)sp_kernel_variant_current;
  return v < SP_KERNEL_VARIANTS ? (int)v : 0;
}

/* name(args..., c) with c the variant's entry of c0..c3 (literals), so each
 * variant is its own specialised instance of the SP_BLOCK body `name`. */
#define SP_CALL_VARIANT(name, c0, c1, c2, c3, ...) \
  do {                                             \
    switch (sp_variant()) {                        \
      case 1: name(__VA_ARGS__, c1); break;        \
      case 2: name(__VA_ARGS__, c2); break;        \
      case 3: name(__VA_ARGS__, c3); break;        \
      default: name(__VA_ARGS__, c0); break;       \
    }                                              \
  } while (0)

/* SP_VARIANTS for a body whose last parameter is a literal block limit (how
 * many sums run side by side): SP_TUNED_VARIANTS(name, params, (other args),
 * c0, c1, c2, c3). On rv32, name_base runs the limit of the call's variant,
 * c0..c3; elsewhere the limits are SP_PAIR (and SP_WIDE for AVX2) and the
 * variant is ignored. The FP32 conv kernels list 4, 3, 2, 1: on a scalar FP
 * register file blocks of more than one sum spill accumulators to the stack,
 * but they load each shared operand once per block, which wins where the
 * operands sit in L2 (ResNet-8 training on vega-like: 4 is fastest); with
 * operands in L1, fewer sums side by side may be faster. */
#define SP_ARGS(...) __VA_ARGS__
#if defined(__riscv)
#define SP_TUNED_VARIANTS(name, params, args, c0, c1, c2, c3) \
  static void name##_base params { SP_CALL_VARIANT(name, c0, c1, c2, c3, SP_ARGS args); }
#else
#define SP_TUNED_VARIANTS(name, params, args, c0, c1, c2, c3) \
  SP_VARIANTS(name, params, (SP_ARGS args, SP_PAIR), (SP_ARGS args, SP_WIDE))
#endif

/* Width of the next lane block when `left` lanes remain: 16, 8 or 4 (each then
 * passed as a literal so the block kernel is specialised), else the remainder. */
static inline int sp_block_width(int left) {
  return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left;
}

/* The bits of a float and back (C11 union punning: no memcpy, one move).
 * Selects written as bit masks (bits & keep) are exact copies of one operand,
 * so they give the same bits as the branch they replace, without a branch. */
static inline uint32_t sp_f2u(float f) {
  union { float f; uint32_t u; } v;
  v.f = f;
  return v.u;
}
static inline float sp_u2f(uint32_t u) {
  union { float f; uint32_t u; } v;
  v.u = u;
  return v.f;
}

static inline int sp_min(int a, int b) { return a < b ? a : b; }
static inline int sp_max(int a, int b) { return a > b ? a : b; }

/* The range [*lo, *hi) of n work items that core_id owns: ceil(n / num_cores)
 * rounded up to a multiple of align per core, the last cores possibly empty.
 * An invalid core_id / num_cores gets an empty range. */
static inline void sp_core_range(int n, int align, int core_id, int num_cores, int *lo, int *hi) {
  *lo = 0;
  *hi = 0;
  if (n <= 0 || num_cores <= 0 || core_id < 0 || core_id >= num_cores) return;
  if (align < 1) align = 1;
  long per = ((long)n + num_cores - 1) / num_cores;
  per = (per + align - 1) / align * align;
  long a = per * core_id, b = a + per;
  *lo = (int)(a < n ? a : n);
  *hi = (int)(b < n ? b : n);
}

/* Range of output indices o (stride st, padding pad, kernel k, o in [0, out))
 * whose window covers input index i: o*st - pad <= i < o*st - pad + k. */
static inline void sp_covering_outputs(int i, int pad, int k, int st, int out, int *lo, int *hi) {
  int top = i + pad;          /* o*st <= top */
  int bottom = top - k + 1;   /* o*st >= bottom */
  int a = bottom <= 0 ? 0 : (bottom + st - 1) / st;
  int b = top / st + 1;
  *lo = a;
  *hi = sp_min(b, out);
}

/* The same range for input index i, given the range [*lo, *hi) that
 * sp_covering_outputs (or this) gave for i - 1: both ends only move up as i
 * grows, so a walk along a row needs no division. Gives the same set of o (an
 * empty range may be represented differently). */
static inline void sp_covering_next(int i, int pad, int k, int st, int out, int *lo, int *hi) {
  while (*hi < out && *hi * st - pad <= i) (*hi)++;
  while (*lo < *hi && *lo * st - pad + k <= i) (*lo)++;
}

/* Range of output indices o in [0, out) whose tap t reads an in-bounds input:
 * 0 <= o*st - pad + t < n. */
static inline void sp_outputs_of_tap(int t, int pad, int st, int n, int out, int *lo, int *hi) {
  int first = pad - t;          /* o*st >= first */
  int last = n - 1 + pad - t;   /* o*st <= last */
  *lo = first <= 0 ? 0 : (first + st - 1) / st;
  *hi = last < 0 ? 0 : sp_min(last / st + 1, out);
}

/* Range of kernel taps t in [0, k) with 0 <= base + t < n. */
static inline void sp_valid_taps(int base, int k, int n, int *lo, int *hi) {
  *lo = sp_max(0, -base);
  *hi = sp_min(k, n - base);
}

/* Correctly rounded sqrt as one instruction. __builtin_sqrtf keeps errno
 * semantics and becomes a call to libm's sqrtf when the input is negative (on
 * rv32 freestanding it becomes an unconditional call), so prefer the clang
 * builtin that has no errno path. */
static inline float sp_sqrtf(float x) {
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
  return __builtin_elementwise_sqrt(x);
#else
  return __builtin_sqrtf(x);
#endif
#else
  return __builtin_sqrtf(x);
#endif
}

static inline int sp_conv_is_depthwise(const sp_conv2d_shape *s) {
  return s->groups == s->in_c && s->in_c == s->out_c;
}

/* The in-bounds taps of conv output pixel p: kernel rows [kh0, kh1), columns
 * [kw0, kw1), and where the first one starts in x (channel 0). */
typedef struct {
  int kh0, kh1, kw0, kw1;
  size_t x0;
} sp_conv_window;

static inline sp_conv_window sp_conv_window_of(const sp_conv2d_shape *s, int p) {
  sp_conv_window t;
  int oh = p / s->out_w, ow = p % s->out_w;
  int ih0 = oh * s->stride_h - s->pad_top, iw0 = ow * s->stride_w - s->pad_left;
  sp_valid_taps(ih0, s->k_h, s->in_h, &t.kh0, &t.kh1);
  sp_valid_taps(iw0, s->k_w, s->in_w, &t.kw0, &t.kw1);
  t.x0 = ((size_t)(ih0 + t.kh0) * s->in_w + (size_t)(iw0 + t.kw0)) * s->in_c;
  return t;
}

/* The run of output pixels from p that apply the same taps, the unit the rv32
 * register blocks compute together: *t is p's window, x0[q] the first tap of
 * pixel p + q; returns the run's length, at most max (1 to 4), ending before
 * the first pixel whose taps differ. Inlined into the callers' pixel loops. */
SP_BLOCK int sp_conv_tap_run(const sp_conv2d_shape *s, int p, int max, sp_conv_window *t,
                             size_t x0[4]) {
  *t = sp_conv_window_of(s, p);
  x0[0] = t->x0;
  int run = 1;
  for (; run < max; run++) {
    sp_conv_window u = sp_conv_window_of(s, p + run);
    if (u.kh0 != t->kh0 || u.kh1 != t->kh1 || u.kw0 != t->kw0 || u.kw1 != t->kw1) break;
    x0[run] = u.x0;
  }
  return run;
}

/* Depthwise conv kernels (depthwise.c), dispatched from the conv entry points. */
void sp_dwconv_fwd(const sp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y,
                   int core_id, int num_cores);
void sp_dwconv_bwd_input(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                         int core_id, int num_cores);
void sp_dwconv_bwd_weight(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                          int accumulate, int core_id, int num_cores);

/* ------------------------------------------------------ optimizer updates
 * The one source of the per-element optimizer formulas: the optimizer kernels
 * (optim.c) and the fused gradient + update kernels both go through
 * sp_update_element, so an element fused into a gradient kernel gets exactly
 * the operations sp_sgd_f32 / sp_sgd_momentum_f32 / sp_adam_f32 do on it. */

/* Per-step constants of one update: the parameter and state buffers, the
 * hyper-parameters and the scalars derived from them, computed identically by
 * every core and every kernel (sp_update_step_init). */
typedef struct {
  int kind;  /* sp_update_kind */
  int decay; /* weight_decay != 0: only then is weight_decay * w added (adding
              * 0 * w instead would change the -0 and inf cases) */
  float *w, *m, *v;          /* m: velocity (momentum) or first moment (Adam) */
  float lr, weight_decay, grad_scale, momentum;
  float lerp_w, lerp_w_rest; /* Adam: 1 - beta1 and 1 - (1 - beta1) */
  float beta2, one_minus_b2, eps, step, sqrt_bc2; /* Adam: lr / bc1, sqrt(bc2) */
} sp_update_step;

/* Fills k. Returns 0 (k unusable) when w is NULL, kind is unknown or kind's
 * state buffers are NULL; 1 otherwise. Fields that kind does not use are zero. */
static inline int sp_update_step_init(sp_update_step *k, int kind, float *w, float *m, float *v,
                                      float lr, float weight_decay, float grad_scale,
                                      float momentum, float beta1, float beta2, float eps,
                                      float bias_correction1, float bias_correction2) {
  k->kind = kind;
  k->decay = weight_decay != 0.0f;
  k->w = w;
  k->m = NULL;
  k->v = NULL;
  k->lr = lr;
  k->weight_decay = weight_decay;
  k->grad_scale = grad_scale;
  k->momentum = 0.0f;
  k->lerp_w = k->lerp_w_rest = k->beta2 = k->one_minus_b2 = k->eps = k->step = k->sqrt_bc2 = 0.0f;
  if (w == NULL) return 0;
  switch (kind) {
    case SP_UPDATE_SGD:
      return 1;
    case SP_UPDATE_MOMENTUM:
      k->m = m;
      k->momentum = momentum;
      return m != NULL;
    case SP_UPDATE_ADAM:
      k->m = m;
      k->v = v;
      k->lerp_w = 1.0f - beta1;
      k->lerp_w_rest = 1.0f - k->lerp_w;
      k->beta2 = beta2;
      k->one_minus_b2 = 1.0f - beta2;
      k->eps = eps;
      k->step = lr / bias_correction1;
      k->sqrt_bc2 = sp_sqrtf(bias_correction2);
      return m != NULL && v != NULL;
    default:
      return 0;
  }
}

/* The same from a public sp_update (NULL gives 0). */
static inline int sp_update_step_from(sp_update_step *k, const sp_update *u) {
  if (u == NULL) {
    sp_update_step_init(k, -1, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 1, 1);
    return 0;
  }
  return sp_update_step_init(k, (int)u->kind, u->w, u->m, u->v, u->lr, u->weight_decay,
                             u->grad_scale, u->momentum, u->beta1, u->beta2, u->eps,
                             u->bias_correction1, u->bias_correction2);
}

/* Updates one element w (with its state m, v) from its finished gradient g.
 * kind and decay are literals at every call (sp_update_vec), so the branches
 * fold away. First g' = g * grad_scale (+ weight_decay * w when decay), then:
 *  SGD:      w = w - lr * g'
 *  momentum: m = momentum * m + g'; w = w - lr * m   (PyTorch, dampening 0)
 *  Adam:     PyTorch's order: m = exp_avg.lerp_(g', 1 - beta1), with lerp's two
 *            stable forms chosen by weight < 0.5; v = beta2 v + ((1 - beta2) g') g';
 *            denom = sqrt(v) / sqrt(bc2) + eps; w = w - (lr / bc1) * (m / denom). */
SP_BLOCK void sp_update_element(const sp_update_step *k, int kind, int decay, float *w, float *m,
                                float *v, float g) {
  float gi = decay ? g * k->grad_scale + k->weight_decay * *w : g * k->grad_scale;
  if (kind == SP_UPDATE_SGD) {
    *w = *w - k->lr * gi;
  } else if (kind == SP_UPDATE_MOMENTUM) {
    float vel = k->momentum * *m + gi;
    *m = vel;
    *w = *w - k->lr * vel;
  } else {
    float mi = k->lerp_w < 0.5f ? *m + k->lerp_w * (gi - *m) : gi - (gi - *m) * k->lerp_w_rest;
    float vi = k->beta2 * *v + (k->one_minus_b2 * gi) * gi;
    float denom = sp_sqrtf(vi) / k->sqrt_bc2 + k->eps;
    *m = mi;
    *v = vi;
    *w = *w - k->step * (mi / denom);
  }
}

/* Updates the n elements w[0..n) (state m[0..n), v[0..n): pointers the kind
 * does not use may be NULL or garbage) with the finished gradients g[0..n). k
 * must come from a successful sp_update_step_init. The kind / decay switch runs
 * once per call, so each loop is specialised (and may vectorise: the elements
 * are independent). */
SP_BLOCK void sp_update_vec(const sp_update_step *k, float *w, float *m, float *v, const float *g,
                            int n) {
#define SP_UPDATE_LOOP(kind, decay)                                                       \
  for (int t = 0; t < n; t++)                                                             \
    sp_update_element(k, kind, decay, w + t, kind != SP_UPDATE_SGD ? m + t : NULL,        \
                      kind == SP_UPDATE_ADAM ? v + t : NULL, g[t])
  switch (k->kind * 2 + k->decay) {
    case SP_UPDATE_SGD * 2: SP_UPDATE_LOOP(SP_UPDATE_SGD, 0); break;
    case SP_UPDATE_SGD * 2 + 1: SP_UPDATE_LOOP(SP_UPDATE_SGD, 1); break;
    case SP_UPDATE_MOMENTUM * 2: SP_UPDATE_LOOP(SP_UPDATE_MOMENTUM, 0); break;
    case SP_UPDATE_MOMENTUM * 2 + 1: SP_UPDATE_LOOP(SP_UPDATE_MOMENTUM, 1); break;
    case SP_UPDATE_ADAM * 2: SP_UPDATE_LOOP(SP_UPDATE_ADAM, 0); break;
    case SP_UPDATE_ADAM * 2 + 1: SP_UPDATE_LOOP(SP_UPDATE_ADAM, 1); break;
    default: break;
  }
#undef SP_UPDATE_LOOP
}

/* Updates the n consecutive elements off, off+1, ... of k's parameter (and
 * state) with the finished gradients g[0..n). */
SP_BLOCK void sp_update_run(const sp_update_step *k, size_t off, const float *g, int n) {
  sp_update_vec(k, k->w + off, k->m != NULL ? k->m + off : NULL, k->v != NULL ? k->v + off : NULL,
                g, n);
}

/* Updates rows x cols elements: row r is the cols consecutive elements from
 * off + r*stride, with gradients g[r*cols .. r*cols + cols); rows * cols <=
 * 4*SP_VB. For SIMD hosts: the elements and their state are gathered into
 * local arrays, updated as one vectorised run (Adam's sqrt and divide
 * especially), then scattered back. The same operations on the same values as
 * updating each row in place (sp_update_run): copies do not change bits. */
SP_BLOCK void sp_update_rows(const sp_update_step *k, size_t off, size_t stride, const float *g,
                             int rows, int cols) {
  float wl[4 * SP_VB], ml[4 * SP_VB], vl[4 * SP_VB];
  float *w = k->w + off, *m = k->m != NULL ? k->m + off : NULL, *v = k->v != NULL ? k->v + off : NULL;
#define SP_ROWS_COPY(dst, dst_at, src, src_at)   \
  for (int r = 0; r < rows; r++)                 \
    for (int c = 0; c < cols; c++) dst[dst_at] = src[src_at]
  SP_ROWS_COPY(wl, r * cols + c, w, (size_t)r * stride + (size_t)c);
  if (m != NULL) SP_ROWS_COPY(ml, r * cols + c, m, (size_t)r * stride + (size_t)c);
  if (v != NULL) SP_ROWS_COPY(vl, r * cols + c, v, (size_t)r * stride + (size_t)c);
  sp_update_vec(k, wl, ml, vl, g, rows * cols);
  SP_ROWS_COPY(w, (size_t)r * stride + (size_t)c, wl, r * cols + c);
  if (m != NULL) SP_ROWS_COPY(m, (size_t)r * stride + (size_t)c, ml, r * cols + c);
  if (v != NULL) SP_ROWS_COPY(v, (size_t)r * stride + (size_t)c, vl, r * cols + c);
#undef SP_ROWS_COPY
}

/* Depthwise weight gradient fused with the update u (depthwise.c). */
void sp_dwconv_bwd_weight_update(const sp_conv2d_shape *s, const float *x, const float *dy,
                                 const sp_update *u, int core_id, int num_cores);

#endif /* SP_INTERNAL_H */
