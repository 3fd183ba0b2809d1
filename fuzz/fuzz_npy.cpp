// libFuzzer target: .npy parsing from memory. Rejection must be a
// tern::Error; an accepted array must fit the input.
#include <cstdint>
#include <span>

#include "core/error.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const tern::Tensor t = tern::parse_npy(std::span<const uint8_t>(data, size), "fuzz.npy");
        if (t.nbytes() > size) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
