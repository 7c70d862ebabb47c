/*
 * f16_linear.c — fp16 fully connected layer (w [out][in]) and the bias
 * gradient of conv and linear layers, sparrow_kernels_f16.h.
 *
 * Same sums, orders and splits as linear.c and bias.c:
 *  forward      split over outputs; b[o], then w[o][i] * x[i], i ascending
 *               (the sum of a 1x1 conv on a 1x1 input, bit for bit);
 *  input grad   split over inputs; +0, then dy[o] * w[o][i], o ascending;
 *  weight grad  split over rows o; +0 + dy[o] * x[i];
 *  bias grad    split over channels; +0, then dy[p][c], p ascending.
 */
#include "sp_f16.h"

SP_BLOCK void f16_linear_fwd(int n_in, int n_out, const sp_f16 *x, const sp_f16 *w, const sp_f16 *b,
                             sp_f16 *y, int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(n_out, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    const sp_f16 *wr = w + (size_t)o * n_in;
    sp_f16_accum acc = sp_acc_start(mode, b != NULL ? b + o : NULL);
    for (int i = 0; i < n_in; i++) sp_acc_mac(mode, &acc, x[i], wr[i]);
    sp_acc_store(mode, acc, y + o, 0);
  }
}

void sp_linear_fwd_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *w,
                       const sp_f16 *b, sp_f16 *y, sp_f16_acc mode, int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_linear_fwd, in_features, out_features, x, w, b, y, core_id, num_cores);
}

SP_BLOCK void f16_linear_bwd_input(int n_in, int n_out, const sp_f16 *dy, const sp_f16 *w,
                                   sp_f16 *dx, int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(n_in, 1, core_id, num_cores, &lo, &hi);
  for (int i = lo; i < hi; i++) {
    sp_f16_accum acc = sp_acc_start(mode, NULL);
    for (int o = 0; o < n_out; o++) sp_acc_mac(mode, &acc, dy[o], w[(size_t)o * n_in + i]);
    sp_acc_store(mode, acc, dx + i, 0);
  }
}

void sp_linear_bwd_input_f16(int in_features, int out_features, const sp_f16 *dy, const sp_f16 *w,
                             sp_f16 *dx, sp_f16_acc mode, int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_linear_bwd_input, in_features, out_features, dy, w, dx, core_id,
                  num_cores);
}

SP_BLOCK void f16_linear_bwd_weight(int n_in, int n_out, const sp_f16 *x, const sp_f16 *dy,
                                    sp_f16 *dw, int accumulate, int core_id, int num_cores,
                                    int mode) {
  int lo, hi;
  sp_core_range(n_out, 1, core_id, num_cores, &lo, &hi);
  for (int o = lo; o < hi; o++) {
    for (int i = 0; i < n_in; i++) {
      sp_f16_accum acc = sp_acc_start(mode, NULL);
      sp_acc_mac(mode, &acc, x[i], dy[o]);
      sp_acc_store(mode, acc, dw + (size_t)o * n_in + i, accumulate);
    }
  }
}

void sp_linear_bwd_weight_f16(int in_features, int out_features, const sp_f16 *x, const sp_f16 *dy,
                              sp_f16 *dw, int accumulate, sp_f16_acc mode, int core_id,
                              int num_cores) {
  SP_F16_DISPATCH(mode, f16_linear_bwd_weight, in_features, out_features, x, dy, dw, accumulate,
                  core_id, num_cores);
}

SP_BLOCK void f16_bias_grad(int positions, int channels, const sp_f16 *dy, sp_f16 *db,
                            int accumulate, int core_id, int num_cores, int mode) {
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int c = lo; c < hi; c++) {
    sp_f16_accum acc = sp_acc_start(mode, NULL);
    for (int p = 0; p < positions; p++) sp_acc_add(mode, &acc, dy[(size_t)p * channels + c]);
    sp_acc_store(mode, acc, db + c, accumulate);
  }
}

void sp_bias_grad_f16(int positions, int channels, const sp_f16 *dy, sp_f16 *db, int accumulate,
                      sp_f16_acc mode, int core_id, int num_cores) {
  SP_F16_DISPATCH(mode, f16_bias_grad, positions, channels, dy, db, accumulate, core_id, num_cores);
}
