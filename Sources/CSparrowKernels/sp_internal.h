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

/* Width of the next lane block when `left` lanes remain: 16, 8 or 4 (each then
 * passed as a literal so the block kernel is specialised), else the remainder. */
static inline int sp_block_width(int left) {
  return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left;
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
