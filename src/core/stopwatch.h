#pragma once
// Wall-clock seconds for progress lines and reports (never for decisions a
// test checks).
#include <chrono>

namespace tern {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace tern
