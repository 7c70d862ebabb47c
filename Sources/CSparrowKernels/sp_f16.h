/*
 * sp_f16.h — the fp16 arithmetic of the kernel library, inline so the kernels
 * pay no call per multiply-accumulate (not part of the API; f16_math.c exports
 * the same functions as sp_f16_*). One definition, so the scalar API and the
 * kernels round every operation identically.
 *
 * Why fp32 gives correctly rounded fp16 results:
 *  - Conversions are integer code (exact widening; one round-to-nearest-even
 *    narrowing), independent of the FPU.
 *  - +, -, *, /, sqrt: the operands are exact in fp32; fp32 rounds the result
 *    once to p = 24 bits and sp_f2h rounds that to q = 11 bits. Rounding twice
 *    to nearest gives the same result as rounding once whenever p >= 2q + 2
 *    (Figueroa, "When is double rounding innocuous?", 1995) and 24 = 2*11 + 2.
 *    Products of two fp16 values are even exact in fp32 (22 significand bits,
 *    exponents within 2^-48 .. 2^32). fp32 never overflows or underflows on
 *    fp16 operands (all results lie within 2^-48 .. 2^41 or are zero), so the
 *    fp16 range limits are applied exactly once, by sp_f2h.
 *  - fma: a*b is exact in fp32 but a*b + c is not, and rounding it to fp32 and
 *    then to fp16 can be wrong (the fp32 rounding can land exactly on an fp16
 *    tie, or move off one). So the exact error of the fp32 sum is computed
 *    (TwoSum: exact for any finite fp32 operands, subnormal or not) and the sum
 *    is rounded to odd instead: if the error is non-zero and the rounded sum's
 *    last bit is even, step one ulp towards the exact value (its other
 *    neighbour, whose last bit is odd). Rounding to odd with p >= q + 2 bits and
 *    then to nearest with q bits equals rounding once to q bits (Boldo &
 *    Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
 *    using rounding to odd", 2008): an odd last bit is a sticky bit that can
 *    never sit on a q-bit tie. Again fp32 cannot overflow (|a*b + c| < 2^33).
 *  - Every NaN result is made SP_F16_NAN by sp_f2h, so hardware NaN payloads
 *    never reach the output.
 * Build with -ffp-contract=off (the package does): contracting s - p or the
 * TwoSum terms into fused operations would change them.
 *
 * rv32 with Zfh (SP_F16_NATIVE): the same functions are single instructions
 * (fcvt.h.s, fadd.h, fsub.h, fmul.h, fdiv.h, fsqrt.h, fmadd.h on _Float16). IEEE
 * 754 defines each as the correctly rounded result, and the kernels run with
 * frm = round to nearest, ties to even (the reset value; nothing changes it),
 * so they give the integer code's bits for every input: the same overflow to
 * inf, subnormals and signed zeros, and RISC-V's canonical NaN is 0x7E00 =
 * SP_F16_NAN. Only sp_h2f stays integer code there: it keeps a NaN's payload
 * (the API says so, sp_f16_to_f32), fcvt.s.h does not. Arithmetic operands are
 * widened by sp_h2f_arith instead, which may drop the payload: a NaN payload
 * cannot reach a result through arithmetic, since RISC-V F instructions return
 * the canonical NaN for any NaN operand (and sp_f2h maps every NaN to
 * SP_F16_NAN on the host).
 */
#ifndef SP_F16_H
#define SP_F16_H

#include "sp_internal.h"
#include "sparrow_kernels_f16.h"

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "sp_f16 needs float arithmetic rounded to float per operation (FLT_EVAL_METHOD 0)"
#endif

/* fp16 bits -> fp32, exact. */
static inline float sp_h2f(sp_f16 h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (uint32_t)(h >> 10) & 0x1fu, m = (uint32_t)h & 0x3ffu;
  if (e == 31) /* inf, or NaN made quiet with the payload kept */
    return sp_u2f(sign | 0x7f800000u | (m != 0 ? 0x400000u | (m << 13) : 0u));
  if (e == 0) {
    if (m == 0) return sp_u2f(sign);
    /* Subnormal m * 2^-24: shift the leading one up to bit 10 (a loop, not
     * __builtin_clz, which is a libcall on rv32 without Zbb). */
    uint32_t sh = 0;
    while ((m & 0x400u) == 0) {
      m <<= 1;
      sh++;
    }
    return sp_u2f(sign | ((113u - sh) << 23) | ((m & 0x3ffu) << 13));
  }
  return sp_u2f(sign | ((e + 112u) << 23) | (m << 13));
}

#if defined(__riscv) && defined(__riscv_zfh)
#define SP_F16_NATIVE 1

/* An element of an sp_f16 buffer as the compiler's half type, so kernels load
 * and store it with flh / fsh; may_alias makes reading sp_f16 storage through
 * it defined. */
