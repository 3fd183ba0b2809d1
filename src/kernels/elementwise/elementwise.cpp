#include "kernels/elementwise/elementwise.h"

#include <vector>

#include "kernels/kernel_table.h"

namespace tern {

std::span<const ElementwiseKernels* const> elementwise_variants() {
    static const std::vector<const ElementwiseKernels*> variants =
        isa_variants(kElementwiseScalar, kElementwiseAvx2, kElementwiseAvx512);
    return variants;
}

const ElementwiseKernels& elementwise_kernel() {
    static const ElementwiseKernels& chosen = active_isa_variant(kElementwiseScalar, kElementwiseAvx2, kElementwiseAvx512);
    return chosen;
}

}  // namespace tern
