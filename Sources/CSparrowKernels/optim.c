/*
 * optim.c — SGD, SGD with momentum and Adam, in place.
 *
 * Split over elements: each parameter, its gradient and its optimizer state are
 * touched by one core only, and the update of one element depends on nothing
 * else, so any split gives the same bits. Per-step scalars (1 - beta, step size,
 * sqrt of the bias correction) are recomputed identically by every core
 * (sp_update_step_init). The per-element formulas are sp_update_element in
 * sp_internal.h, shared with the fused gradient + update kernels; sp_update_run
 * hoists the kind and weight-decay branches out of the loop.
 */
#include "sp_internal.h"

void sp_sgd_f32(int n, float *w, const float *g, float lr, float weight_decay, float grad_scale,
                int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  sp_update_step k;
  if (!sp_update_step_init(&k, SP_UPDATE_SGD, w, NULL, NULL, lr, weight_decay, grad_scale, 0.0f,
                           0.0f, 0.0f, 0.0f, 1.0f, 1.0f))
    return;
  sp_update_run(&k, (size_t)lo, g + lo, hi - lo);
}

void sp_sgd_momentum_f32(int n, float *w, const float *g, float *velocity, float lr,
                         float momentum, float weight_decay, float grad_scale, int core_id,
                         int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  sp_update_step k;
  if (!sp_update_step_init(&k, SP_UPDATE_MOMENTUM, w, velocity, NULL, lr, weight_decay,
                           grad_scale, momentum, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f))
    return;
  sp_update_run(&k, (size_t)lo, g + lo, hi - lo);
}

SP_BLOCK void adam(int n, float *w, const float *g, float *m, float *v, float lr, float beta1,
                   float beta2, float eps, float bias_correction1, float bias_correction2,
                   float weight_decay, float grad_scale, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  if (lo >= hi) return;
  sp_update_step k;
  if (!sp_update_step_init(&k, SP_UPDATE_ADAM, w, m, v, lr, weight_decay, grad_scale, 0.0f, beta1,
                           beta2, eps, bias_correction1, bias_correction2))
    return;
  sp_update_run(&k, (size_t)lo, g + lo, hi - lo);
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
