/*
 * tuning.c — the kernel variant of the running calls (sparrow_kernels_tuning.h).
 */
#include "sp_internal.h"

/* -DSP_DEFAULT_VARIANT=k: variant k from start-up (see the header). */
#ifndef SP_DEFAULT_VARIANT
#define SP_DEFAULT_VARIANT 0
#endif

int sp_kernel_variant_current = SP_DEFAULT_VARIANT;

void sp_kernel_variant_set(int variant) { sp_kernel_variant_current = variant; }

int sp_kernel_variant_get(void) { return sp_kernel_variant_current; }

int sp_kernel_variant_count(void) { return SP_KERNEL_VARIANTS; }
