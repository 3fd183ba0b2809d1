#pragma once
// Writes a trained LlamaLM and its byte-level BPE vocabulary as a GGUF file of
// llama.cpp's "llama" architecture with a "gpt2" tokenizer (tokens and merges
// in GPT-2's byte-to-unicode spelling, pre-tokenizer "gpt-2"), so that tern's
// LLM runtime and llama.cpp both load it. Norm weights stay f32; the matrices
// are stored as `weights` (any GGUF-storable format, rounded to nearest).
// With tied embeddings there is no output.weight: both readers then project
// with token_embd.weight.
#include <cstdint>
#include <map>
#include <string>

#include "core/dtype.h"
#include "io/bpe_trainer.h"
#include "nn/models/llama_lm.h"

namespace tern::nn::train {

void export_lm_gguf(const std::string& path, const models::LlamaLM& model, const BpeVocabulary& vocab, int32_t bos,
                    DType weights, const std::map<std::string, std::string>& extra_metadata = {});

}  // namespace tern::nn::train
