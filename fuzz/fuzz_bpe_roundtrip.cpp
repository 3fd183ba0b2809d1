// libFuzzer target: tern's byte-level BPE (the tokenizer trained for the
// embedded language model) on arbitrary bytes. Property: decode(encode(x)) == x
// for every input, since byte-level BPE is lossless; any mismatch traps.
#include <cstdint>
#include <string>
#include <string_view>

#include "io/bpe_trainer.h"

namespace {

const tern::BpeCodec& codec() {
    static const tern::BpeCodec c = [] {
        std::string text;
        for (int i = 0; i < 40; ++i)
            text += "It is a truth universally acknowledged, that a single man in possession of a good fortune, must "
                    "be in want of a wife. Fellow-Citizens of the Senate and House of Representatives: 1790, 2026! "
                    "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac ";
        tern::BpeTrainerOptions o;
        o.vocab_size = 400;
        return tern::BpeCodec(tern::train_bpe(text, o));
    }();
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto ids = codec().encode(text);
    if (codec().decode(ids) != text) __builtin_trap();
    return 0;
}
