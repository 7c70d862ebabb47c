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

/* Depthwise conv kernels (depthwise.c), dispatched from the conv entry points. */
void sp_dwconv_fwd(const sp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y,
                   int core_id, int num_cores);
void sp_dwconv_bwd_input(const sp_conv2d_shape *s, const float *dy, const float *w, float *dx,
                         int core_id, int num_cores);
void sp_dwconv_bwd_weight(const sp_conv2d_shape *s, const float *x, const float *dy, float *dw,
                          int accumulate, int core_id, int num_cores);

#endif /* SP_INTERNAL_H */