typedef _Float16 sp_h16 __attribute__((may_alias));

/* fp16 bits <-> _Float16 (fmv.h.x / fmv.x.h). */
static inline _Float16 sp_h_from_bits(sp_f16 h) {
  union { sp_f16 u; _Float16 f; } v;
  v.u = h;
  return v.f;
}
static inline sp_f16 sp_h_to_bits(_Float16 f) {
  union { sp_f16 u; _Float16 f; } v;
  v.f = f;
  return v.u;
}

/* fp16 bits -> fp32 as an operand of fp32 arithmetic: sp_h2f, except that a NaN
 * may come out as the canonical NaN (see the top of this file). */
static inline float sp_h2f_arith(sp_f16 h) { return (float)sp_h_from_bits(h); }

/* fp32 -> fp16 bits, round to nearest, ties to even (fcvt.h.s). */
static inline sp_f16 sp_f2h(float f) { return sp_h_to_bits((_Float16)f); }

/* sqrt and fused multiply-add as single instructions (fsqrt.h, fmadd.h, fmadd.s).
 * The libm-style builtins keep errno semantics and become library calls unless
 * built with -fno-math-errno; clang's elementwise builtins have no errno path. */
#define SP_ELEMENTWISE_MATH 0
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt) && __has_builtin(__builtin_elementwise_fma)
#undef SP_ELEMENTWISE_MATH
#define SP_ELEMENTWISE_MATH 1
#endif
#endif
static inline _Float16 sp_sqrth(_Float16 x) {
#if SP_ELEMENTWISE_MATH
  return __builtin_elementwise_sqrt(x);
#else
  return __builtin_sqrtf16(x);
#endif
}
static inline _Float16 sp_fmah(_Float16 a, _Float16 b, _Float16 c) {
#if SP_ELEMENTWISE_MATH
  return __builtin_elementwise_fma(a, b, c);
#else
  return __builtin_fmaf16(a, b, c);
#endif
}
static inline float sp_fmaf(float a, float b, float c) {
#if SP_ELEMENTWISE_MATH
  return __builtin_elementwise_fma(a, b, c);
#else
  return __builtin_fmaf(a, b, c);
#endif
}

/* The operations on fp16 bits (SP_H(x): x as _Float16). */
#define SP_H(x) sp_h_from_bits(x)
static inline sp_f16 sp_h_add(sp_f16 a, sp_f16 b) { return sp_h_to_bits(SP_H(a) + SP_H(b)); }
static inline sp_f16 sp_h_sub(sp_f16 a, sp_f16 b) { return sp_h_to_bits(SP_H(a) - SP_H(b)); }
static inline sp_f16 sp_h_mul(sp_f16 a, sp_f16 b) { return sp_h_to_bits(SP_H(a) * SP_H(b)); }
static inline sp_f16 sp_h_div(sp_f16 a, sp_f16 b) { return sp_h_to_bits(SP_H(a) / SP_H(b)); }
static inline sp_f16 sp_h_sqrt(sp_f16 a) { return sp_h_to_bits(sp_sqrth(SP_H(a))); }

/* a * b + c, one rounding (fmadd.h). */
static inline sp_f16 sp_h_fma(sp_f16 a, sp_f16 b, sp_f16 c) {
  return sp_h_to_bits(sp_fmah(SP_H(a), SP_H(b), SP_H(c)));
}
#undef SP_H

/* acc + x * y for fp16 values x, y (widened): x * y is exact in fp32, so one
 * fused fmadd.s rounds exactly as the product followed by an fp32 add. */
static inline float sp_f32_mac(float acc, float x, float y) { return sp_fmaf(x, y, acc); }

#else
#define SP_F16_NATIVE 0

/* fp16 bits -> fp32 as an operand of fp32 arithmetic (see the native variant). */
static inline float sp_h2f_arith(sp_f16 h) { return sp_h2f(h); }

/* fp32 -> fp16 bits, round to nearest, ties to even. */
static inline sp_f16 sp_f2h(float f) {
  uint32_t u = sp_f2u(f);
  sp_f16 sign = (sp_f16)((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return SP_F16_NAN;
  /* 65520 = 0x477ff000 is the tie between 65504 (odd significand) and 2^16:
   * it and everything above round to inf. */
  if (u >= 0x477ff000u) return (sp_f16)(sign | 0x7c00u);
  uint32_t exp = u >> 23;
  if (exp >= 113) { /* a normal fp16: rebias the exponent, drop 13 bits */
    uint32_t m = u - (112u << 23);
    uint32_t h = m >> 13, rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry bumps the exponent: right */
    return (sp_f16)(sign | h);
  }
  if (exp < 102) return sign; /* below 2^-25: rounds to zero (2^-25 itself is a tie, to 0) */
  /* Subnormal result in units of 2^-24: (2^23 + frac) * 2^(exp - 150 + 24). */
  uint32_t mant = (u & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - exp; /* 14 .. 24 */
  uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u))) h++; /* 0x400 is the smallest normal: right */
  return (sp_f16)(sign | h);
}

