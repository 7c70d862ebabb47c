/*
 * f16_loss.c — softmax cross-entropy and MSE on fp16 tensors
 * (sparrow_kernels_f16.h).
 *
 * The arithmetic of loss.c, in fp32 on the exactly widened inputs and in the
 * same order (sp_expf, sp_logf), each output rounded to fp16 once; a gradient
 * is multiplied by loss_scale in fp32 just before that rounding. Core 0 does
 * the scalar losses and the softmax gradient; the MSE gradient is split over
 * elements.
 */
#include "sp_f16.h"

static float f16_max_of(int n, const sp_f16 *z) {
  float m = sp_h2f(z[0]);
  for (int i = 1; i < n; i++) {
    float v = sp_h2f(z[i]);
    m = v > m ? v : m;
  }
  return m;
}

static float f16_sum_exp_shifted(int n, const sp_f16 *z, float m) {
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += sp_expf(sp_h2f(z[i]) - m);
  return s;
}

void sp_softmax_ce_fwd_f16(int classes, const sp_f16 *logits, const int32_t *label, sp_f16 *loss,
                           int core_id, int num_cores) {
  if (core_id != 0 || num_cores <= 0) return;
  int32_t t = *label;
  if (classes <= 0 || t < 0 || t >= classes) {
    *loss = SP_F16_NAN;
    return;
  }
  float m = f16_max_of(classes, logits);
  float s = f16_sum_exp_shifted(classes, logits, m);
  *loss = sp_f2h(sp_logf(s) - (sp_h2f(logits[t]) - m));
}

void sp_softmax_ce_bwd_f16(int classes, const sp_f16 *logits, const int32_t *label,
                           sp_f16 *dlogits, float loss_scale, int core_id, int num_cores) {
  if (core_id != 0 || num_cores <= 0 || classes <= 0) return;
  int32_t t = *label;
  if (t < 0 || t >= classes) {
    for (int i = 0; i < classes; i++) dlogits[i] = SP_F16_NAN;
    return;
  }
  float m = f16_max_of(classes, logits);
  float s = f16_sum_exp_shifted(classes, logits, m);
  for (int i = 0; i < classes; i++) {
    float p = sp_expf(sp_h2f(logits[i]) - m) / s;
    float d = i == t ? p - 1.0f : p;
    dlogits[i] = sp_f2h(d * loss_scale);
  }
}

void sp_mse_fwd_f16(int n, const sp_f16 *pred, const sp_f16 *target, sp_f16 *loss, int core_id,
                    int num_cores) {
  if (core_id != 0 || num_cores <= 0) return;
  float acc = 0.0f;
  for (int i = 0; i < n; i++) {
    float d = sp_h2f(pred[i]) - sp_h2f(target[i]);
    acc += d * d;
  }
  *loss = n > 0 ? sp_f2h(acc / (float)n) : SP_F16_NAN;
}

void sp_mse_bwd_f16(int n, const sp_f16 *pred, const sp_f16 *target, sp_f16 *dpred,
                    float loss_scale, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  float count = (float)n;
  for (int i = lo; i < hi; i++) {
    float d = (2.0f * (sp_h2f(pred[i]) - sp_h2f(target[i]))) / count;
    dpred[i] = sp_f2h(d * loss_scale);
  }
}
