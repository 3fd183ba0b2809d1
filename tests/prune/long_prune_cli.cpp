// `tern prune` on the embedded tinylm at 50 % unstructured: Wanda and SparseGPT
// (calibrated on the training split) keep the test-split perplexity below
// magnitude pruning's, and llama.cpp (libllama) loads the SparseGPT file and
// agrees with tern on it. Long: three prunes, two calibrations and four evals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "llm/text_tokenizer.h"
#include "llm/tinylm_agreement.h"
#include "quant/quant_cli_util.h"
#include "ref/reference.h"

namespace tern {
namespace {

using quanttest::test_split_ppl;
using quanttest::tinylm;

TEST(PruneCliLong, WandaAndSparseGptBeatMagnitudeAtHalfSparsity) {
    if (!quanttest::corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    double ppl[3] = {};
    const char* methods[3] = {"magnitude", "wanda", "sparsegpt"};
    for (int i = 0; i < 3; ++i) {
        const std::string out = dir.file(std::string(methods[i]) + ".gguf");
        const std::string calib = i == 0 ? "" : " --calib text:train --calib-tokens 2048 --calib-ctx 256";
        const auto r = testcli::run_tern("prune " + tinylm() + " -o " + out + " --method " + methods[i] +
                                         " --sparsity 0.5" + calib + " -t 2");
        ASSERT_EQ(r.code, 0) << r.err;
        ppl[i] = test_split_ppl(out, 8);
        ASSERT_TRUE(std::isfinite(ppl[i])) << methods[i];
    }
    EXPECT_LT(ppl[1], ppl[0]) << "wanda " << ppl[1] << " magnitude " << ppl[0];
    EXPECT_LT(ppl[2], ppl[0]) << "sparsegpt " << ppl[2] << " magnitude " << ppl[0];
    // The zeros are plain f16 weights: llama.cpp runs the file and gets tern's numbers.
    const std::string text = llm::test::corpus_test_text();
    TERN_REQUIRE_REFERENCE(testref::LlamaCpp::reference());
    const auto tokens = llm::load_text_tokenizer(tinylm())->encode(text, true);
    const llm::test::Agreement a = llm::test::compare_with_llama_cpp(dir.file("sparsegpt.gguf"), tokens, 256, 2);
    EXPECT_GE(a.argmax_rate(), 0.97);
    EXPECT_NEAR(a.ppl_tern(), a.ppl_llama(), 0.005 * a.ppl_llama());
    std::printf("[ prune ] sparsegpt 50 %%: llama.cpp ppl %.4f, tern %.4f\n", a.ppl_llama(), a.ppl_tern());
    std::printf("[ prune ] tinylm 50 %%, test split 8 x 256 tokens: magnitude %.3f, wanda %.3f, sparsegpt %.3f\n", ppl[0],
                ppl[1], ppl[2]);
}

// Dropping a block renumbers the rest and lowers block_count: llama.cpp loads
// the shallower file and computes tern's perplexity on it.
TEST(PruneCliLong, BlockDroppedModelRunsInLlamaCpp) {
    if (!quanttest::corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string out = dir.file("drop1.gguf");
    const auto r = testcli::run_tern("prune " + tinylm() + " -o " + out +
                                     " --method block-drop --blocks 1 --calib text:train --calib-tokens 1024 --calib-ctx 128 -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    const double dense = test_split_ppl(tinylm(), 8), dropped = test_split_ppl(out, 8);
    EXPECT_GT(dropped, dense);
    const std::string text = llm::test::corpus_test_text();
    TERN_REQUIRE_REFERENCE(testref::LlamaCpp::reference());
    const auto tokens = llm::load_text_tokenizer(tinylm())->encode(text, true);
    const llm::test::Agreement a = llm::test::compare_with_llama_cpp(out, tokens, 256, 2);
    EXPECT_GE(a.argmax_rate(), 0.97);
    EXPECT_NEAR(a.ppl_tern(), a.ppl_llama(), 0.005 * a.ppl_llama());
    std::printf("[ prune ] block-drop 1 of 4: llama.cpp ppl %.4f, tern %.4f (dense test ppl %.3f, dropped %.3f)\n",
                a.ppl_llama(), a.ppl_tern(), dense, dropped);
}

}  // namespace
}  // namespace tern
