// Encoder/decoder for a vocabulary from train_bpe, and its tokenizer.json writer.
#include <nlohmann/json.hpp>

#include <array>
#include <climits>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/bpe_trainer.h"

namespace tern {

BpeCodec::BpeCodec(BpeVocabulary vocab) : vocab_(std::move(vocab)) {
    if (vocab_.tokens.size() != 256 + vocab_.merges.size() + vocab_.special_tokens.size()) {
        throw InputError("bpe", "vocabulary size does not match 256 bytes + merges + special tokens");
    }
    rank_.reserve(vocab_.merges.size() * 2);
    for (size_t r = 0; r < vocab_.merges.size(); ++r) {
        const auto [a, b] = vocab_.merges[r];
        if (a < 0 || b < 0 || a >= 256 + static_cast<int32_t>(r) || b >= 256 + static_cast<int32_t>(r)) {
            throw InputError("bpe", format("merge %zu uses a token that does not exist yet", r));
        }
        rank_.emplace((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b), static_cast<int32_t>(r));
    }
}

// Classic BPE: merge the adjacent pair with the lowest rank (all its
// occurrences, left to right) until no adjacent pair has a rank. This
// reproduces exactly the segmentation the trainer reached on its words.
void BpeCodec::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    std::vector<int32_t> s(word.begin(), word.end());
    for (auto& x : s) x &= 0xFF;  // char may be signed
    while (s.size() > 1) {
        int32_t best = INT32_MAX;
        for (size_t i = 0; i + 1 < s.size(); ++i) {
            auto it = rank_.find((static_cast<uint64_t>(s[i]) << 32) | static_cast<uint32_t>(s[i + 1]));
            if (it != rank_.end() && it->second < best) best = it->second;
        }
        if (best == INT32_MAX) break;
        const auto [a, b] = vocab_.merges[best];
        const int32_t id = 256 + best;
        size_t w = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                s[w++] = id;
                ++i;
            } else {
                s[w++] = s[i];
            }
        }
        s.resize(w);
    }
    out.insert(out.end(), s.begin(), s.end());
}

std::vector<int32_t> BpeCodec::encode(std::string_view text) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3);
    // Per-call cache: natural text repeats its words constantly.
    std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> (offset in store, length)
    std::vector<int32_t> store;
    for_each_pretoken(text, [&](std::string_view w) {
        auto it = cache.find(w);
        if (it == cache.end()) {
            const auto off = static_cast<uint32_t>(store.size());
            encode_word(w, store);
            it = cache.emplace(w, std::make_pair(off, static_cast<uint32_t>(store.size()) - off)).first;
        }
        out.insert(out.end(), store.begin() + it->second.first, store.begin() + it->second.first + it->second.second);
    });
    return out;
}

std::string BpeCodec::decode(std::span<const int32_t> ids) const {
    std::string out;
    for (int32_t id : ids) {
        if (id < 0 || id >= vocab_.size()) throw InputError("bpe", format("token id %d is outside the vocabulary", id));
        out += vocab_.tokens[id];
    }
    return out;
}

std::string gpt2_byte_to_unicode(std::string_view bytes) {
    // Printable Latin-1 bytes stand for themselves; the other 68 bytes are
    // mapped in order to U+0100.. (so the space 0x20 becomes U+0120 'Ġ').
    static const auto table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = printable ? b : next++;
        }
        return t;
    }();
    std::string out;
    for (unsigned char c : bytes) {
        const uint32_t cp = table[c];
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else {  // all code points here are below U+0800: two UTF-8 bytes
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    return out;
}

void write_tokenizer_json(const std::string& path, const BpeVocabulary& vocab) {
    using ojson = nlohmann::ordered_json;
    const int32_t first_special = 256 + static_cast<int32_t>(vocab.merges.size());
    ojson added = ojson::array();
    for (size_t k = 0; k < vocab.special_tokens.size(); ++k) {
        added.push_back({{"id", first_special + static_cast<int32_t>(k)},
                         {"content", vocab.special_tokens[k]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", true},
                         {"special", true}});
    }
    ojson vocab_json = ojson::object();
    for (int32_t id = 0; id < vocab.size(); ++id) {
        const std::string key = id >= first_special ? vocab.tokens[id] : gpt2_byte_to_unicode(vocab.tokens[id]);
        vocab_json[key] = id;
    }
    ojson merges = ojson::array();
    for (const auto& [a, b] : vocab.merges) {
        merges.push_back(gpt2_byte_to_unicode(vocab.tokens[a]) + " " + gpt2_byte_to_unicode(vocab.tokens[b]));
    }
    const ojson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                              {"use_regex", true}};
    ojson j = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added},
               {"normalizer", nullptr},
               {"pre_tokenizer", byte_level},
               {"post_processor", byte_level},
               {"decoder", byte_level},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", ""},
                 {"end_of_word_suffix", ""},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"vocab", vocab_json},
                 {"merges", merges}}}};
    const std::string text = j.dump(1);
    AtomicFileWriter w(path);
    w.write(text.data(), text.size());
    w.commit();
}

}  // namespace tern
