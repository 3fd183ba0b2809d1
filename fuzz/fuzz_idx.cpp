// libFuzzer target: IDX (MNIST / Fashion-MNIST) parsing from memory. Rejection
// must be a tern::Error; an accepted tensor must fit the input.
#include <cstdint>
#include <span>

#include "core/error.h"
#include "io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const tern::Tensor t = tern::parse_idx(std::span<const uint8_t>(data, size), "fuzz.idx");
        if (t.nbytes() > size) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
