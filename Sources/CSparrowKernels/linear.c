/*
 * linear.c — fully connected layer, w [out][in] (PyTorch order).
 *
 * Forward: split over outputs; y[o] = b[o] + w[o][i]*x[i] for i ascending. Up to
 * eight rows are summed side by side (independent accumulators) so the adds do
 * not wait on each other; each row's own order is unchanged. These are the sums
 * of a 1x1 conv on a 1x1 input, bit for bit.
 * Input gradient: split over inputs; dx[i] = sum over o ascending of dy[o]*w[o][i],
 * computed axpy-style (lanes are different i).
 * Weight gradient: split over rows o; dw[o][i] (+)= +0 + dy[o]*x[i]. The fused
 * kernel forms the same terms SP_VB at a time in a local array and applies the
 * update to them (the row's gradient never exists in full).
 * Every element is computed by one core in an order independent of num_cores.
 */
#include "sp_internal.h"

/* Rows o..o+nr-1 (nr a literal: 8, 4, 2 or 1) summed side by side. */
SP_BLOCK void linear_rows(size_t n, const float *x, const float *w, const float *b, float *y, int o,
                          int nr) {
  float acc[8];
  for (int r = 0; r < nr; r++) acc[r] = b != NULL ? b[o + r] : 0.0f;
  const float *wr = w + (size_t)o * n;
  for (size_t i = 0; i < n; i++) {
    float xv = x[i];
    for (int r = 0; r < nr; r++) acc[r] += xv * wr[(size_t)r * n + i];
  }
  for (int r = 0; r < nr; r++) y[o + r] = acc[r];
}

void sp_linear_fwd_f32(int in_features, int out_features, const float *x, const float *w,
                       const float *b, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  size_t n = (size_t)in_features;
  int o = lo;
  for (; o + 8 <= hi; o += 8) linear_rows(n, x, w, b, y, o, 8);
  if (o + 4 <= hi) {
    linear_rows(n, x, w, b, y, o, 4);
    o += 4;
  }
  if (o + 2 <= hi) {
    linear_rows(n, x, w, b, y, o, 2);
    o += 2;
  }
  if (o < hi) linear_rows(n, x, w, b, y, o, 1);
}

void sp_linear_bwd_input_f32(int in_features, int out_features, const float *dy, const float *w,
                             float *dx, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(in_features, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) dx[i] = 0.0f;
  for (int o = 0; o < out_features; o++) {
    float d = dy[o];
    const float *wr = w + (size_t)o * in_features;
    for (int i = lo; i < hi; i++) dx[i] += d * wr[i];
  }
}

void sp_linear_bwd_weight_f32(int in_features, int out_features, const float *x, const float *dy,
                              float *dw, int accumulate, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    float d = dy[o];
    float *row = dw + (size_t)o * in_features;
    /* 0 + term: the same +0-started sum as every other gradient (turns -0 into +0). */
    if (accumulate) {
      for (int i = 0; i < in_features; i++) row[i] = row[i] + (0.0f + x[i] * d);
    } else {
      for (int i = 0; i < in_features; i++) row[i] = 0.0f + x[i] * d;
    }
  }
}

void sp_linear_bwd_weight_update_f32(int in_features, int out_features, const float *x,
                                     const float *dy, const sp_update *u, int core_id,
                                     int num_cores) {
  sp_update_step step;
  if (!sp_update_step_from(&step, u)) return;
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    float d = dy[o];
    size_t row = (size_t)o * in_features;
    for (int i0 = 0, nb; i0 < in_features; i0 += nb) {
      float g[SP_VB];
      nb = sp_min(SP_VB, in_features - i0);
      /* The term sp_linear_bwd_weight_f32 stores with accumulate = 0. */
      for (int j = 0; j < nb; j++) g[j] = 0.0f + x[i0 + j] * d;
      sp_update_run(&step, row + (size_t)i0, g, nb);
    }
  }
}
