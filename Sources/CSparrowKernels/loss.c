/*
 * loss.c — softmax cross-entropy and mean squared error.
 *
 * The scalar losses and the softmax gradient (which needs the whole sum of
 * exponentials) are computed by core 0 alone; other cores return at once. The
 * MSE gradient is elementwise and split over elements. Sums run in index order.
 */
#include "sp_internal.h"

static float quiet_nan(void) {
  union { uint32_t u; float f; } v = {0x7fc00000u};
  return v.f;
}

/* Max of z[0..n) (a NaN at z[0] propagates; later NaNs reach the result through
 * the exponentials anyway). */
static float max_of(int n, const float *z) {
  float m = z[0];
  for (int i = 1; i < n; i++) m = z[i] > m ? z[i] : m;
  return m;
}

static float sum_exp_shifted(int n, const float *z, float m) {
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += sp_expf(z[i] - m);
  return s;
}

void sp_softmax_ce_fwd_f32(int classes, const float *logits, const int32_t *label, float *loss,
                           int core_id, int num_cores) {
  if (core_id != 0 || num_cores <= 0) return;
  int32_t t = *label;
  if (classes <= 0 || t < 0 || t >= classes) {
    *loss = quiet_nan();
    return;
  }
  float m = max_of(classes, logits);
  float s = sum_exp_shifted(classes, logits, m);
  *loss = sp_logf(s) - (logits[t] - m);
}

void sp_softmax_ce_bwd_f32(int classes, const float *logits, const int32_t *label, float *dlogits,
                           int core_id, int num_cores) {
  if (core_id != 0 || num_cores <= 0 || classes <= 0) return;
  int32_t t = *label;
  if (t < 0 || t >= classes) {
    for (int i = 0; i < classes; i++) dlogits[i] = quiet_nan();
    return;
  }
  float m = max_of(classes, logits);
  float s = sum_exp_shifted(classes, logits, m);
  for (int i = 0; i < classes; i++) {
    float p = sp_expf(logits[i] - m) / s;
    dlogits[i] = i == t ? p - 1.0f : p;
  }
}

void sp_mse_fwd_f32(int n, const float *pred, const float *target, float *loss, int core_id,
                    int num_cores) {
  if (core_id != 0 || num_cores <= 0) return;
  float acc = 0.0f;
  for (int i = 0; i < n; i++) {
    float d = pred[i] - target[i];
    acc += d * d;
  }
  *loss = n > 0 ? acc / (float)n : quiet_nan();
}

void sp_mse_bwd_f32(int n, const float *pred, const float *target, float *dpred, int core_id,
                    int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  float count = (float)n;
  for (int i = lo; i < hi; i++) dpred[i] = (2.0f * (pred[i] - target[i])) / count;
}
