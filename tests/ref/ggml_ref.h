#pragma once
// Opens llama.cpp's own ggml library (libggml-base.so, shipped prebuilt in npm
// package @node-llama-cpp/linux-x64 and unpacked by scripts/setup.sh) so tests
// can compare tern against the independent implementation. Tests call
// GTEST_SKIP with ggml_ref_missing_reason() when it is not installed.
#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "core/cache_dir.h"

namespace tern::testref {

using tern::tern_cache_dir;

inline std::string ggml_base_path() {
    return tern_cache_dir() + "/npm/llama-cpp-linux-x64/package/bins/linux-x64/libggml-base.so";
}

// The handle stays open for the process; nullptr when the library is absent.
inline void* ggml_base_handle() {
    static void* handle = dlopen(ggml_base_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    return handle;
}

inline std::string ggml_ref_missing_reason() {
    return "llama.cpp reference library not found at " + ggml_base_path() + " (run scripts/setup.sh)";
}

template <class Fn>
Fn ggml_symbol(const char* name) {
    void* h = ggml_base_handle();
    return h ? reinterpret_cast<Fn>(dlsym(h, name)) : nullptr;
}

}  // namespace tern::testref
