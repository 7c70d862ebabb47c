/*
 * bias.c — bias gradient of conv and linear layers: db[c] (+)= sum over
 * positions p (ascending) of dy[p][c].
 *
 * Split over channels: a core owns a contiguous channel range and sums every
 * position for it, so the reduction over positions is never divided between
 * cores and the order of its terms is fixed. The inner loop runs over SP_VB
 * channels (independent lanes, contiguous in HWC).
 */
#include "sp_internal.h"

SP_BLOCK void bias_block(int positions, int channels, const float *dy, float *db,
                              int accumulate, int c0, int nb) {
  float acc[SP_VB];
  for (int j = 0; j < SP_VB; j++) acc[j] = 0.0f;
  for (int p = 0; p < positions; p++) {
    const float *row = dy + (size_t)p * channels + c0;
    for (int j = 0; j < nb; j++) acc[j] += row[j];
  }
  for (int j = 0; j < nb; j++) db[c0 + j] = accumulate ? db[c0 + j] + acc[j] : acc[j];
}

void sp_bias_grad_f32(int positions, int channels, const float *dy, float *db, int accumulate,
                      int core_id, int num_cores) {
  int lo, hi;
  sp_core_range(channels, 1, core_id, num_cores, &lo, &hi);
  for (int c0 = lo, nb; c0 < hi; c0 += nb) {
    nb = sp_block_width(hi - c0);
    switch (nb) {
      case 16: bias_block(positions, channels, dy, db, accumulate, c0, 16); break;
      case 8: bias_block(positions, channels, dy, db, accumulate, c0, 8); break;
      case 4: bias_block(positions, channels, dy, db, accumulate, c0, 4); break;
      default: bias_block(positions, channels, dy, db, accumulate, c0, nb); break;
    }
  }
}
