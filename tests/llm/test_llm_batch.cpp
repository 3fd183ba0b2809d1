// Several sequences in one forward pass (Session::eval_many) against each
// sequence evaluated alone: same logits within f32's 1e-4 budget (only the
// summation order of a one-row GEMV and a several-row GEMM differs; a sequence
// reading another's cache or position is off by O(1)), for prefill, decode, passes split by max_batch,
// learned positions (GPT-2), quantized weights; perplexity over windows
// evaluated together equals perplexity window by window.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/io_test_util.h"
#include "llm/forward.h"
#include "llm/llm_test_util.h"
#include "llm/perplexity.h"
#include "llm/synthetic_model.h"

namespace tern::llm::test {
namespace {

std::vector<int32_t> some_tokens(int64_t n, int64_t vocab, int64_t salt) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>((i * 31 + salt * 17 + 3) % vocab);
    return t;
}

// Prompts of different lengths for three sequences, then decode steps of all
// three together; every logit row against the same sequence alone.
void check_batched_equals_alone(const Model& model, SessionOptions base, double tol) {
    const int64_t V = model.config.n_vocab;
    const std::vector<std::vector<int32_t>> prompts = {some_tokens(9, V, 1), some_tokens(3, V, 2), some_tokens(14, V, 3)};
    const int64_t n_seq = static_cast<int64_t>(prompts.size());
    SessionOptions many = base;
    many.n_seq = n_seq;
    Session batched(model, many);
    std::vector<std::unique_ptr<Session>> alone;
    for (int64_t i = 0; i < n_seq; ++i) alone.push_back(std::make_unique<Session>(model, base));

    // Prefill: sequence 1 wants every row's logits, the others only the last.
    std::vector<SeqTokens> items;
    for (int64_t i = 0; i < n_seq; ++i)
        items.push_back({static_cast<int32_t>(i), prompts[static_cast<size_t>(i)],
                         i == 1 ? static_cast<int64_t>(prompts[1].size()) : 1});
    std::vector<float> got, want;
    batched.eval_many(items, got);
    int64_t row = 0;
    for (int64_t i = 0; i < n_seq; ++i) {
        alone[static_cast<size_t>(i)]->eval(prompts[static_cast<size_t>(i)], want, /*all_logits=*/i == 1);
        const int64_t rows = static_cast<int64_t>(want.size()) / V;
        ASSERT_LE((row + rows) * V, static_cast<int64_t>(got.size()));
        EXPECT_LT(rel_err(got.data() + row * V, want.data(), rows * V), tol) << "prefill of sequence " << i;
        EXPECT_EQ(batched.n_past(static_cast<int32_t>(i)), static_cast<int64_t>(prompts[static_cast<size_t>(i)].size()));
        row += rows;
    }
    EXPECT_EQ(row * V, static_cast<int64_t>(got.size()));

    // Decode: one token of each sequence per pass; sequence 2 skips a step.
    for (int step = 0; step < 4; ++step) {
        items.clear();
        std::vector<int32_t> next;
        for (int64_t i = 0; i < n_seq; ++i) next.push_back(static_cast<int32_t>((step * 7 + i * 5 + 1) % V));
        for (int64_t i = 0; i < n_seq; ++i)
            if (!(i == 2 && step == 1)) items.push_back({static_cast<int32_t>(i), {&next[static_cast<size_t>(i)], 1}, 1});
        batched.eval_many(items, got);
        ASSERT_EQ(static_cast<int64_t>(got.size()), static_cast<int64_t>(items.size()) * V);
        for (size_t j = 0; j < items.size(); ++j) {
            alone[static_cast<size_t>(items[j].seq)]->eval(items[j].tokens, want);
            EXPECT_LT(rel_err(got.data() + static_cast<int64_t>(j) * V, want.data(), V), tol)
                << "decode step " << step << " of sequence " << items[j].seq;
        }
    }
}

TEST(LlmBatch, ManySequencesInOnePassMatchEachAlone) {
    for (const char* name : {"llama_gqa", "qwen2_bias", "gpt2"}) {
        SCOPED_TRACE(name);
        const auto model = load_model(tiny_models().get(name).gguf_path);
        check_batched_equals_alone(*model, {}, 1e-4);
        SessionOptions f16kv;
        f16kv.kv_type = ops::KvType::f16;
        check_batched_equals_alone(*model, f16kv, 1e-4);
    }
}

// max_batch smaller than the items: a pass ends inside an item and the item
// continues in the next pass; logit rows stay in item order.
TEST(LlmBatch, PassesSplitInsideItems) {
    const auto model = load_model(tiny_models().get("llama_gqa").gguf_path);
    SessionOptions small;
    small.max_batch = 5;
    check_batched_equals_alone(*model, small, 1e-4);
    SessionOptions one;
    one.max_batch = 1;
    check_batched_equals_alone(*model, one, 1e-4);
}

TEST(LlmBatch, QuantizedWeights) {
    testio::TempDir dir;
    const std::string path = dir.file("tiny_q4_0.gguf");
    write_synthetic_llama(path, synthetic_shape("llama-tiny"), DType::q4_0, 7);
    const auto model = load_model(path);
    // Activations are quantized to int8 per row, so rows do not interact; only the
    // summation order of the GEMV (one row) and the GEMM (several) differs.
    check_batched_equals_alone(*model, {}, 1e-4);
}

TEST(LlmBatch, PerplexityOverWindowsTogetherEqualsOneByOne) {
    const auto model = load_model(tiny_models().get("llama_gqa").gguf_path);
    const int64_t ctx = 16;
    const std::vector<int32_t> tokens = some_tokens(5 * ctx + 3, model->config.n_vocab, 9);
    SessionOptions one;
    one.n_ctx = ctx;
    Session alone(*model, one);
    const PerplexityResult want = compute_perplexity(alone, tokens, ctx, {}, 1);
    SessionOptions three = one;
    three.n_seq = 3;  // passes of 3 + 2 windows
    Session together(*model, three);
    std::vector<int64_t> seen;
    const PerplexityResult got = compute_perplexity(together, tokens, ctx, [&](int64_t w, double) { seen.push_back(w); }, 1);
    EXPECT_EQ(got.n_windows, 5);
    EXPECT_EQ(got.n_scored, want.n_scored);
    EXPECT_NEAR(got.ppl, want.ppl, 1e-5 * want.ppl);
    ASSERT_EQ(got.window_ppl.size(), want.window_ppl.size());
    for (size_t i = 0; i < got.window_ppl.size(); ++i) EXPECT_NEAR(got.window_ppl[i], want.window_ppl[i], 1e-5 * want.ppl);
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(perplexity_windows_per_pass(256, 100 * 256), kPerplexityPassRows / 256);
    EXPECT_EQ(perplexity_windows_per_pass(16, 3 * 16 + 5), 3);
    EXPECT_EQ(perplexity_windows_per_pass(4096, 5000), 1);
}

TEST(LlmBatch, BadBatchesAreRefused) {
    const auto model = load_model(tiny_models().get("llama_gqa").gguf_path);
    SessionOptions two;
    two.n_seq = 2;
    two.n_ctx = 8;
    Session s(*model, two);
    const std::vector<int32_t> t = {1, 2, 3};
    std::vector<float> logits;
    const SeqTokens same[] = {{0, t, 1}, {0, t, 1}};
    EXPECT_THROW(s.eval_many(same, logits), tern::InputError);
    const SeqTokens outside[] = {{2, t, 1}};
    EXPECT_THROW(s.eval_many(outside, logits), tern::InputError);
    const SeqTokens too_many_rows[] = {{1, t, 4}};
    EXPECT_THROW(s.eval_many(too_many_rows, logits), tern::InputError);
    const std::vector<int32_t> long_prompt(9, 1);
    const SeqTokens overflow[] = {{0, t, 1}, {1, long_prompt, 1}};
    EXPECT_THROW(s.eval_many(overflow, logits), tern::InputError);
    // A refused batch leaves every sequence where it was.
    EXPECT_EQ(s.n_past(0), 0);
    EXPECT_EQ(s.n_past(1), 0);
    SessionOptions none;
    none.n_seq = 0;
    EXPECT_THROW(Session(*model, none), tern::InputError);
}

}  // namespace
}  // namespace tern::llm::test
