/*
 * int8_requant.c — integer-only requantization (sparrow_kernels_int8.h): the
 * one definition of it. Every int8 kernel goes through sp_requantize_raw, so
 * they all round exactly as sp_requantize.
 */
#include "sparrow_kernels_int8.h"

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* The product fits in 62 bits and p + 2^(n-1) in 63, so nothing overflows.
 * >> of a negative int64 is an arithmetic shift (floor) on every compiler we
 * target (C23 makes it the rule); rv32 gets mul + mulh and an inline shift. */
int64_t sp_requantize_raw(int32_t acc, int32_t mult, int32_t shift) {
  if (mult < 0) mult = 0;
  int n = 31 + (int)clamp_i32(shift, SP_REQUANT_SHIFT_MIN, SP_REQUANT_SHIFT_MAX);
  int64_t p = (int64_t)acc * (int64_t)mult;
  if (n == 0) return p;
  return (p + ((int64_t)1 << (n - 1))) >> n;
}

int8_t sp_requantize_clamped(int32_t acc, int32_t mult, int32_t shift, int32_t zero_point,
                             int32_t lo, int32_t hi) {
  lo = clamp_i32(lo, -128, 127);
  hi = clamp_i32(hi, -128, 127);
  if (lo > hi) lo = hi;
  int64_t r = sp_requantize_raw(acc, mult, shift) + (int64_t)zero_point;
  if (r < (int64_t)lo) return (int8_t)lo;
  if (r > (int64_t)hi) return (int8_t)hi;
  return (int8_t)r;
}

int8_t sp_requantize(int32_t acc, int32_t mult, int32_t shift, int32_t zero_point) {
  return sp_requantize_clamped(acc, mult, shift, zero_point, -128, 127);
}
