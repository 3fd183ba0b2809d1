// libFuzzer target: R's XDR serialization (what the Jane Austen corpus ships
// in), the reader behind io/r_lazyload.h. Rejection must be a tern::Error.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "io/r_lazyload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        (void)tern::parse_r_serialized_strings(std::vector<uint8_t>(data, data + size), "fuzz.rds");
    } catch (const tern::Error&) {
    }
    return 0;
}
