#pragma once
// tokenizer.json -> GGUF tokenizer keys (the converse of tokenizer_from_gguf_metadata).
#include <string>

#include "io/tokenizer.h"

namespace tern {

// The tokenizer.ggml.* keys llama.cpp's converter writes for a byte-level BPE
// tokenizer.json (model "gpt2"; pre "gpt-2", "llama-bpe" or "qwen2" from the
// split regex; add_bos/add_eos from the post_processor). Throws InputError.
GgufTokenizerMetadata gguf_tokenizer_from_json(const std::string& path);

}  // namespace tern
