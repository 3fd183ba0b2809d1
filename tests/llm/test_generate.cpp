// llm::generate, the loop behind tern generate / chat / demo: each stop
// condition (max tokens, EOS, another stop id, the callback, a full context),
// tokens identical to a hand-written prefill + sample + decode loop, and the
// same tokens for the same seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "io/io_test_util.h"
#include "llm/generate.h"
#include "llm/model_loader.h"
#include "llm/synthetic_model.h"

namespace tern::llm::test {
namespace {

// A small random-weight Llama, written once per process.
const std::string& model_path() {
    static testio::TempDir dir;
    static const std::string path = [] {
        const std::string p = dir.file("gen.gguf");
        write_synthetic_llama(p, {"generate-test", 64, 2, 4, 2, 128, 320, 256}, DType::f32, /*seed=*/9);
        return p;
    }();
    return path;
}

const std::vector<int32_t> kPrompt = {1, 40, 41, 42, 300};

SamplerParams random_sampling(uint64_t seed) {
    SamplerParams sp;
    sp.temperature = 0.9f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    sp.repeat_penalty = 1.1f;
    sp.seed = seed;
    return sp;
}

GenerateReport generate_run(const Model& model, const SamplerParams& sp, const GenerateStop& stop, int64_t n_ctx = 64,
                   std::vector<GeneratedToken>* seen = nullptr) {
    SessionOptions so;
    so.n_ctx = n_ctx;
    Session session(model, so);
    Sampler sampler(sp);
    return generate(session, sampler, kPrompt, stop, [&](const GeneratedToken& t) {
        if (seen) seen->push_back(t);
    });
}

TEST(Generate, StopsAfterMaxTokensLikeAHandWrittenLoop) {
    const auto model = load_model(model_path());
    GenerateStop stop;
    stop.max_new_tokens = 12;
    std::vector<GeneratedToken> seen;
    const GenerateReport rep = generate_run(*model, random_sampling(5), stop, 64, &seen);
    EXPECT_EQ(rep.stop, StopReason::length);
    EXPECT_EQ(rep.prompt_tokens, 5);
    EXPECT_EQ(rep.generated_tokens, 12);
    EXPECT_EQ(rep.decoded_tokens, 11);  // the last token is not evaluated
    ASSERT_EQ(seen.size(), 12u);
    for (size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].index, static_cast<int64_t>(i));
        EXPECT_EQ(seen[i].id, rep.tokens[i]);
        EXPECT_TRUE(seen[i].piece.empty()) << "no tokenizer given";
    }

    // The reference: prefill, then sample and evaluate one token at a time.
    SessionOptions so;
    so.n_ctx = 64;
    Session session(*model, so);
    Sampler sampler(random_sampling(5));
    std::vector<float> logits;
    std::vector<int32_t> history = kPrompt, want;
    session.eval(kPrompt, logits);
    for (int i = 0; i < 12; ++i) {
        const int32_t next = sampler.sample(logits, history);
        want.push_back(next);
        history.push_back(next);
        session.eval({&next, 1}, logits);
    }
    EXPECT_EQ(rep.tokens, want);
}

TEST(Generate, SameSeedSameTokensOtherSeedOtherTokens) {
    const auto model = load_model(model_path());
    GenerateStop stop;
    stop.max_new_tokens = 20;
    const GenerateReport a = generate_run(*model, random_sampling(11), stop);
    const GenerateReport b = generate_run(*model, random_sampling(11), stop);
    const GenerateReport c = generate_run(*model, random_sampling(12), stop);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_NE(a.tokens, c.tokens);
}

TEST(Generate, StopsOnEosAndOnOtherStopIds) {
    auto model = load_model(model_path());
    GenerateStop stop;
    stop.max_new_tokens = 20;
    const std::vector<int32_t> free_run = generate_run(*model, random_sampling(3), stop).tokens;
    // The first token that did not occur before it: stopping on it leaves the tokens before it.
    size_t k = 1;
    while (k < free_run.size() && std::count(free_run.begin(), free_run.begin() + k, free_run[k]) > 0) ++k;
    ASSERT_LT(k, free_run.size());
    const std::vector<int32_t> before(free_run.begin(), free_run.begin() + static_cast<std::ptrdiff_t>(k));

    model->config.eos_token = free_run[k];
    stop.stop_ids = {free_run[k]};
    GenerateReport rep = generate_run(*model, random_sampling(3), stop);
    EXPECT_EQ(rep.stop, StopReason::eos);
    EXPECT_EQ(rep.tokens, before);
    EXPECT_EQ(rep.decoded_tokens, static_cast<int64_t>(k));

    stop.keep_stop_token = true;  // tern generate prints the EOS
    rep = generate_run(*model, random_sampling(3), stop);
    EXPECT_EQ(rep.stop, StopReason::eos);
    EXPECT_EQ(rep.generated_tokens, static_cast<int64_t>(k + 1));
    EXPECT_EQ(rep.tokens.back(), free_run[k]);

    model->config.eos_token = -1;  // the same id as a chat template's end of turn
    stop.keep_stop_token = false;
    rep = generate_run(*model, random_sampling(3), stop);
    EXPECT_EQ(rep.stop, StopReason::stop_token);
    EXPECT_EQ(rep.tokens, before);
}

TEST(Generate, StopsWhenTheCallbackSaysSo) {
    const auto model = load_model(model_path());
    GenerateStop stop;
    stop.max_new_tokens = 20;
    int calls = 0;
    stop.after_token = [&](int32_t) { return ++calls == 4; };
    std::vector<GeneratedToken> seen;
    const GenerateReport rep = generate_run(*model, random_sampling(8), stop, 64, &seen);
    EXPECT_EQ(rep.stop, StopReason::callback);
    EXPECT_EQ(calls, 4);
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_EQ(rep.decoded_tokens, 3);
}

TEST(Generate, StopsAtAFullContextAndKeepsTheHeldTokens) {
    const auto model = load_model(model_path());
    GenerateStop stop;
    stop.max_new_tokens = 20;
    const GenerateReport rep = generate_run(*model, random_sampling(4), stop, /*n_ctx=*/9);
    EXPECT_EQ(rep.stop, StopReason::context);
    EXPECT_EQ(rep.decoded_tokens, 4);  // 5 prompt + 4 decoded fill the 9 positions
    EXPECT_EQ(rep.generated_tokens, 5);

    // `held` tracks exactly what the cache holds, across calls.
    SessionOptions so;
    so.n_ctx = 64;
    Session session(*model, so);
    Sampler sampler(random_sampling(4));
    std::vector<int32_t> held;
    stop.max_new_tokens = 3;
    generate(session, sampler, kPrompt, stop, {}, nullptr, &held);
    EXPECT_EQ(static_cast<int64_t>(held.size()), session.n_past());
    const std::vector<int32_t> more = {7, 8};
    const GenerateReport second = generate(session, sampler, more, stop, {}, nullptr, &held);
    EXPECT_EQ(static_cast<int64_t>(held.size()), session.n_past());
    EXPECT_EQ(session.n_past(), 5 + 2 + 2 + 2);
    EXPECT_EQ(second.prompt_tokens, 2);
    EXPECT_THROW(generate(session, sampler, std::vector<int32_t>{}, stop, {}), InputError);
}

}  // namespace
}  // namespace tern::llm::test
