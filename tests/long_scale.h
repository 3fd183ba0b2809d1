#pragma once
// Long tests (label `long`) run at full scale by default and on a reduced,
// still-real subset when TERN_LONG_SCALE=small (what .ci/run uses).
#include <cstdlib>
#include <string>
#include <vector>

namespace tern::testscale {

inline bool long_scale_small() {
    const char* s = std::getenv("TERN_LONG_SCALE");
    return s && std::string(s) == "small";
}

// Every `stride`-th item when small, everything otherwise.
template <class T>
std::vector<T> subset_when_small(const std::vector<T>& all, size_t stride) {
    if (!long_scale_small()) return all;
    std::vector<T> out;
    for (size_t i = 0; i < all.size(); i += stride) out.push_back(all[i]);
    return out;
}

}  // namespace tern::testscale
