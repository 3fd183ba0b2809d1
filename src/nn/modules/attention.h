#pragma once
#include <memory>

#include "nn/modules/linear.h"
#include "nn/ops.h"

namespace tern::nn {

struct AttentionOptions {
    int64_t d_model = 64;
    int64_t n_heads = 4;
    int64_t n_kv_heads = 4;  // == n_heads: MHA; 1: MQA; in between: GQA
    bool bias = false;
    bool use_rope = true;
    RopeLayout rope_layout = RopeLayout::half_split;
    float rope_theta = 10000.0f;
};

// Causal self-attention on (B, T, d_model): q/k/v projections, optional RoPE
// on q and k, grouped kv heads, output projection.
class MultiHeadAttention : public UnaryModule {
public:
    MultiHeadAttention(const AttentionOptions& opt, uint64_t seed);
    Var forward(const Var& x) override;
    AttentionOptions opt;
    int64_t head_dim;
    std::shared_ptr<Linear> wq, wk, wv, wo;
};

}  // namespace tern::nn
