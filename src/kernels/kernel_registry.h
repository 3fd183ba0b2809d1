#pragma once
// Every kernel family's chosen table and its supported variants, for
// `tern info --cpu` and `tern bench --kernels`. Add one line per family in
// kernel_registry.cpp.
#include <string>
#include <vector>

namespace tern {

struct KernelFamilyInfo {
    std::string family;                 // "elementwise"
    std::string chosen;                 // name of the table in force
    std::vector<std::string> variants;  // every table this CPU supports
};

std::vector<KernelFamilyInfo> kernel_families();

}  // namespace tern
