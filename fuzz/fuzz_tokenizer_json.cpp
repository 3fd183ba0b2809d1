// libFuzzer target: Hugging Face tokenizer.json parsing from memory, then
// encoding and decoding a few texts with whatever tokenizer was accepted.
// Rejection must be a tern::Error; nothing else may escape.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "io/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto tok = tern::parse_tokenizer_json(text, "fuzz/tokenizer.json");
        for (std::string_view s : {std::string_view("Hello, world! It's 2026."), std::string_view(" \n\t<s>x</s>"),
                                   text.substr(0, 256)}) {
            const auto ids = tok->encode(s, true, true);
            (void)tok->decode(ids, true);
        }
    } catch (const tern::Error&) {
    }
    return 0;
}
