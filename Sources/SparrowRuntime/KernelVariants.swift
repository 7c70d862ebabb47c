import CSparrowKernels

/// How many variants the kernel library's rv32 kernels distinguish
/// (`sp_kernel_variant_count`): the candidates the autotuner measures.
public var kernelVariantCount: Int { Int(sp_kernel_variant_count()) }
