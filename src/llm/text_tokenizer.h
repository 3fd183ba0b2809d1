#pragma once
// The minimal text <-> token-id interface the LLM commands need, backed by
// io/tokenizer.h: a GGUF's tokenizer.ggml.* metadata, or the tokenizer.json /
// GPT-2 files beside a Hugging Face checkpoint. Models without one still take
// token ids (--tokens / --tokens-file).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::llm {

class TextTokenizer {
public:
    virtual ~TextTokenizer() = default;
    // add_bos: prepend the model's begin-of-sequence token when it has one.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
    // The bytes one token stands for (streamed as tokens are generated).
    virtual std::string decode_token(int32_t id) const = 0;
    // The id of the token written `text` in the vocabulary ("<|im_end|>"), if any.
    virtual std::optional<int32_t> token_id(std::string_view text) const = 0;
};

// The tokenizer that belongs to a model file (GGUF tokenizer.ggml.* metadata,
// or tokenizer.json beside safetensors), or nullptr when none can be built.
std::unique_ptr<TextTokenizer> load_text_tokenizer(const std::string& model_path);

// The Jinja chat template that comes with a model: a GGUF's
// tokenizer.chat_template, or "chat_template" in the tokenizer_config.json
// beside an HF checkpoint (the "default" entry when it lists several);
// empty when there is none.
std::string load_chat_template_text(const std::string& model_path);

// "1 2 3", "1,2,3" or a file's contents -> ids. InputError naming `where` on
// anything that is not a non-negative integer.
std::vector<int32_t> parse_token_ids(std::string_view text, const std::string& where);

}  // namespace tern::llm
