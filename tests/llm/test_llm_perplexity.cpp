// Perplexity (llama.cpp's windowed definition) against the torch script's
// computation of the same definition, through the library and the CLI.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "llm/llm_test_util.h"
#include "llm/perplexity.h"

namespace tern::llm::test {
namespace {

TEST(LlmPerplexity, MatchesTheReferenceForEveryArchitecture) {
    const TinyModels& tm = tiny_models();
    TERN_REQUIRE_REFERENCE(tm.ref.reference);
    for (const char* name : {"llama_gqa", "qwen2_bias", "gpt2"}) {
        const TinyModel& m = tm.get(name);
        const auto model = load_model(m.gguf_path);
        SessionOptions o;
        o.n_ctx = m.ppl_ctx;
        Session s(*model, o);
        const PerplexityResult r = compute_perplexity(s, m.ppl_tokens, m.ppl_ctx);
        const double want = tm.ref_tensor(name, "ppl")->data<float>()[0];
        EXPECT_NEAR(r.ppl, want, 1e-4 * want) << name;
        EXPECT_EQ(r.n_windows, 2);                           // 40 tokens / 16, remainder dropped
        EXPECT_EQ(r.n_scored, 2 * (m.ppl_ctx - 1 - m.ppl_ctx / 2));  // 7 per window
        std::printf("[ llm ref  ] %-11s ppl %.6f (torch %.6f)\n", name, r.ppl, want);
    }
}

TEST(LlmPerplexity, TooFewTokensIsAnInputError) {
    const TinyModel& m = tiny_models().get("llama_gqa");
    const auto model = load_model(m.gguf_path);
    Session s(*model, {});
    EXPECT_THROW(compute_perplexity(s, std::span<const int32_t>(m.ppl_tokens.data(), 10), 16), InputError);
}

TEST(LlmPerplexity, CliJsonMatchesTheReference) {
    const TinyModels& tm = tiny_models();
    TERN_REQUIRE_REFERENCE(tm.ref.reference);
    const TinyModel& m = tm.get("qwen2_bias");
    const std::string ids = tm.dir.file("ppl_ids.txt");
    {
        std::ofstream out(ids);
        for (int32_t t : m.ppl_tokens) out << t << "\n";
    }
    const auto r = testcli::run_tern("perplexity " + m.hf_dir + " --tokens-file " + ids + " --ctx 16 --kv f32 --json -t 1");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const double want = tm.ref_tensor("qwen2_bias", "ppl")->data<float>()[0];
    EXPECT_NEAR(j["ppl"].get<double>(), want, 1e-4 * want);
    EXPECT_EQ(j["tokens"].get<int>(), 40);
    EXPECT_EQ(j["windows"].get<int>(), 2);
    EXPECT_EQ(j["fpmath"], "auto");  // the default: exact for these f32 weights
    // --fpmath bf16 (f32 weights stored as bf16): within the bf16 budget of torch's f32 answer.
    const auto fast = testcli::run_tern("perplexity " + m.hf_dir + " --tokens-file " + ids +
                                        " --ctx 16 --kv f32 --fpmath bf16 --json -t 2");
    ASSERT_EQ(fast.code, 0) << fast.err;
    const auto jf = nlohmann::json::parse(fast.out);
    EXPECT_EQ(jf["fpmath"], "bf16");
    EXPECT_NEAR(jf["ppl"].get<double>(), want, 1e-2 * want);
    EXPECT_NE(jf["ppl"].get<double>(), j["ppl"].get<double>()) << "--fpmath bf16 changed nothing";
    // Fewer tokens than one window: one line, exit 1.
    const auto bad = testcli::run_tern("perplexity " + m.hf_dir + " --tokens-file " + ids + " --ctx 64");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("fewer than one window"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace tern::llm::test
