#include "nn/modules/attention.h"

#include "core/error.h"

namespace tern::nn {

MultiHeadAttention::MultiHeadAttention(const AttentionOptions& o, uint64_t seed) : opt(o) {
    if (o.n_heads < 1 || o.n_kv_heads < 1 || o.n_heads % o.n_kv_heads || o.d_model % o.n_heads)
        throw Error("MultiHeadAttention", "d_model must divide by n_heads and n_heads by n_kv_heads");
    head_dim = o.d_model / o.n_heads;
    const int64_t kv_dim = o.n_kv_heads * head_dim;
    wq = register_module("wq", std::make_shared<Linear>(o.d_model, o.d_model, o.bias, child_seed(seed, 0)));
    wk = register_module("wk", std::make_shared<Linear>(o.d_model, kv_dim, o.bias, child_seed(seed, 1)));
    wv = register_module("wv", std::make_shared<Linear>(o.d_model, kv_dim, o.bias, child_seed(seed, 2)));
    wo = register_module("wo", std::make_shared<Linear>(o.d_model, o.d_model, o.bias, child_seed(seed, 3)));
}

Var MultiHeadAttention::forward(const Var& x) {
    const int64_t B = x.dim(0), T = x.dim(1);
    Var q = reshape(wq->forward(x), {B, T, opt.n_heads, head_dim});
    Var k = reshape(wk->forward(x), {B, T, opt.n_kv_heads, head_dim});
    Var v = reshape(wv->forward(x), {B, T, opt.n_kv_heads, head_dim});
    if (opt.use_rope) {
        q = rope(q, opt.rope_layout, opt.rope_theta);
        k = rope(k, opt.rope_layout, opt.rope_theta);
    }
    Var att = causal_attention(q, k, v);  // (B, T, H, D)
    return wo->forward(reshape(att, {B, T, opt.d_model}));
}

}  // namespace tern::nn
