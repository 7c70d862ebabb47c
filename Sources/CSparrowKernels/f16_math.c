/*
 * f16_math.c — the scalar fp16 API (sparrow_kernels_f16.h). The arithmetic
 * itself, and why it is correctly rounded, is in sp_f16.h, shared with the
 * fp16 kernels.
 */
#include "sp_f16.h"

sp_f16 sp_f16_from_f32(float x) { return sp_f2h(x); }
float sp_f16_to_f32(sp_f16 h) { return sp_h2f(h); }
sp_f16 sp_f16_add(sp_f16 a, sp_f16 b) { return sp_h_add(a, b); }
sp_f16 sp_f16_sub(sp_f16 a, sp_f16 b) { return sp_h_sub(a, b); }
sp_f16 sp_f16_mul(sp_f16 a, sp_f16 b) { return sp_h_mul(a, b); }
sp_f16 sp_f16_div(sp_f16 a, sp_f16 b) { return sp_h_div(a, b); }
sp_f16 sp_f16_sqrt(sp_f16 a) { return sp_h_sqrt(a); }
sp_f16 sp_f16_fma(sp_f16 a, sp_f16 b, sp_f16 c) { return sp_h_fma(a, b, c); }
