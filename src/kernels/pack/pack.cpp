#include "kernels/pack/pack.h"

#include <vector>

#include "kernels/kernel_table.h"

namespace tern {

std::span<const PackKernels* const> pack_variants() {
    static const std::vector<const PackKernels*> variants = isa_variants(kPackScalar, kPackAvx2, kPackAvx512);
    return variants;
}

const PackKernels& pack_kernel() { return active_isa_variant(kPackScalar, kPackAvx2, kPackAvx512); }

}  // namespace tern
