#pragma once
// Loads a decoder-only LM (llama / qwen2 / gpt2) from a GGUF file (llama.cpp
// tensor names) or an HF safetensors checkpoint (a .safetensors file, a
// sharded model.safetensors.index.json, or the folder holding either, with
// config.json beside it). Every expected tensor is checked for presence, shape
// and dtype; problems are InputErrors naming the tensor. Weights are prepared
// once into ops::Linear weights; norms and biases become f32 vectors; the token
// embedding stays a zero-copy view (rows are decoded on lookup).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/tensor_names.h"
#include "ops/linear.h"
#include "llm/model_config.h"

namespace tern::llm {

struct LayerWeights {
    std::vector<float> attn_norm_w, attn_norm_b;  // (d); bias: gpt2 only
    std::unique_ptr<ops::Linear> wq;             // (q_dim, d)
    std::unique_ptr<ops::Linear> wk, wv;         // (kv_dim, d)
    std::unique_ptr<ops::Linear> wo;             // (d, q_dim)
    std::vector<float> ffn_norm_w, ffn_norm_b;    // (d)
    std::unique_ptr<ops::Linear> ffn_gate;       // (ff, d); null for gpt2 (GELU MLP)
    std::unique_ptr<ops::Linear> ffn_up;         // (ff, d); gpt2: GELU fused in its epilogue
    std::unique_ptr<ops::Linear> ffn_down;       // (d, ff)
};

struct Model {
    ModelConfig config;
    std::string path;
    std::string container;  // "gguf" or "safetensors"
    Tensor token_embd;                 // (n_vocab, d), stored dtype (view)
    std::vector<float> position_embd;  // (n_ctx_train, d), gpt2 only
    std::vector<LayerWeights> layers;
    std::vector<float> output_norm_w, output_norm_b;  // (d); bias: gpt2 only
    std::unique_ptr<ops::Linear> output;              // (n_vocab, d); token_embd when tied
    std::vector<float> rope_freq_factors;  // (rope_dim/2) from GGUF rope_freqs.weight (Llama 3.x), or empty

    // out: (d) = row `token` of the embedding, decoded to f32.
    void embed(int32_t token, float* out) const;
    // Weight bytes one decode step streams: every layer matrix and the output
    // head in their stored dtypes (one embedding row is negligible).
    uint64_t decode_weight_bytes() const;
    // Parameters and bytes of the stored weights (for reports / bench).
    uint64_t n_params = 0;
    uint64_t weight_bytes = 0;
    std::string weight_dtype;  // dtype of the first layer's q weight ("f32", "q4_0", ...)
    ops::FloatMath float_math = ops::FloatMath::exact;  // as loaded (LoadOptions)
};

struct LoadOptions {
    // How f32 / f16 weights are multiplied (ops/linear.h); auto by default
    // (bf16 prefill for 16-bit weights where the CPU multiplies bf16 natively,
    // exact elsewhere and for f32: resolve_float_math).
    ops::FloatMath float_math = ops::FloatMath::auto_;
    // Every weight the model uses is scanned for NaN / Inf at load and a hit is
    // an InputError naming the tensor; true skips the refusal (a run whose
    // logits turn non-finite still stops with an error).
    bool allow_nonfinite = false;
};

std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options = {});

// Where a loaded model holds the Linear of a block role (attn_q ... ffn_down of
// role.layer), so methods that compress block by block can swap in the new
// weights between calibration passes. Null for a role the model does not hold
// separately (GPT-2's fused q/k/v, a missing gate) or a layer out of range.
std::unique_ptr<ops::Linear>* block_linear_slot(Model& model, io::RoleOf role);

}  // namespace tern::llm
