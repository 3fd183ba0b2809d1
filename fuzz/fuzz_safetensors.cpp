// libFuzzer target: the safetensors parser and `tern info` summary on arbitrary
// bytes, from memory. Rejection must be a tern::Error; nothing else may escape.
#include <cstdint>
#include <span>

#include "core/error.h"
#include "io/model_info.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> bytes(data, size);
    try {
        const auto f = tern::io::parse_safetensors(bytes, "fuzz.safetensors");
        // Every accepted tensor lies inside the input and the ranges are disjoint.
        for (const auto& t : f.tensors)
            if (t.file_offset + (t.end - t.begin) > size) __builtin_trap();
        (void)tern::model_info_json(tern::model_info_from_bytes(bytes, "fuzz.safetensors")).dump();
    } catch (const tern::Error&) {
    }
    return 0;
}
