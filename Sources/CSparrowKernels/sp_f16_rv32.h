/*
 * sp_f16_rv32.h — register-block accumulators for the fp16 kernels on rv32
 * with Zfh (SP_F16_NATIVE), and the packed-FP16 SIMD of PULP cores (Xfvec) for
 * them (not part of the API).
 *
 * The native conv and linear kernels (f16_conv_rv32.c, f16_linear_rv32.c)
 * compute blocks of independent output elements at once, so each load and
 * conversion of a shared operand serves the whole block. Every element still
 * gets exactly the terms, order and roundings of sp_acc_mac (sp_f16.h):
 *  SP_F16_ACC_F16  acc = fmadd.h(x, y, acc): one rounding, as sp_h_fma;
 *  SP_F16_ACC_F32  acc = fmadd.s(x, y, acc) on the exact widenings: x * y is
 *                  exact in fp32, so this is the fp32 product and add.
 * With Xfvec, an fp16 block keeps two elements in the two lanes of one FP
 * register and updates both with one vfmac.h / vfmac.r.h: each lane is one
 * fmadd.h of its own element (docs/emulator-isa.md), so the bits are the same.
 *
 * Xfvec is not in clang's -march (the instructions are written with .insn), so
 * the build says so: SPARROW_XFVEC defined (the exported project's platform.h
 * for targets that list "xfvec"). Without it the blocks use scalar Zfh only.
 */
#ifndef SP_F16_RV32_H
#define SP_F16_RV32_H

#include "sp_f16.h"

#if SP_F16_NATIVE

#if defined(SPARROW_XFVEC)
#define SP_F16_XFVEC 1
#else
#define SP_F16_XFVEC 0
#endif

/* Most channels of one block. A block keeps at most 16 accumulator registers
 * (of 32): 16 channels of one pixel or tap, 8 of two, 4 of four; a packed
 * register holds two elements, so packed blocks hold twice as many. */
#define SP_NB_MAX 16

/* Before each loop over a block's elements (nb, np, nt are literals): fully
 * unrolled, the accumulator arrays become registers. */
#define SP_UNROLL_BLOCK _Pragma("GCC unroll 16")

/* Width of the next block when `left` elements remain: max (16 or 8), 8, 4, 2
 * or 1, each passed as a literal so the block is specialised. */
static inline int sp_nb_width(int left, int max) {
  return left >= max ? max : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : left;
}

/* ------------------------------------------------------ scalar accumulators
 * One element's sum in the mode's register type; mode is a literal at every
 * call, so only one field is live. */
typedef struct {
  _Float16 h; /* SP_F16_ACC_F16 */
  float f;    /* SP_F16_ACC_F32 */
} sp_nacc;

/* The start value init (a bias, or +0). */
SP_BLOCK sp_nacc sp_nacc_start(int mode, _Float16 init) {
  sp_nacc a;
  a.h = init;
  a.f = mode == SP_F16_ACC_F32 ? (float)init : 0.0f;
  return a;
}

/* acc += x * y (sp_acc_mac). In fp32 mode, the widening of an x shared by a
 * block is one fcvt.s.h: the compiler merges the identical conversions. */
SP_BLOCK void sp_nacc_mac(int mode, sp_nacc *a, _Float16 x, _Float16 y) {
  if (mode == SP_F16_ACC_F16)
    a->h = sp_fmah(x, y, a->h);
  else
    a->f = sp_fmaf((float)x, (float)y, a->f);
}

/* The finished sum (sp_acc_store's r). */
SP_BLOCK _Float16 sp_nacc_result(int mode, sp_nacc a) {
  return mode == SP_F16_ACC_F16 ? a.h : (_Float16)a.f;
}

/* *dst = r, or *dst + r when accumulating (sp_acc_store). */
SP_BLOCK void sp_nacc_store(_Float16 r, sp_h16 *dst, int accumulate) {
  *dst = accumulate ? *dst + r : r;
}

#if SP_F16_XFVEC
/* ------------------------------------------------------------ packed pairs
 * Two fp16 elements in one FP register: lane 0 in bits 15:0, lane 1 in bits
 * 31:16. A float is only the container (moved, loaded and stored, never used
 * in fp32 arithmetic, so its bits are kept). */
typedef float sp_f32a __attribute__((may_alias));

/* The pair p[0], p[1] (flw: p must be 4-byte aligned). */
SP_BLOCK float sp_pair_load(const sp_h16 *p) { return *(const sp_f32a *)p; }

/* The pair (lo, hi). */
SP_BLOCK float sp_pair(sp_f16 lo, sp_f16 hi) { return sp_u2f((uint32_t)lo | (uint32_t)hi << 16); }

SP_BLOCK sp_f16 sp_pair_lo(float v) { return (sp_f16)(sp_f2u(v) & 0xffffu); }
SP_BLOCK sp_f16 sp_pair_hi(float v) { return (sp_f16)(sp_f2u(v) >> 16); }

/* vfmac.h: each lane acc_k = fmadd.h(a_k, b_k, acc_k). */
SP_BLOCK float sp_vfmac(float acc, float a, float b) {
  __asm__(".insn r 0x33, 2, 0x48, %0, %1, %2" : "+f"(acc) : "f"(a), "f"(b));
  return acc;
}

/* vfmac.r.h: each lane acc_k = fmadd.h(a_k, b, acc_k), b the scalar operand. */
SP_BLOCK float sp_vfmac_r(float acc, float a, _Float16 b) {
  __asm__(".insn r 0x33, 6, 0x48, %0, %1, %2" : "+f"(acc) : "f"(a), "f"(b));
  return acc;
}
#endif /* SP_F16_XFVEC */

/* The native kernels (f16_conv_rv32.c): each computes what the f16_conv.c
 * entry point of the same name computes on the host, bit for bit, for every
 * shape (ordinary, grouped and depthwise). */
void sp_f16_conv_fwd_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *w,
                            const sp_f16 *b, sp_f16 *y, int mode, int core_id, int num_cores);
void sp_f16_conv_bwd_input_native(const sp_conv2d_shape *s, const sp_f16 *dy, const sp_f16 *w,
                                  sp_f16 *dx, int mode, int core_id, int num_cores);
void sp_f16_conv_bwd_weight_native(const sp_conv2d_shape *s, const sp_f16 *x, const sp_f16 *dy,
                                   sp_f16 *dw, int accumulate, int mode, int core_id,
                                   int num_cores);

#endif /* SP_F16_NATIVE */

#endif /* SP_F16_RV32_H */
