#pragma once
// Pieces shared by the tokenizer implementations (not part of the public API).
#include <string>
#include <string_view>
#include <unordered_map>

#include "io/pretokenizer.h"
#include "io/tokenizer.h"

namespace tern {

// Hash for unordered maps keyed by std::string that accept string_view lookups.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TextToId = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Tokenizer::TextIndex {
    TextToId map;
};

// Byte-level BPE: everything the loaders gather before building the model.
struct ByteLevelBpeSpec {
    Tokenizer::Vocab vocab;
    std::vector<std::pair<std::string, std::string>> merges;  // in rank order
    SplitPattern split = SplitPattern::gpt2;
    bool add_prefix_space = false;  // ByteLevel pre-tokenizer option
    bool ignore_merges = false;     // a word that is itself a token skips BPE (Llama-3)
    bool nfc = false;               // NFC normalizer (Qwen)
};
std::unique_ptr<Tokenizer> make_byte_level_bpe(ByteLevelBpeSpec spec);

// GPT-2's reversible byte <-> printable code point map.
const std::string& byte_to_unicode_utf8(uint8_t b);  // UTF-8 of the code point for byte b
int byte_from_unicode(uint32_t cp);                   // -1 when cp is not in the map

}  // namespace tern
