#include "kernels/peak/peak.h"

#include <vector>

#include "kernels/kernel_table.h"

namespace tern {

std::span<const PeakKernels* const> peak_variants() {
    static const std::vector<const PeakKernels*> variants = isa_variants(kPeakScalar, kPeakAvx2, kPeakAvx512);
    return variants;
}

const PeakKernels& peak_kernel() { return active_isa_variant(kPeakScalar, kPeakAvx2, kPeakAvx512); }

}  // namespace tern
