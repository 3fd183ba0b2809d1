#pragma once
// Trains a byte-level BPE vocabulary (GPT-2 style) on text, encodes and
// decodes with it, and writes it as a Hugging Face `tokenizer.json`.
//
// Training: GPT-2 pre-tokenization into words (a leading space stays with the
// word), a 256-symbol byte alphabet, then repeatedly the most frequent
// adjacent pair over the word-frequency table is merged into a new token.
// Pair counts are updated incrementally, only in the words that contain the
// merged pair, so 8k merges on ~15 MB take seconds. Ties go to the pair with
// the smaller (left id, right id): fully deterministic.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tern {

struct BpeTrainerOptions {
    int vocab_size = 8192;  // 256 byte tokens + merges + special tokens
    std::vector<std::string> special_tokens = {"<|endoftext|>"};
    int64_t min_pair_count = 2;  // stop early when the best pair is rarer than this
};

struct BpeVocabulary {
    std::vector<std::string> tokens;                  // id -> bytes: 256 single bytes, merges, specials
    std::vector<std::pair<int32_t, int32_t>> merges;  // merge i makes token 256 + i from (left, right)
    std::vector<std::string> special_tokens;          // ids 256 + merges.size() + k

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    int32_t special_token_id(std::string_view token) const;  // -1 when absent
};

struct BpeTrainStats {
    int64_t words = 0;          // pre-tokens in the text
    int64_t unique_words = 0;   // rows of the word-frequency table
    int64_t text_bytes = 0;
    int64_t final_tokens = 0;   // tokens the training text encodes to with the learned merges
    double seconds_count = 0;   // pre-tokenization and counting
    double seconds_merge = 0;   // the merge loop
};

BpeVocabulary train_bpe(std::string_view text, const BpeTrainerOptions& opts, BpeTrainStats* stats = nullptr);

// GPT-2's pre-tokenizer: the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// applied left to right. Unicode classes are approximated without tables:
// ASCII exactly; non-ASCII code points are letters except the common
// punctuation, symbol and space blocks (see is_letter in the .cpp).
void for_each_pretoken(std::string_view text, const std::function<void(std::string_view)>& fn);
std::vector<std::string_view> pretokenize(std::string_view text);

// Encoder / decoder for a trained vocabulary. Special tokens in the input are
// encoded as plain text (byte-level BPE encodes every string losslessly).
class BpeCodec {
public:
    explicit BpeCodec(BpeVocabulary vocab);
    std::vector<int32_t> encode(std::string_view text) const;
    std::string decode(std::span<const int32_t> ids) const;  // throws InputError on an unknown id
    const BpeVocabulary& vocabulary() const { return vocab_; }

private:
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;
    BpeVocabulary vocab_;
    std::unordered_map<uint64_t, int32_t> rank_;  // (left << 32 | right) -> merge rank
};

// GPT-2's printable stand-in for each byte (what vocab.json / tokenizer.json store).
std::string gpt2_byte_to_unicode(std::string_view bytes);

// Writes `vocab` as a Hugging Face tokenizer.json: model BPE, ByteLevel
// pre-tokenizer and decoder, vocab + merges in GPT-2's byte-to-unicode form,
// special tokens as added tokens.
void write_tokenizer_json(const std::string& path, const BpeVocabulary& vocab);

}  // namespace tern
