#pragma once
// Selection over a family's kernel table (rows ordered best first, each with an
// `isa`): every row this CPU supports, and the first row the active ISA level
// allows. One definition for every family that keeps its kernels in a table.
#include <span>
#include <vector>

#include "core/cpu_features.h"

namespace tern {

template <class Kernel>
std::vector<const Kernel*> supported_kernels_of(std::span<const Kernel> table) {
    std::vector<const Kernel*> out;
    for (const auto& k : table)
        if (isa_supported(k.isa)) out.push_back(&k);
    return out;
}

// The last row (the scalar reference) when nothing else fits.
template <class Kernel>
const Kernel* choose_kernel_of(std::span<const Kernel> table) {
    for (const auto& k : table)
        if (k.isa <= active_isa()) return &k;
    return &table.back();
}

}  // namespace tern
