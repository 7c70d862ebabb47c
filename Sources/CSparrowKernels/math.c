/*
 * math.c — exp and log for the kernels, from fp32 +, -, *, / and bit
 * manipulation only, so the host, the exported project and rv32 agree bit for
 * bit (a libm may differ between platforms and is not there freestanding).
 * No cores here: these are scalar helpers.
 *
 * exp: x = n*ln2 + r with n = round(x / ln2) and |r| <= ln2/2 (Cody-Waite: ln2
 * in two parts, the high part short enough that n*LN2_HI is exact and x - n*LN2_HI
 * is exact by Sterbenz). e^r = 1 + (r + r^2 q(r)) with q the Taylor series up to
 * r^7 (truncation < 0.12 ulp). 2^n is applied by multiplying with powers of two
 * built from bits, arranged so that only the last multiply rounds (subnormal
 * results and overflow to +inf round once).
 *
 * log: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact),
 * s = f / (2 + f); log(1+f) = 2 atanh(s) = f - s (f - T) with
 * T = 2s^2/3 + 2s^4/5 + ... (the identity 2s = f - s f), and
 * log x = (e*LN2_HI + f) - (s (f - T) - e*LN2_LO), where the rounding error of
 * the first sum is recovered exactly (Fast2Sum) and folded into the small
 * correction term, so only the last addition rounds at full weight.
 */
#include "sp_internal.h"

typedef union {
  float f;
  uint32_t u;
} sp_bits;

static inline float from_bits(uint32_t u) {
  sp_bits b;
  b.u = u;
  return b.f;
}

static inline uint32_t to_bits(float f) {
  sp_bits b;
  b.f = f;
  return b.u;
}

/* 2^k for k in [-126, 127]. */
static inline float pow2i(int k) { return from_bits((uint32_t)(k + 127) << 23); }

#define LN2_HI 0.693145751953125f        /* 0x3f317200: 15 significant bits */
#define LN2_LO 1.42860676533018704e-06f  /* ln 2 - LN2_HI */
#define LOG2E 1.44269502162933349609375f
#define ROUND_MAGIC 12582912.0f          /* 1.5 * 2^23: adding it rounds to an integer */

float sp_expf(float x) {
  if (x != x) return x + x;
  if (x > 89.0f) return from_bits(0x7f800000u);   /* e^89 > FLT_MAX; also +inf */
  if (x < -104.0f) return 0.0f;                   /* e^-104 < 2^-150; also -inf */
  float kf = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
  int n = (int)kf;                                /* in [-150, 129] */
  float r = (x - kf * LN2_HI) - kf * LN2_LO;
  float q = 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  float p = 1.0f + (r + (r * r) * q);             /* e^r in [0.70, 1.42] */
  if (n > 127) return (p * pow2i(n - 127)) * pow2i(127);     /* first product exact */
  if (n < -126) return (p * pow2i(n + 126)) * pow2i(-126);   /* first product exact */
  return p * pow2i(n);
}

float sp_logf(float x) {
  uint32_t u = to_bits(x);
  if (x != x) return x + x;
  if (x == 0.0f) return -from_bits(0x7f800000u);
  if (u >> 31) return from_bits(0x7fc00000u);     /* negative: NaN */
  if (u == 0x7f800000u) return x;                 /* +inf */
  int e = 0;
  if (u < 0x00800000u) {                          /* subnormal: scale into the normal range */
    x *= 33554432.0f;                             /* 2^25, exact */
    u = to_bits(x);
    e = -25;
  }
  e += (int)(u >> 23) - 127;
  float m = from_bits((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  if (m > 1.41421353816986083984375f) {           /* sqrt(2) rounded down */
    m *= 0.5f;
    e += 1;
  }
  float f = m - 1.0f;                             /* exact, in [-0.293, 0.415] */
  float s = f / (2.0f + f);
  float z = s * s;
  float t = 2.0f / 11.0f;
  t = t * z + 2.0f / 9.0f;
  t = t * z + 2.0f / 7.0f;
  t = t * z + 2.0f / 5.0f;
  t = t * z + 2.0f / 3.0f;
  t = t * z;
  float ef = (float)e;
  float a = ef * LN2_HI;                          /* exact */
  float hi = a + f;                               /* |a| >= |f| unless a == 0: Fast2Sum */
  float lo = (a - hi) + f;                        /* the rounding error of hi, exact */
  return hi + (lo - (s * (f - t) - ef * LN2_LO));
}
