#pragma once
// Architecture hyper-parameters of a decoder-only LM, read from GGUF metadata
// (llama.cpp's keys) or from a Hugging Face config.json. One struct serves
// Llama-family (Llama 1-3, Mistral, TinyLlama), Qwen2 and GPT-2; the forward
// pass branches on `arch` only where the architectures really differ.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "io/gguf_types.h"

namespace tern::llm {

enum class Arch { llama, qwen2, gpt2 };
const char* arch_name(Arch a);

enum class RopeScaling { none, linear, llama3 };

struct ModelConfig {
    Arch arch = Arch::llama;
    int64_t n_embd = 0;      // hidden size d
    int64_t n_layer = 0;
    int64_t n_ff = 0;        // MLP inner size
    int64_t n_head = 0;      // query heads
    int64_t n_head_kv = 0;   // key/value heads (GQA/MQA when < n_head)
    int64_t head_dim = 0;    // usually n_embd / n_head
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0; // context the model was trained for
    float norm_eps = 1e-5f;  // RMSNorm (llama/qwen2) or LayerNorm (gpt2)

    // RoPE (llama/qwen2 only).
    float rope_theta = 10000.0f;
    int64_t rope_dim = 0;    // rotated dims per head (== head_dim here)
    // true: rotate (i, i + d/2) as HF/NeoX; false: adjacent pairs (2i, 2i+1),
    // which is what llama.cpp's converter leaves in GGUF llama q/k rows.
    bool rope_neox = true;
    RopeScaling rope_scaling = RopeScaling::none;
    float rope_factor = 1.0f;            // linear: positions / factor; llama3: long-wavelength divisor
    float rope_low_freq_factor = 1.0f;   // llama3
    float rope_high_freq_factor = 4.0f;  // llama3
    int64_t rope_orig_ctx = 8192;        // llama3 original_max_position_embeddings

    bool attn_qkv_bias = false;  // qwen2 (and llama with attention_bias)
    bool attn_out_bias = false;  // gpt2 (and llama with attention_bias)
    bool tied_embeddings = false;  // output head shares token_embd (set by the loader for GGUF)
    // tern's online Hadamard (quant/rotate.h): ffn_down's input is multiplied by
    // blockdiag(H_b)/sqrt(b) before ffn_down, b this block size; 0: none.
    int64_t ffn_down_hadamard = 0;

    int32_t bos_token = -1, eos_token = -1;  // -1: unknown

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }
    bool uses_rope() const { return arch != Arch::gpt2; }
};

// The GGUF key of ModelConfig::ffn_down_hadamard (tern-private: llama.cpp
// ignores it, so a file with it runs correctly in tern only).
inline constexpr const char* kFfnDownHadamardKey = "tern.rotation.ffn_down_hadamard";

// `where` names the file in error messages. Unknown architecture or a missing
// required key -> InputError naming the file and the key/architecture.
ModelConfig config_from_gguf(const io::GgufMetadata& md, const std::string& where);
ModelConfig config_from_hf_json(const nlohmann::json& j, const std::string& where);
// Reads and parses a config.json file.
ModelConfig config_from_hf_file(const std::string& config_path);

// Checks the numbers are consistent (heads divide, dims positive); InputError otherwise.
void validate_config(const ModelConfig& c, const std::string& where);

}  // namespace tern::llm
