/*
 * sparrow_kernels_tuning.h — kernel variants, for an autotuner that measures
 * each kernel call of a plan on its target and records the fastest.
 *
 * Some kernels have several implementations that differ in speed only: how
 * many output elements one register block holds (pixels, channels, taps),
 * whether neighbouring elements share a pass, packed or scalar loads. Every
 * variant computes every output element with the same terms in the same order,
 * so every variant gives the same bits, on every core count (the conventions of
 * sparrow_kernels.h hold for each). Which one is fastest depends on the layer's
 * shape, the memory its operands sit in and the core, hence the choice per call.
 *
 * The variant is one global of the kernel library (zero-initialised, so
 * variant 0 after start-up), read by every core inside the kernels: on a
 * cluster the master core sets it before it forks a call, and no core may set
 * it while a kernel runs. Today only the rv32 builds of the conv kernels
 * (FP32, FP16 on cores with Zfh, INT8 forward on cores with xcvsimd)
 * distinguish variants; elsewhere the variant is ignored.
 *
 * Building with -DSP_DEFAULT_VARIANT=k makes k the start-up variant (a way to
 * measure variant k of every call of a plan without changing the plan).
 */
#ifndef SPARROW_KERNELS_TUNING_H
#define SPARROW_KERNELS_TUNING_H

#ifdef __cplusplus
extern "C" {
#endif

/** Variant of the next kernel calls (0 = the default). Speed only: every variant gives the same bits. */
void sp_kernel_variant_set(int variant);
/** The variant set last (the start-up variant before any set). */
int sp_kernel_variant_get(void);
/** How many variants the rv32 kernels of this build distinguish (variants >= count, and negative ones, behave as 0). */
int sp_kernel_variant_count(void);

#ifdef __cplusplus
}
#endif

#endif /* SPARROW_KERNELS_TUNING_H */
