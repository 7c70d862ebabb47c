/*
 * optim.c — SGD, SGD with momentum and Adam, in place.
 *
 * Split over elements: each parameter, its gradient and its optimizer state are
 * touched by one core only, and the update of one element depends on nothing
 * else, so any split gives the same bits. Per-step scalars (1 - beta, step size,
 * sqrt of the bias correction) are recomputed identically by every core.
 * The weight-decay branch is hoisted out of the loops.
 */
#include "sp_internal.h"

void sp_sgd_f32(int n, float *w, const float *g, float lr, float weight_decay, float grad_scale,
                int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  if (weight_decay != 0.0f) {
    for (int i = lo; i < hi; i++) {
      float gi = g[i] * grad_scale + weight_decay * w[i];
      w[i] = w[i] - lr * gi;
    }
  } else {
    for (int i = lo; i < hi; i++) w[i] = w[i] - lr * (g[i] * grad_scale);
  }
}

void sp_sgd_momentum_f32(int n, float *w, const float *g, float *velocity, float lr,
                         float momentum, float weight_decay, float grad_scale, int core_id,
                         int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  if (weight_decay != 0.0f) {
    for (int i = lo; i < hi; i++) {
      float gi = g[i] * grad_scale + weight_decay * w[i];
      float v = momentum * velocity[i] + gi;
      velocity[i] = v;
      w[i] = w[i] - lr * v;
    }
  } else {
    for (int i = lo; i < hi; i++) {
      float v = momentum * velocity[i] + g[i] * grad_scale;
      velocity[i] = v;
      w[i] = w[i] - lr * v;
    }
  }
}

typedef struct {
  float lerp_w, lerp_w_rest; /* 1 - beta1 and 1 - (1 - beta1) */
  float beta2, one_minus_b2, eps, step, sqrt_bc2;
} adam_consts;

SP_BLOCK void adam_element(float *w, float gi, float *m, float *v, const adam_consts *k) {
  /* PyTorch: exp_avg.lerp_(grad, 1 - beta1), with lerp's two numerically
   * stable forms chosen by weight < 0.5; then exp_avg_sq.mul_(beta2)
   * .addcmul_(grad, grad, value=1 - beta2); denom = sqrt(v) / sqrt(bc2) + eps;
   * param.addcdiv_(exp_avg, denom, value=-lr / bc1). */
  float mi = k->lerp_w < 0.5f ? *m + k->lerp_w * (gi - *m) : gi - (gi - *m) * k->lerp_w_rest;
  float vi = k->beta2 * *v + (k->one_minus_b2 * gi) * gi;
  float denom = sp_sqrtf(vi) / k->sqrt_bc2 + k->eps;
  *m = mi;
  *v = vi;
  *w = *w - k->step * (mi / denom);
}

SP_BLOCK void adam(int n, float *w, const float *g, float *m, float *v, float lr, float beta1,
                   float beta2, float eps, float bias_correction1, float bias_correction2,
                   float weight_decay, float grad_scale, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  adam_consts k;
  k.lerp_w = 1.0f - beta1;
  k.lerp_w_rest = 1.0f - k.lerp_w;
  k.beta2 = beta2;
  k.one_minus_b2 = 1.0f - beta2;
  k.eps = eps;
  k.step = lr / bias_correction1;
  k.sqrt_bc2 = sp_sqrtf(bias_correction2);
  if (weight_decay != 0.0f) {
    for (int i = lo; i < hi; i++)
      adam_element(&w[i], g[i] * grad_scale + weight_decay * w[i], &m[i], &v[i], &k);
  } else {
    for (int i = lo; i < hi; i++) adam_element(&w[i], g[i] * grad_scale, &m[i], &v[i], &k);
  }
}

SP_VARIANTS(adam,
            (int n, float *w, const float *g, float *m, float *v, float lr, float beta1,
             float beta2, float eps, float bias_correction1, float bias_correction2,
             float weight_decay, float grad_scale, int core_id, int num_cores),
            (n, w, g, m, v, lr, beta1, beta2, eps, bias_correction1, bias_correction2,
             weight_decay, grad_scale, core_id, num_cores),
            (n, w, g, m, v, lr, beta1, beta2, eps, bias_correction1, bias_correction2,
             weight_decay, grad_scale, core_id, num_cores))

void sp_adam_f32(int n, float *w, const float *g, float *m, float *v, float lr, float beta1,
                 float beta2, float eps, float bias_correction1, float bias_correction2,
                 float weight_decay, float grad_scale, int core_id, int num_cores) {
  SP_CALL_BEST(adam, (n, w, g, m, v, lr, beta1, beta2, eps, bias_correction1, bias_correction2,
                      weight_decay, grad_scale, core_id, num_cores));
}
