/*
 * f16_optim.c — SGD, momentum and Adam on fp16 weights with fp32 state and an
 * optional fp32 master copy (sparrow_kernels_f16.h).
 *
 * Each element goes through sp_update_element (sp_internal.h), the one source
 * of the FP32 optimizer formulas, on an fp32 working value: the master copy,
 * or the exact widening of the fp16 weight. Then the master copy is stored and
 * the weight rounded to fp16 once. Split over elements; elements are
 * independent, so any split gives the same bits.
 */
#include "sp_f16.h"

SP_BLOCK void f16_update(const sp_update_step *k, int kind, int decay, int n, sp_f16 *w,
                         const sp_f16 *g, float *master, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(n, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    float wi = master != NULL ? master[i] : sp_h2f(w[i]);
    sp_update_element(k, kind, decay, &wi, kind != SP_UPDATE_SGD ? k->m + i : NULL,
                      kind == SP_UPDATE_ADAM ? k->v + i : NULL, sp_h2f(g[i]));
    if (master != NULL) master[i] = wi;
    w[i] = sp_f2h(wi);
  }
}

/* The kind and weight-decay branches as literals, once per call. */
static void f16_update_run(const sp_update_step *k, int n, sp_f16 *w, const sp_f16 *g,
                           float *master, int core_id, int num_cores) {
  switch (k->kind * 2 + k->decay) {
    case SP_UPDATE_SGD * 2: f16_update(k, SP_UPDATE_SGD, 0, n, w, g, master, core_id, num_cores); break;
    case SP_UPDATE_SGD * 2 + 1: f16_update(k, SP_UPDATE_SGD, 1, n, w, g, master, core_id, num_cores); break;
    case SP_UPDATE_MOMENTUM * 2: f16_update(k, SP_UPDATE_MOMENTUM, 0, n, w, g, master, core_id, num_cores); break;
    case SP_UPDATE_MOMENTUM * 2 + 1: f16_update(k, SP_UPDATE_MOMENTUM, 1, n, w, g, master, core_id, num_cores); break;
    case SP_UPDATE_ADAM * 2: f16_update(k, SP_UPDATE_ADAM, 0, n, w, g, master, core_id, num_cores); break;
    case SP_UPDATE_ADAM * 2 + 1: f16_update(k, SP_UPDATE_ADAM, 1, n, w, g, master, core_id, num_cores); break;
    default: break;
  }
}

/* sp_update_step_init wants an fp32 parameter pointer only to check it and to
 * offset into it; the fp16 kernels pass a non-NULL placeholder and index w,
 * master and the state themselves. */
static float f16_placeholder;

void sp_sgd_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float lr, float weight_decay,
                float grad_scale, int core_id, int num_cores) {
  sp_update_step k;
  if (w == NULL || !sp_update_step_init(&k, SP_UPDATE_SGD, &f16_placeholder, NULL, NULL, lr,
                                        weight_decay, grad_scale, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f))
    return;
  f16_update_run(&k, n, w, g, master, core_id, num_cores);
}

void sp_sgd_momentum_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float *velocity,
                         float lr, float momentum, float weight_decay, float grad_scale,
                         int core_id, int num_cores) {
  sp_update_step k;
  if (w == NULL || !sp_update_step_init(&k, SP_UPDATE_MOMENTUM, &f16_placeholder, velocity, NULL,
                                        lr, weight_decay, grad_scale, momentum, 0.0f, 0.0f, 0.0f,
                                        1.0f, 1.0f))
    return;
  f16_update_run(&k, n, w, g, master, core_id, num_cores);
}

void sp_adam_f16(int n, sp_f16 *w, const sp_f16 *g, float *master, float *m, float *v, float lr,
                 float beta1, float beta2, float eps, float bias_correction1,
                 float bias_correction2, float weight_decay, float grad_scale, int core_id,
                 int num_cores) {
  sp_update_step k;
  if (w == NULL || !sp_update_step_init(&k, SP_UPDATE_ADAM, &f16_placeholder, m, v, lr,
                                        weight_decay, grad_scale, 0.0f, beta1, beta2, eps,
                                        bias_correction1, bias_correction2))
    return;
  f16_update_run(&k, n, w, g, master, core_id, num_cores);
}
