#pragma once
// A Hugging Face checkpoint (config.json + safetensors + tokenizer.json) as the
// GGUF file llama.cpp's own converter would write: llama.cpp's tensor names
// (io/tensor_names.h), llama q/k rows permuted for its adjacent-pair RoPE,
// GPT-2 Conv1D weights transposed, norms and biases in f32, the architecture
// keys that config_from_gguf and libllama read, and the tokenizer.ggml.* keys.
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/gguf_types.h"
#include "io/named_tensor.h"

namespace tern::llm {

struct HfToGgufOptions {
    // Type of the 2-D weights: f32, f16 or bf16; nullopt keeps each tensor's own.
    std::optional<DType> weight_type;
};

struct GgufModelParts {
    io::GgufMetadata metadata;
    std::vector<NamedTensor> tensors;
    bool has_tokenizer = false;  // tokenizer.json was found and converted
};

// A folder with config.json, or a .safetensors file / index with config.json
// beside it, naming an architecture config_from_hf_json knows.
bool is_hf_llm_checkpoint(const std::string& path);

// Throws InputError naming the file and the problem (unknown tensor, vocabulary
// larger than the model's, unsupported tokenizer, ...).
GgufModelParts hf_to_gguf(const std::string& path, const HfToGgufOptions& options = {});

// llama.cpp's general.file_type when every 2-D weight has type t (f32, f16, bf16).
std::optional<uint32_t> llama_float_file_type(DType t);

// Writes a GGUF model and checks that it loads (config, every tensor present
// with its shape) before it appears at `path`; otherwise nothing is left
// behind and the InputError says why.
void write_model_gguf(const std::string& path, const io::GgufMetadata& metadata,
                      const std::vector<NamedTensor>& tensors);

}  // namespace tern::llm
