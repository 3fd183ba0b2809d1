// `tern prune` on the embedded tinylm at 50 % unstructured: Wanda and SparseGPT
// (calibrated on the training split) keep the test-split perplexity below
// magnitude pruning's. Long: three prunes, two calibrations and three evals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
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
    std::printf("[ prune ] tinylm 50 %%, test split 8 x 256 tokens: magnitude %.3f, wanda %.3f, sparsegpt %.3f\n", ppl[0],
                ppl[1], ppl[2]);
}

}  // namespace
}  // namespace tern
