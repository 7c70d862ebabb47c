#include "sparrow_kernels.h"