static inline sp_f16 sp_h_add(sp_f16 a, sp_f16 b) { return sp_f2h(sp_h2f(a) + sp_h2f(b)); }
static inline sp_f16 sp_h_sub(sp_f16 a, sp_f16 b) { return sp_f2h(sp_h2f(a) - sp_h2f(b)); }
static inline sp_f16 sp_h_mul(sp_f16 a, sp_f16 b) { return sp_f2h(sp_h2f(a) * sp_h2f(b)); }
static inline sp_f16 sp_h_div(sp_f16 a, sp_f16 b) { return sp_f2h(sp_h2f(a) / sp_h2f(b)); }
static inline sp_f16 sp_h_sqrt(sp_f16 a) { return sp_f2h(sp_sqrtf(sp_h2f(a))); }

/* a * b + c, one rounding (see the top of this file), with a and b given
 * widened (sp_h2f): kernels that widen each operand once call this. */
static inline sp_f16 sp_h_fma_wide(float a, float b, sp_f16 c) {
  float p = a * b; /* exact */
  float z = sp_h2f(c);
  float s = p + z;
  /* TwoSum (Knuth): e = (p + z) - s exactly, whichever operand is larger. */
  float bv = s - p;
  float av = s - bv;
  float e = (p - av) + (z - bv);
  uint32_t u = sp_f2u(s);
  /* s finite and inexact implies s != 0 (p and z are multiples of 2^-48, so a
   * non-zero exact sum is at least 2^-48, far above fp32's underflow), so the
   * magnitude step below never crosses zero or reaches inf. */
  if ((u & 0x7f800000u) != 0x7f800000u && e != 0.0f && (u & 1u) == 0)
    u = ((sp_f2u(e) ^ u) & 0x80000000u) != 0 ? u - 1u : u + 1u;
  return sp_f2h(sp_u2f(u));
}

/* a * b + c, one rounding. */
static inline sp_f16 sp_h_fma(sp_f16 a, sp_f16 b, sp_f16 c) { return sp_h_fma_wide(sp_h2f(a), sp_h2f(b), c); }

/* acc + x * y for fp16 values x, y (widened): the product is exact, one add rounds. */
static inline float sp_f32_mac(float acc, float x, float y) { return acc + x * y; }

#endif /* SP_F16_NATIVE */

/* ------------------------------------------------------------ accumulators
 * One accumulator type for both modes; mode is a literal at every call (the
 * kernel bodies are SP_BLOCK functions instantiated once per mode), so each
 * instantiation keeps only its own field and branch. */
typedef struct {
  sp_f16 h; /* SP_F16_ACC_F16 */
  float f;  /* SP_F16_ACC_F32 */
} sp_f16_accum;

/* The start value: init (a bias) or +0 when init is NULL. */
SP_BLOCK sp_f16_accum sp_acc_start(int mode, const sp_f16 *init) {
  sp_f16_accum a;
  a.h = init != NULL ? *init : 0;
  a.f = mode == SP_F16_ACC_F32 ? sp_h2f_arith(a.h) : 0.0f;
  return a;
}

/* acc += x * y: one fma (fp16 mode) or an exact fp32 product and one fp32 add. */
SP_BLOCK void sp_acc_mac(int mode, sp_f16_accum *a, sp_f16 x, sp_f16 y) {
  if (mode == SP_F16_ACC_F16)
    a->h = sp_h_fma(x, y, a->h);
  else
    a->f = sp_f32_mac(a->f, sp_h2f_arith(x), sp_h2f_arith(y));
}

/* acc += x. */
SP_BLOCK void sp_acc_add(int mode, sp_f16_accum *a, sp_f16 x) {
  if (mode == SP_F16_ACC_F16)
    a->h = sp_h_add(a->h, x);
  else
    a->f = a->f + sp_h2f_arith(x);
}

/* The finished sum, stored into *dst (accumulate: added once in fp16). */
SP_BLOCK void sp_acc_store(int mode, sp_f16_accum a, sp_f16 *dst, int accumulate) {
  sp_f16 r = mode == SP_F16_ACC_F16 ? a.h : sp_f2h(a.f);
  *dst = accumulate ? sp_h_add(*dst, r) : r;
}

/* Calls BODY(args..., mode) with mode as a literal; an unknown mode does nothing. */
#define SP_F16_DISPATCH(mode, BODY, ...)                       \
  do {                                                         \
    if ((mode) == SP_F16_ACC_F16)                              \
      BODY(__VA_ARGS__, SP_F16_ACC_F16);                       \
    else if ((mode) == SP_F16_ACC_F32)                         \
      BODY(__VA_ARGS__, SP_F16_ACC_F32);                       \
  } while (0)

#endif /* SP_F16_H */
