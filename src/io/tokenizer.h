#pragma once
// Tokenizers: text <-> token ids. One interface over two model families:
//   * byte-level BPE (GPT-2, Llama-3, Qwen2/3): from an HF tokenizer.json, from
//     GPT-2's encoder.json + vocab.bpe, or from GGUF metadata (model "gpt2");
//   * SentencePiece-style BPE (Llama-1/2, Mistral, TinyLlama): score-ordered
//     merges, U+2581 for spaces, <0xXX> byte fallback (GGUF model "llama").
// Special tokens found in the text (e.g. "<|eot_id|>") become their ids before
// any pre-tokenization, as in HF tokenizers and llama.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

// GGUF's tokenizer.ggml.token_type numbering.
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,       // special: <s>, <|eot_id|>; matched in text, skipped by decode(skip_special)
    user_defined = 4,  // added token matched in text, decoded as itself
    unused = 5,
    byte = 6,          // <0xXX> byte fallback piece
};

struct SpecialTokenIds {
    int32_t bos = -1, eos = -1, unk = -1, pad = -1;  // -1: none
};

class Tokenizer {
public:
    virtual ~Tokenizer();

    // UTF-8 text (invalid bytes allowed: byte-level models keep them) -> ids.
    // add_special: add the model's prefix/suffix (usually BOS) around the ids.
    // parse_special: turn control / user-defined token strings in the text into
    // their ids; false treats them as plain text.
    std::vector<int32_t> encode(std::string_view text, bool add_special = false, bool parse_special = true) const;
    // ids -> the bytes they stand for. skip_special drops control tokens.
    // Throws InputError on an id outside the vocabulary.
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

    // The bytes one token stands for (a byte-level "Ġthe" -> " the").
    std::string token_to_piece(int32_t id) const;
    // The token as written in the vocabulary ("Ġthe", "▁the", "<0x0A>").
    const std::string& token_text(int32_t id) const;
    std::optional<int32_t> token_id(std::string_view token_text) const;
    TokenType token_type(int32_t id) const;
    size_t vocab_size() const { return texts_.size(); }

    const SpecialTokenIds& special_ids() const { return special_; }
    // What encode(add_special = true) puts before / after the text's ids.
    const std::vector<int32_t>& prefix_ids() const { return prefix_ids_; }
    const std::vector<int32_t>& suffix_ids() const { return suffix_ids_; }
    // One line describing the model, e.g. "byte-level BPE, llama3 split, 128256 tokens".
    virtual std::string describe() const = 0;

    // Everything a tokenizer is built from; the factories fill it.
    struct Vocab {
        std::string where;                 // file or source name, for error messages
        std::vector<std::string> texts;    // id -> token text ("" for an unassigned id)
        std::vector<TokenType> types;      // id -> type
        SpecialTokenIds special;
        std::vector<int32_t> prefix_ids, suffix_ids;
    };

protected:
    explicit Tokenizer(Vocab vocab);
    // Encodes text that holds no special tokens. at_text_start: the piece
    // begins the whole input (SentencePiece adds its dummy prefix only there).
    virtual void encode_plain(std::string_view text, bool at_text_start, std::vector<int32_t>& out) const = 0;
    // Appends the bytes of one token to out (decode calls it per id).
    virtual void append_piece(int32_t id, std::string& out) const = 0;
    // A final touch on decoded text (SentencePiece strips its dummy prefix).
    virtual void finish_decode(std::string& text) const {}

    std::string where_;
    std::vector<std::string> texts_;
    std::vector<TokenType> types_;
    SpecialTokenIds special_;
    std::vector<int32_t> prefix_ids_, suffix_ids_;
    struct TextIndex;  // token text -> id
    std::unique_ptr<TextIndex> index_;
    const int32_t* find_text(std::string_view text) const;

private:
    // Control and user-defined tokens, grouped by first byte, longest first.
    std::vector<std::vector<int32_t>> specials_by_first_byte_;
};

// HF tokenizer.json with model type BPE and a byte-level pre-tokenizer (GPT-2,
// Llama-3, Qwen2/3 split regexes). A tokenizer_config.json beside it, when
// present, supplies bos/eos/pad/unk names and add_bos_token / add_eos_token.
// Throws InputError naming the file and the problem.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path);
// The same from the file's text (no tokenizer_config.json); `where` names it in errors.
std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view text, const std::string& where);

// OpenAI's GPT-2 files: encoder.json (token -> id) and vocab.bpe (merges).
std::unique_ptr<Tokenizer> load_gpt2_bpe(const std::string& encoder_json, const std::string& vocab_bpe);

// A tokenizer.json path, or a directory holding tokenizer.json or
// encoder.json + vocab.bpe.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// SentencePiece BPE as stored in GGUF (tokenizer.ggml.model = "llama"): merge
// order comes from the scores of the merged pieces (higher first).
struct SentencePieceOptions {
    SpecialTokenIds special;       // -1: looked up as <s>, </s>, <unk>
    bool add_bos = true;
    bool add_eos = false;
    bool add_space_prefix = true;  // SentencePiece's add_dummy_prefix
    std::string where = "sentencepiece";
};
std::unique_ptr<Tokenizer> make_sentencepiece_bpe(const std::vector<std::string>& tokens,
                                                  const std::vector<float>& scores,
                                                  const std::vector<int32_t>& token_types,
                                                  const SentencePieceOptions& options = {});

// The tokenizer.ggml.* keys of a GGUF file, as plain vectors.
struct GgufTokenizerMetadata {
    std::string model;                // "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE)
    std::string pre;                  // tokenizer.ggml.pre: "llama-bpe", "qwen2", "gpt-2", "default", ""
    std::vector<std::string> tokens;  // tokenizer.ggml.tokens
    std::vector<float> scores;        // tokenizer.ggml.scores (llama)
    std::vector<int32_t> token_type;  // tokenizer.ggml.token_type
    std::vector<std::string> merges;  // tokenizer.ggml.merges, "a b" (gpt2)
    int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
    std::optional<bool> add_bos, add_eos, add_space_prefix;
    std::string where = "gguf";       // file name for error messages
};
std::unique_ptr<Tokenizer> tokenizer_from_gguf_metadata(const GgufTokenizerMetadata& meta);

}  // namespace tern
