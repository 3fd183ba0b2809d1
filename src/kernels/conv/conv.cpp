#include "kernels/conv/conv.h"

#include <vector>

#include "kernels/kernel_table.h"

namespace tern {

std::span<const ConvKernels* const> conv_variants() {
    static const std::vector<const ConvKernels*> variants = isa_variants(kConvScalar, kConvAvx2, kConvAvx512);
    return variants;
}

const ConvKernels& conv_kernel() {
    static const ConvKernels& chosen = active_isa_variant(kConvScalar, kConvAvx2, kConvAvx512);
    return chosen;
}

}  // namespace tern
