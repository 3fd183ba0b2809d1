#pragma once
// A Llama-architecture decoder-only language model for training with nn/:
// token embedding, `layers` pre-norm blocks (RMSNorm -> causal GQA attention
// with RoPE -> residual, RMSNorm -> SwiGLU MLP -> residual), a final RMSNorm and
// an output projection (tied to the embedding by default).
//
// RoPE rotates adjacent pairs (2i, 2i+1), the layout GGUF's "llama"
// architecture uses, so the trained q/k weights are written to GGUF as they
// are and llama.cpp and tern's LLM runtime reproduce the same logits.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/modules/attention.h"
#include "nn/modules/embedding.h"
#include "nn/modules/mlp.h"
#include "nn/modules/norm.h"

namespace tern::nn::models {

struct LlamaLmConfig {
    int64_t vocab = 4096;
    int64_t dim = 256;
    int64_t layers = 4;
    int64_t heads = 4;
    int64_t kv_heads = 4;
    int64_t ffn = 688;
    int64_t context = 256;  // longest sequence trained on (written as llama.context_length)
    float rope_theta = 10000.0f;
    float norm_eps = 1e-5f;
    bool tied_embeddings = true;

    int64_t head_dim() const { return dim / heads; }
    // Throws InputError(where, ...) on inconsistent sizes.
    void validate(const std::string& where) const;
};

class LlamaBlock : public Module {
public:
    LlamaBlock(const LlamaLmConfig& c, uint64_t seed);
    Var forward(const Var& x);  // (B, T, dim) -> (B, T, dim)
    std::shared_ptr<RMSNorm> attn_norm, ffn_norm;
    std::shared_ptr<MultiHeadAttention> attn;
    std::shared_ptr<MLP> mlp;
};

class LlamaLM : public Module {
public:
    // Weights N(0, 0.02); the projections that write into the residual stream
    // (attention output, MLP down) N(0, 0.02 / sqrt(2 * layers)) as GPT-2.
    LlamaLM(const LlamaLmConfig& c, uint64_t seed);
    // ids: B*T token ids, row-major (B, T). Returns (B*T, vocab) logits.
    Var forward(const std::vector<int64_t>& ids, int64_t batch, int64_t seq);
    const LlamaLmConfig& config() const { return cfg_; }

    std::shared_ptr<Embedding> tok_embeddings;
    std::vector<std::shared_ptr<LlamaBlock>> blocks;
    std::shared_ptr<RMSNorm> norm;
    std::shared_ptr<Linear> output;  // null when tied

private:
    LlamaLmConfig cfg_;
};

}  // namespace tern::nn::models
