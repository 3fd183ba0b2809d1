// The embedded language model against llama.cpp over the whole test split of
// the corpus (every 256-token window; every 64th when TERN_LONG_SCALE=small):
// next-token argmax agreement >= 99 % and perplexity within 0.5 %, in f16 and
// in the q8_0 / q4_0 / q4_k_m files `tern quantize` makes from it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "cli/cli_runner.h"
#include "ref/reference.h"
#include "io/io_test_util.h"
#include "llm/text_tokenizer.h"
#include "llm/tinylm_agreement.h"
#include "long_scale.h"

namespace tern::llm::test {
namespace {

TEST(TinyLmLong, AgreesWithLlamaCppOverTheTestSplit) {
    const std::string text = corpus_test_text();
    TERN_REQUIRE_REFERENCE(testref::file_reference(tinylm_path(), "run scripts/setup.sh"));
    TERN_REQUIRE_REFERENCE(testref::LlamaCpp::reference());
    if (text.empty()) TERN_MISSING_REFERENCE() << "text corpus not installed (scripts/setup.sh)";
    const auto all = load_text_tokenizer(tinylm_path())->encode(text, true);
    constexpr int64_t ctx = 256;
    // Small scale: every 64th window, still spread over the whole split
    // (~6k positions; five variants took ~16 min at every 8th, ~7.5 min at
    // every 16th on a 2-core Zen 3 and 4.5 min at every 32nd on Zen 5, the
    // longest single test of CI).
    std::vector<int32_t> tokens;
    const int64_t stride = testscale::long_scale_small() ? 64 : 1;
    for (int64_t w = 0; (w + 1) * ctx <= static_cast<int64_t>(all.size()); w += stride)
        tokens.insert(tokens.end(), all.begin() + w * ctx, all.begin() + (w + 1) * ctx);
    testio::TempDir dir;
    for (const TinyLmVariant& variant : kTinyLmVariants) {
        const char* format = variant.label;
        std::string error;
        const std::string path = tinylm_variant(variant.format, dir.path(), error);
        ASSERT_FALSE(path.empty()) << error;
        const Agreement a = compare_with_llama_cpp(path, tokens, ctx, 1 << 30, {variant.math});
        // >= 99 % over the whole split. At small scale (~6k positions) the
        // rate's standard error is ~0.14 %, and the quantized formats measure
        // ~99.0-99.6 % on this machine (int8 activations rounded independently
        // by the two programs; see bench/RESULTS_llm.md), so CI allows 98.5 %.
        EXPECT_GE(a.argmax_rate(), testscale::long_scale_small() ? 0.985 : 0.99) << format;
        EXPECT_NEAR(a.ppl_tern(), a.ppl_llama(), 0.005 * a.ppl_llama()) << format;
        std::printf("[ tinylm   ] %-6s %lld windows, %lld positions: argmax agreement %.3f%%, ppl tern %.4f llama.cpp %.4f "
                    "(%+.3f%%)\n",
                    format, static_cast<long long>(tokens.size() / ctx), static_cast<long long>(a.positions),
                    100 * a.argmax_rate(), a.ppl_tern(), a.ppl_llama(), 100 * (a.ppl_tern() / a.ppl_llama() - 1));
    }
}

}  // namespace
}  // namespace tern::llm::test
