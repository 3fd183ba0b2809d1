#pragma once
// Selection over a family's kernel table (rows ordered best first, each with an
// `isa`): every row this CPU supports, and the first row the active ISA level
// allows. One definition for every family that keeps its kernels in a table.
#include <span>
#include <vector>

#include "core/cpu_features.h"

namespace tern {

// Scalar reference first (the table's last row), like every family's variant list.
template <class Kernel>
std::vector<const Kernel*> supported_kernels_of(std::span<const Kernel> table) {
    std::vector<const Kernel*> out;
    for (auto it = table.rbegin(); it != table.rend(); ++it)
        if (isa_supported(it->isa)) out.push_back(&*it);
    return out;
}

// The last row (the scalar reference) when nothing else fits.
template <class Kernel>
const Kernel* choose_kernel_of(std::span<const Kernel> table) {
    for (const auto& k : table)
        if (k.isa <= active_isa()) return &k;
    return &table.back();
}

// Families with one kernel set per ISA level (scalar reference, AVX2,
// AVX-512): the sets this CPU supports, reference first, and the set the
// active level (TERN_ISA or the CPU) selects.
template <class Kernels>
std::vector<const Kernels*> isa_variants(const Kernels& scalar, const Kernels& avx2, const Kernels& avx512) {
    std::vector<const Kernels*> v{&scalar};
    if (isa_supported(Isa::avx2)) v.push_back(&avx2);
    if (isa_supported(Isa::avx512)) v.push_back(&avx512);
    return v;
}

template <class Kernels>
const Kernels& active_isa_variant(const Kernels& scalar, const Kernels& avx2, const Kernels& avx512) {
    switch (active_isa()) {
        case Isa::avx512: return avx512;
        case Isa::avx2: return avx2;
        case Isa::scalar: break;
    }
    return scalar;
}

}  // namespace tern
