#pragma once
// Random-weight Llama-architecture GGUF files of real shapes (TinyLlama-1.1B,
// …) in any GGUF tensor type: what speed measurements use, since no pretrained
// decoder weights can be downloaded here. Weights are seeded N(0, 0.02); the
// vocabulary is a valid SentencePiece-style one (<unk> <s> </s>, the 256 byte
// pieces, then placeholder pieces) so llama.cpp loads the file too.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tern::llm {

struct SyntheticLlamaShape {
    std::string name;
    int64_t dim, layers, heads, kv_heads, ffn, vocab, ctx;
};

// Known presets: "tinyllama-1.1b", "llama-tiny" (a few million parameters).
const std::vector<SyntheticLlamaShape>& synthetic_shapes();
const SyntheticLlamaShape& synthetic_shape(const std::string& name);

// Writes the model atomically. `weights` is the type of the 2-D weights (norms
// stay f32; token_embd and output use it too). Returns parameters written.
uint64_t write_synthetic_llama(const std::string& path, const SyntheticLlamaShape& shape, DType weights,
                               uint64_t seed);

}  // namespace tern::llm
