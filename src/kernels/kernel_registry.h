#pragma once
// Every kernel family's chosen variant and its supported variants, for
// `tern info --cpu` and `tern bench --kernels`. Each family exposes
// `<family>_kernel()` (the chosen one) and `<family>_variants()` (scalar
// reference first); a new family adds one line in kernel_registry.cpp.
#include <string>
#include <vector>

namespace tern {

struct KernelFamilyInfo {
    std::string family;                 // "elementwise"
    std::string chosen;                 // name of the variant in force
    std::vector<std::string> variants;  // every variant this CPU supports, scalar first
};

std::vector<KernelFamilyInfo> kernel_families();

}  // namespace tern
