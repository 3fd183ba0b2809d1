// Sampling: determinism per seed, greedy, and the effect of each filter.
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "llm/sampling.h"

namespace tern::llm {
namespace {

// logits: token i has logit log(p_i) for p = {0.4, 0.3, 0.15, 0.1, 0.05}.
std::vector<float> five() { return {std::log(0.4f), std::log(0.3f), std::log(0.15f), std::log(0.1f), std::log(0.05f)}; }

SamplerParams plain(float temp = 1.0f) {
    SamplerParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

std::map<int32_t, int> histogram(SamplerParams p, int n, std::vector<int32_t> history = {}) {
    Sampler s(p);
    const auto lg = five();
    std::map<int32_t, int> h;
    for (int i = 0; i < n; ++i) ++h[s.sample(lg, history)];
    return h;
}

TEST(LlmSampling, SameSeedSameTokensDifferentSeedDifferent) {
    std::vector<float> lg(50);
    for (size_t i = 0; i < lg.size(); ++i) lg[i] = std::sin(float(i)) * 2;
    auto draw = [&](uint64_t seed) {
        SamplerParams p = plain();
        p.seed = seed;
        Sampler s(p);
        std::vector<int32_t> out;
        for (int i = 0; i < 64; ++i) out.push_back(s.sample(lg, out));
        return out;
    };
    EXPECT_EQ(draw(7), draw(7));
    EXPECT_NE(draw(7), draw(8));
}

TEST(LlmSampling, GreedyIsArgmaxWithLowestIdOnTies) {
    Sampler s(plain(0.0f));
    EXPECT_EQ(s.sample(five(), {}), 0);
    EXPECT_EQ(s.sample(std::vector<float>{1, 3, 3, 2}, {}), 1);
}

TEST(LlmSampling, FrequenciesFollowTheDistribution) {
    const auto h = histogram(plain(), 20000);
    EXPECT_NEAR(h.at(0) / 20000.0, 0.4, 0.02);
    EXPECT_NEAR(h.at(4) / 20000.0, 0.05, 0.01);
}

TEST(LlmSampling, TopKKeepsOnlyTheKBest) {
    SamplerParams p = plain();
    p.top_k = 2;
    const auto h = histogram(p, 2000);
    EXPECT_EQ(h.size(), 2u);
    EXPECT_NEAR(h.at(0) / 2000.0, 0.4 / 0.7, 0.04);
}

TEST(LlmSampling, TopPKeepsTheSmallestNucleus) {
    SamplerParams p = plain();
    p.top_p = 0.8f;  // 0.4 + 0.3 = 0.7 < 0.8, + 0.15 = 0.85 >= 0.8: three tokens
    Sampler s(p);
    EXPECT_EQ(s.candidates(five(), {}).size(), 3u);
    p.top_p = 0.4f;
    EXPECT_EQ(Sampler(p).candidates(five(), {}).size(), 1u);
}

TEST(LlmSampling, MinPDropsTokensBelowAFractionOfTheTop) {
    SamplerParams p = plain();
    p.min_p = 0.3f;  // floor 0.12: keeps 0.4, 0.3, 0.15
    EXPECT_EQ(Sampler(p).candidates(five(), {}).size(), 3u);
}

TEST(LlmSampling, TemperatureSharpensAndFlattens) {
    SamplerParams cold = plain(0.25f), hot = plain(4.0f);
    const auto c = Sampler(cold).candidates(five(), {});
    const auto h = Sampler(hot).candidates(five(), {});
    EXPECT_GT(c.front().p, 0.7f);   // 0.4^4 / sum p^4
    EXPECT_LT(h.front().p, 0.27f);  // flatter than 0.4
}

TEST(LlmSampling, RepetitionPenaltyDemotesRecentTokens) {
    SamplerParams p = plain(0.0f);
    p.repeat_penalty = 10.0f;
    Sampler s(p);
    // token 0 has logit log 0.4 < 0: multiplied by 10 -> far below token 1.
    EXPECT_EQ(s.sample(five(), std::vector<int32_t>{0}), 1);
    std::vector<float> pos = {2.0f, 1.5f};
    EXPECT_EQ(s.sample(pos, std::vector<int32_t>{0}), 1);  // 2/10 < 1.5
    p.repeat_last_n = 1;
    EXPECT_EQ(Sampler(p).sample(pos, std::vector<int32_t>{0, 1}), 0);  // only the last token is penalised
}

TEST(LlmSampling, BadValuesAreUsageErrors) {
    auto bad = [](auto edit) {
        SamplerParams p;
        edit(p);
        EXPECT_THROW(Sampler{p}, UsageError);
    };
    bad([](SamplerParams& p) { p.temperature = -0.1f; });
    bad([](SamplerParams& p) { p.top_p = 0.0f; });
    bad([](SamplerParams& p) { p.top_p = 1.5f; });
    bad([](SamplerParams& p) { p.min_p = -0.5f; });
    bad([](SamplerParams& p) { p.min_p = 2.0f; });
    bad([](SamplerParams& p) { p.top_k = -1; });
    bad([](SamplerParams& p) { p.repeat_penalty = 0.0f; });
}

}  // namespace
}  // namespace tern::llm
