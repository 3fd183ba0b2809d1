#include "nn/models/llama_lm.h"

#include <cmath>

#include "core/error.h"
#include "nn/init.h"
#include "nn/ops.h"

namespace tern::nn::models {

void LlamaLmConfig::validate(const std::string& where) const {
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) throw InputError(where, "language model: " + what);
    };
    need(vocab >= 2 && vocab <= (1 << 20), "vocab must be in [2, 2^20]");
    need(dim >= 2 && layers >= 1 && heads >= 1 && kv_heads >= 1 && ffn >= 1 && context >= 2,
         "dim, layers, heads, kv_heads, ffn and context must be positive");
    need(dim % heads == 0, "dim must be a multiple of heads");
    need(heads % kv_heads == 0, "heads must be a multiple of kv_heads");
    need(head_dim() % 2 == 0, "head dimension (dim / heads) must be even for RoPE");
    need(rope_theta > 0 && norm_eps > 0, "rope_theta and norm_eps must be positive");
}

LlamaBlock::LlamaBlock(const LlamaLmConfig& c, uint64_t seed) {
    attn_norm = register_module("attn_norm", std::make_shared<RMSNorm>(c.dim, c.norm_eps));
    AttentionOptions ao;
    ao.d_model = c.dim;
    ao.n_heads = c.heads;
    ao.n_kv_heads = c.kv_heads;
    ao.bias = false;
    ao.use_rope = true;
    ao.rope_layout = RopeLayout::adjacent_pairs;
    ao.rope_theta = c.rope_theta;
    attn = register_module("attn", std::make_shared<MultiHeadAttention>(ao, child_seed(seed, 0)));
    ffn_norm = register_module("ffn_norm", std::make_shared<RMSNorm>(c.dim, c.norm_eps));
    mlp = register_module("mlp", std::make_shared<MLP>(c.dim, c.ffn, MlpKind::swiglu, false, child_seed(seed, 1)));
}

Var LlamaBlock::forward(const Var& x) {
    Var h = add(x, attn->forward(attn_norm->forward(x)));
    return add(h, mlp->forward(ffn_norm->forward(h)));
}

LlamaLM::LlamaLM(const LlamaLmConfig& c, uint64_t seed) : cfg_(c) {
    c.validate("LlamaLM");
    tok_embeddings = register_module("tok_embeddings", std::make_shared<Embedding>(c.vocab, c.dim, child_seed(seed, 0)));
    for (int64_t l = 0; l < c.layers; ++l)
        blocks.push_back(register_module("blocks." + std::to_string(l),
                                         std::make_shared<LlamaBlock>(c, child_seed(seed, 1 + static_cast<uint64_t>(l)))));
    norm = register_module("norm", std::make_shared<RMSNorm>(c.dim, c.norm_eps));
    if (!c.tied_embeddings)
        output = register_module("output", std::make_shared<Linear>(c.dim, c.vocab, false, child_seed(seed, 1000)));

    // Re-initialise every matrix: small normal weights keep the initial logits
    // near uniform (loss ~ ln vocab), which the default fan-in inits do not.
    Rng rng(child_seed(seed, 2000));
    const float residual_std = 0.02f / std::sqrt(2.0f * static_cast<float>(c.layers));
    for (auto& [name, p] : named_parameters()) {
        if (p.rank() != 2) continue;
        const bool into_residual = name.ends_with("attn.wo.weight") || name.ends_with("mlp.down.weight");
        init::normal(p.value(), 0.0f, into_residual ? residual_std : 0.02f, rng);
    }
}

Var LlamaLM::forward(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) {
    if (static_cast<int64_t>(ids.size()) != batch * seq)
        throw Error("LlamaLM", "ids hold " + std::to_string(ids.size()) + " tokens, not batch * seq");
    if (seq > cfg_.context)
        throw InputError("LlamaLM", "sequence of " + std::to_string(seq) + " tokens exceeds the context of " +
                                        std::to_string(cfg_.context));
    Var x = tok_embeddings->forward(ids, {batch, seq});  // (B, T, dim)
    for (auto& b : blocks) x = b->forward(x);
    x = reshape(norm->forward(x), {batch * seq, cfg_.dim});
    return output ? output->forward(x) : linear(x, tok_embeddings->weight);
}

}  // namespace tern::nn::models
