#pragma once
// Opens llama.cpp's own ggml library (libggml-base.so, shipped prebuilt in npm
// package @node-llama-cpp/linux-x64 and unpacked by scripts/setup.sh) so tests
// can compare tern against the independent implementation. Tests start with
// TERN_REQUIRE_REFERENCE(ggml_reference()) (tests/ref/reference.h): a missing
// library skips (fails under TERN_REQUIRE_REFERENCES=1), one that exists but
// does not load fails with dlerror's reason.
#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "core/cache_dir.h"
#include "reference_state.h"

namespace tern::testref {

using tern::tern_cache_dir;

inline std::string ggml_base_path() {
    return tern_cache_dir() + "/npm/llama-cpp-linux-x64/package/bins/linux-x64/libggml-base.so";
}

// dlerror() of the first (and only) dlopen attempt; empty when it loaded.
inline std::string& ggml_base_load_error() {
    static std::string error;
    return error;
}

// The handle stays open for the process; nullptr when the library is absent or broken.
inline void* ggml_base_handle() {
    static void* handle = [] {
        void* h = dlopen(ggml_base_path().c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) ggml_base_load_error() = dlerror();
        return h;
    }();
    return handle;
}

inline Reference ggml_reference() {
    if (ggml_base_handle()) return Reference::present();
    if (Reference file = file_reference(ggml_base_path()); !file.usable())
        return Reference::missing("llama.cpp's ggml library: " + file.why);
    return Reference::broken("dlopen(" + ggml_base_path() + ") failed: " + ggml_base_load_error());
}

template <class Fn>
Fn ggml_symbol(const char* name) {
    void* h = ggml_base_handle();
    return h ? reinterpret_cast<Fn>(dlsym(h, name)) : nullptr;
}

}  // namespace tern::testref
