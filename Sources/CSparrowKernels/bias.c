/*
 * bias.c — bias gradient of conv and linear layers: db[c] (+)= sum over
 * positions p (ascending) of dy[p][c], and the same fused with the bias update.
 *
 * Split over channels: a core owns a contiguous channel range and sums every
 * position for it, so the reduction over positions is never divided between
 * cores and the order of its terms is fixed. The inner loop runs over SP_VB
 * channels (independent lanes, contiguous in HWC). The fused kernel runs the
 * same blocks and applies the update to each finished block of sums instead of
 * storing it.
 */
#include "sp_internal.h"

/* Channels c0..c0+nb-1: stores the sums into db (accumulate: added), or with
 * fused (a literal) = 1 applies the update uk to them (db unused). */
SP_BLOCK void bias_block(int positions, int channels, const float *dy, float *db, int accumulate,
                         const sp_update_step *uk, int fused, int c0, int nb) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  for (int p = 0; p < positions; p++) {
    const float *row = dy + (size_t)p * channels + c0;
    for (int j = 0; j < nb; j++) acc[j] += row[j];
  }
  if (fused) {
    /* Copied out whole (a fixed count) so that acc is never addressed and
     * stays in registers. */
    float g[SP_VB];
    for (int j = 0; j < SP_VB; j++) g[j] = acc[j];
    sp_update_run(uk, (size_t)c0, g, nb);
    return;
  }
  for (int j = 0; j < nb; j++) db[c0 + j] = accumulate ? db[c0 + j] + acc[j] : acc[j];
}

SP_BLOCK void bias_grad(int positions, int channels, const float *dy, float *db, int accumulate,
                        const sp_update_step *uk, int fused, int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int c0 = lo, nb; c0 < hi; c0 += nb) {
    nb = sp_block_width(hi - c0);
    switch (nb) {
      case 16: bias_block(positions, channels, dy, db, accumulate, uk, fused, c0, 16); break;
      case 8: bias_block(positions, channels, dy, db, accumulate, uk, fused, c0, 8); break;
      case 4: bias_block(positions, channels, dy, db, accumulate, uk, fused, c0, 4); break;
      default: bias_block(positions, channels, dy, db, accumulate, uk, fused, c0, nb); break;
    }
  }
}

void sp_bias_grad_f32(int positions, int channels, const float *dy, float *db, int accumulate,
                      int core_id, int num_cores) {
  bias_grad(positions, channels, dy, db, accumulate, NULL, 0, core_id, num_cores);
}

void sp_bias_grad_update_f32(int positions, int channels, const float *dy, const sp_update *u,
                             int core_id, int num_cores) {
  sp_update_step step;
  if (!sp_update_step_from(&step, u)) return;
  bias_grad(positions, channels, dy, NULL, 0, &step, 1, core_id, num_cores);
}
