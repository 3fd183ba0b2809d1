// Flash (tiled, online-softmax) attention equals the naive whole-row version,
// and the KV cache makes every way of feeding tokens (one batch, chunks,
// token by token, prefix then decode, rewind) give the same logits.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/thread_pool.h"
#include "llm/forward.h"
#include "ops/attention.h"
#include "llm/llm_test_util.h"

namespace tern::llm::test {
namespace {

void flash_vs_naive(ops::KvType kv, int64_t n_head, int64_t n_head_kv, int64_t hd, int64_t pos0, int64_t T) {
    Rng rng(static_cast<uint64_t>(n_head * 1000 + T * 10 + pos0));
    const int64_t n_all = pos0 + T;
    ops::KvCache cache(2, n_head_kv, hd, n_all + 3, kv);
    std::vector<float> k(static_cast<size_t>(n_all * n_head_kv * hd)), v(k.size());  // (n_all, kv_dim)
    for (auto& x : k) x = rng.normal();
    for (auto& x : v) x = rng.normal();
    cache.store(1, 0, n_all, k.data(), v.data());
    std::vector<float> q(static_cast<size_t>(T * n_head * hd));  // (T, q_dim)
    for (auto& x : q) x = 2 * rng.normal();  // peaky softmax: exercises the running-max rescale
    std::vector<float> a(q.size()), b(q.size());
    const ops::Attention attention(n_head, n_head_kv, hd, 1.0f / std::sqrt(float(hd)));
    attention.check_cache(cache, 1);
    ops::AttentionSeq seq;
    seq.q = q.data();
    seq.T = T, seq.pos0 = pos0;
    seq.cache = &cache;
    seq.out = a.data();
    attention.run(std::span(&seq, 1), 1, default_pool());
    seq.out = b.data();
    attention.run_naive(std::span(&seq, 1), 1);
    EXPECT_LT(rel_err(a.data(), b.data(), static_cast<int64_t>(a.size())), 2e-6)
        << "heads " << n_head << "/" << n_head_kv << " hd " << hd << " pos0 " << pos0 << " T " << T;
}

TEST(LlmAttention, FlashEqualsNaiveAcrossTilesAndGroups) {
    for (ops::KvType kv : {ops::KvType::f32, ops::KvType::f16}) {
        flash_vs_naive(kv, 4, 2, 16, 0, 1);                          // first token
        flash_vs_naive(kv, 4, 4, 16, 0, 150);                        // MHA, several query blocks and key tiles
        flash_vs_naive(kv, 6, 2, 8, 70, 33);                         // GQA, prefix already cached
        flash_vs_naive(kv, 3, 1, 32, 2 * ops::kAttnKeyTile + 5, 1);       // MQA decode past two tiles
        flash_vs_naive(kv, 2, 1, 64, 0, ops::kAttnQueryBlock * 3 + 1);    // query block edge
        flash_vs_naive(kv, 6, 1, 16, 9, 1);                          // decode: group sliced unevenly over units
        flash_vs_naive(kv, 16, 2, 16, 40, 20);                       // GQA 8:1, two query blocks
    }
}

std::vector<float> llm_attention_run(const Model& m, const std::vector<int32_t>& toks, SessionOptions o,
                       const std::vector<int64_t>& pieces) {
    Session s(m, o);
    std::vector<float> all, logits;  // (T, V)
    size_t at = 0;
    for (int64_t n : pieces) {
        s.eval(std::span<const int32_t>(toks.data() + at, static_cast<size_t>(n)), logits, true);
        all.insert(all.end(), logits.begin(), logits.end());
        at += static_cast<size_t>(n);
    }
    return all;
}

TEST(LlmKvCache, EveryFeedingOrderGivesTheSameLogits) {
    for (const char* name : {"llama_gqa", "qwen2_bias", "gpt2"}) {
        const TinyModel& tm = tiny_models().get(name);
        const auto model = load_model(tm.gguf_path);
        const auto& toks = tm.tokens;
        const int64_t T = static_cast<int64_t>(toks.size()), V = model->config.n_vocab;
        const auto full = llm_attention_run(*model, toks, {}, {T});
        SessionOptions naive;
        naive.naive_attention = true;
        EXPECT_LT(rel_err(llm_attention_run(*model, toks, naive, {T}).data(), full.data(), T * V), 1e-5) << name << " naive attention";
        SessionOptions small;
        small.max_batch = 5;  // prefill in GEMM chunks of 5 rows
        EXPECT_LT(rel_err(llm_attention_run(*model, toks, small, {T}).data(), full.data(), T * V), 1e-5) << name << " chunks";
        EXPECT_LT(rel_err(llm_attention_run(*model, toks, {}, std::vector<int64_t>(size_t(T), 1)).data(), full.data(), T * V), 1e-5)
            << name << " token by token";
        EXPECT_LT(rel_err(llm_attention_run(*model, toks, {}, {7, 1, 1, T - 9}).data(), full.data(), T * V), 1e-5) << name << " mixed";
        SessionOptions f16;
        f16.kv_type = ops::KvType::f16;  // half-precision cache: close, not equal
        EXPECT_LT(rel_err(llm_attention_run(*model, toks, f16, {T}).data(), full.data(), T * V), 5e-3) << name << " f16 cache";
    }
}

TEST(LlmKvCache, TruncateRewindsAndContextIsEnforced) {
    const TinyModel& tm = tiny_models().get("llama_gqa");
    const auto model = load_model(tm.gguf_path);
    SessionOptions o;
    o.n_ctx = 24;
    Session s(*model, o);
    std::vector<float> a, b;
    s.eval(std::span<const int32_t>(tm.tokens.data(), 10), a);
    s.truncate(6);
    s.eval(std::span<const int32_t>(tm.tokens.data() + 6, 4), b);
    EXPECT_EQ(a, b);
    EXPECT_EQ(s.n_past(), 10);
    EXPECT_THROW(s.eval(std::span<const int32_t>(tm.tokens.data(), 15), a), InputError);  // 25 > 24
    const int32_t bad = 5000;
    EXPECT_THROW(s.eval({&bad, 1}, a), InputError);
}

}  // namespace
}  // namespace tern::llm::test
