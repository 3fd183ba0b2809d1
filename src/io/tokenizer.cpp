// The shared half of every tokenizer: vocabulary lookups, special tokens in
// the text, add_special framing and decode.
#include "io/tokenizer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/tokenizer_internal.h"

namespace tern {

Tokenizer::~Tokenizer() = default;

Tokenizer::Tokenizer(Vocab vocab)
    : where_(std::move(vocab.where)),
      texts_(std::move(vocab.texts)),
      types_(std::move(vocab.types)),
      special_(vocab.special),
      prefix_ids_(std::move(vocab.prefix_ids)),
      suffix_ids_(std::move(vocab.suffix_ids)),
      index_(std::make_unique<TextIndex>()) {
    types_.resize(texts_.size(), TokenType::normal);
    index_->map.reserve(texts_.size());
    for (size_t id = 0; id < texts_.size(); ++id) {
        if (texts_[id].empty()) continue;
        index_->map.emplace(texts_[id], int32_t(id));  // the lowest id wins a duplicate text
    }
    auto check_id = [&](int32_t id, const char* what) {
        if (id < -1 || id >= int32_t(texts_.size()))
            throw InputError(where_, format("%s token id %d is outside the vocabulary of %zu tokens", what, id,
                                            texts_.size()));
    };
    check_id(special_.bos, "bos");
    check_id(special_.eos, "eos");
    check_id(special_.unk, "unk");
    check_id(special_.pad, "pad");
    for (int32_t id : prefix_ids_) check_id(id, "prefix");
    for (int32_t id : suffix_ids_) check_id(id, "suffix");

    specials_by_first_byte_.resize(256);
    for (size_t id = 0; id < texts_.size(); ++id) {
        const TokenType t = types_[id];
        if ((t == TokenType::control || t == TokenType::user_defined) && !texts_[id].empty())
            specials_by_first_byte_[uint8_t(texts_[id][0])].push_back(int32_t(id));
    }
    for (auto& list : specials_by_first_byte_)
        std::stable_sort(list.begin(), list.end(),
                         [&](int32_t a, int32_t b) { return texts_[a].size() > texts_[b].size(); });
}

const int32_t* Tokenizer::find_text(std::string_view text) const {
    auto it = index_->map.find(text);
    return it == index_->map.end() ? nullptr : &it->second;
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token_text) const {
    if (const int32_t* id = find_text(token_text)) return *id;
    return std::nullopt;
}

const std::string& Tokenizer::token_text(int32_t id) const {
    if (id < 0 || size_t(id) >= texts_.size())
        throw InputError(where_, format("token id %d is outside the vocabulary of %zu tokens", id, texts_.size()));
    return texts_[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
    token_text(id);  // range check
    return types_[id];
}

std::string Tokenizer::token_to_piece(int32_t id) const {
    token_text(id);
    std::string out;
    append_piece(id, out);
    return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 8);
    if (add_special) out.insert(out.end(), prefix_ids_.begin(), prefix_ids_.end());
    size_t plain_start = 0;
    if (parse_special) {
        for (size_t i = 0; i < text.size(); ++i) {
            const auto& candidates = specials_by_first_byte_[uint8_t(text[i])];
            if (candidates.empty()) continue;
            for (int32_t id : candidates) {  // longest first
                const std::string& t = texts_[id];
                if (t.size() <= text.size() - i && std::memcmp(text.data() + i, t.data(), t.size()) == 0) {
                    if (i > plain_start) encode_plain(text.substr(plain_start, i - plain_start), plain_start == 0, out);
                    out.push_back(id);
                    i += t.size() - 1;
                    plain_start = i + 1;
                    break;
                }
            }
        }
    }
    if (plain_start < text.size()) encode_plain(text.substr(plain_start), plain_start == 0, out);
    if (add_special) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
    return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    std::string out;
    out.reserve(ids.size() * 4);
    for (int32_t id : ids) {
        if (id < 0 || size_t(id) >= texts_.size())
            throw InputError(where_, format("cannot decode token id %d: the vocabulary has %zu tokens", id,
                                            texts_.size()));
        if (skip_special && types_[id] == TokenType::control) continue;
        append_piece(id, out);
    }
    finish_decode(out);
    return out;
}

}  // namespace tern
