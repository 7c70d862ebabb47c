/*
 * linear.c — fully connected layer, w [out][in] (PyTorch order).
 *
 * Forward: split over outputs; y[o] = b[o] + w[o][i]*x[i] for i ascending. Four
 * rows are summed side by side (independent accumulators) so the adds do not wait
 * on each other; each row's own order is unchanged. These are the sums of a 1x1
 * conv on a 1x1 input, bit for bit.
 * Input gradient: split over inputs; dx[i] = sum over o ascending of dy[o]*w[o][i],
 * computed axpy-style (lanes are different i).
 * Weight gradient: split over rows o; dw[o][i] (+)= +0 + dy[o]*x[i].
 * Every element is computed by one core in an order independent of num_cores.
 */
#include "sp_internal.h"

void sp_linear_fwd_f32(int in_features, int out_features, const float *x, const float *w,
                       const float *b, float *y, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(out_features, 1, core_id, num_cores, &lo, &hi);
  size_t n = (size_t)in_features;
  int o = lo;
  for (; o + 4 <= hi; o += 4) {
    const float *w0 = w + (size_t)o * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    if (b != NULL) {
      a0 = b[o];
      a1 = b[o + 1];
      a2 = b[o + 2];
      a3 = b[o + 3];
    }
    for (size_t i = 0; i < n; i++) {
      float xv = x[i];
      a0 += xv * w0[i];
      a1 += xv * w1[i];
      a2 += xv * w2[i];
      a3 += xv * w3[i];
    }
    y[o] = a0;
    y[o + 1] = a1;
    y[o + 2] = a2;
    y[o + 3] = a3;
  }
  for (; o < hi; o++) {
    const float *wr = w + (size_t)o * n;
    float a = b != NULL ? b[o] : 0.0f;
    for (size_t i = 0; i < n; i++) a += x[i] * wr[i];
    y[o] = a;
  }
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
