// KL divergence of a quantized model's next-token distributions from the f16
// model's (tern eval --kl-base): against a direct computation from the two
// models' probabilities, and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "llm/kl_divergence.h"
#include "llm/perplexity.h"
#include "llm/text_tokenizer.h"
#include "llm/tinylm_agreement.h"
#include "ref/reference.h"

namespace tern::llm::test {
namespace {

TEST(KlDivergence, MatchesTheDefinitionOnTinyLmAndItsQ4_0) {
    const std::string text = corpus_test_text();
    if (text.empty()) TERN_MISSING_REFERENCE() << "text corpus not installed (scripts/setup.sh)";
    testio::TempDir dir;
    std::string error;
    const std::string q4 = tinylm_variant("q4_0", dir.path(), error);
    ASSERT_FALSE(q4.empty()) << error;
    constexpr int64_t ctx = 64, windows = 3;
    std::vector<int32_t> tokens = load_text_tokenizer(tinylm_path())->encode(text, true);
    tokens.resize(ctx * windows);
    const auto base_model = load_model(tinylm_path()), q_model = load_model(q4);
    SessionOptions so;
    so.n_ctx = ctx;
    so.n_seq = 2;  // two passes: the second holds one window
    Session base(*base_model, so), q(*q_model, so);
    const KlDivergenceResult r = compute_kl_divergence(base, q, tokens, ctx);

    // The definition, one window at a time, from probabilities.
    SessionOptions one = so;
    one.n_seq = 1;
    Session b1(*base_model, one), q1(*q_model, one);
    std::vector<float> lb, lq;
    WindowScratch sb, sq;
    double kl_sum = 0, nll_q = 0;
    int64_t n = 0, same = 0;
    const int64_t V = base_model->config.n_vocab;
    for (int64_t w = 0; w < windows; ++w) {
        eval_scored_windows(b1, tokens, ctx, -1, w, 1, lb, sb);
        eval_scored_windows(q1, tokens, ctx, -1, w, 1, lq, sq);
        for (int64_t p = ctx / 2; p < ctx - 1; ++p, ++n) {
            const float* rb = lb.data() + (p - ctx / 2) * V;
            const float* rq = lq.data() + (p - ctx / 2) * V;
            double zb = 0, zq = 0;
            for (int64_t j = 0; j < V; ++j) zb += std::exp(double(rb[j])), zq += std::exp(double(rq[j]));
            for (int64_t j = 0; j < V; ++j) {
                const double pb = std::exp(double(rb[j])) / zb, pq = std::exp(double(rq[j])) / zq;
                if (pb > 0) kl_sum += pb * std::log(pb / pq);
            }
            nll_q -= std::log(std::exp(double(rq[tokens[static_cast<size_t>(w * ctx + p + 1)]])) / zq);
            same += std::max_element(rb, rb + V) == rb + (std::max_element(rq, rq + V) - rq);
        }
    }
    ASSERT_EQ(r.n_scored, n);
    EXPECT_NEAR(r.mean_kl, kl_sum / double(n), 1e-6 + 1e-4 * r.mean_kl);
    EXPECT_GT(r.mean_kl, 1e-4);  // q4_0 does move the distributions
    EXPECT_LE(r.median_kl, r.p99_kl);
    EXPECT_LE(r.p99_kl, r.max_kl);
    EXPECT_NEAR(r.ppl_model, std::exp(nll_q / double(n)), 1e-6 * r.ppl_model);
    EXPECT_DOUBLE_EQ(r.same_top_token, double(same) / double(n));
    Session q2(*q_model, so);
    EXPECT_NEAR(r.ppl_model, compute_perplexity(q2, tokens, ctx).ppl, 1e-9 * r.ppl_model);

    // A model against itself: zero, and the same top token everywhere.
    Session b2(*base_model, so), b3(*base_model, so);
    const KlDivergenceResult self = compute_kl_divergence(b2, b3, tokens, ctx);
    EXPECT_EQ(self.max_kl, 0.0);
    EXPECT_EQ(self.same_top_token, 1.0);
}

TEST(KlDivergence, CliReportsItAndRefusesWhatItCannotCompare) {
    if (corpus_test_text().empty()) TERN_MISSING_REFERENCE() << "text corpus not installed (scripts/setup.sh)";
    const auto r = testcli::run_tern("eval " + tinylm_path() + " --kl-base " + tinylm_path() + " --chunks 2 --json -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("kl_mean").get<double>(), 0.0);
    EXPECT_EQ(j.at("ppl").get<double>(), j.at("ppl_base").get<double>());
    EXPECT_EQ(j.at("scored").get<int>(), 2 * 127);
    const auto missing = testcli::run_tern("eval " + tinylm_path() + " --kl-base /nonexistent.gguf --chunks 1");
    EXPECT_EQ(missing.code, 1) << missing.err;
    EXPECT_NE(missing.err.find("/nonexistent.gguf"), std::string::npos) << missing.err;
    const auto classifier = testcli::run_tern("eval " + std::string(TERN_SOURCE_DIR) +
                                              "/models/fmnist-lenet5.safetensors --kl-base " + tinylm_path());
    EXPECT_EQ(classifier.code, 2) << classifier.err;
}

}  // namespace
}  // namespace tern::llm::test
