#include "kernels/stream/stream.h"

#include <vector>

#include "kernels/kernel_table.h"

namespace tern {

std::span<const StreamKernels* const> stream_variants() {
    static const std::vector<const StreamKernels*> variants = isa_variants(kStreamScalar, kStreamAvx2, kStreamAvx512);
    return variants;
}

const StreamKernels& stream_kernel() {
    return active_isa_variant(kStreamScalar, kStreamAvx2, kStreamAvx512);
}

}  // namespace tern
