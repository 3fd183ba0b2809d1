// The whole corpus against the references: every State of the Union address
// (~10.7 MB) and every Moby Dick chapter (~2.4 MB), through each of tern's
// byte-level BPE tokenizers and its independent JS reference, token for token.
#include "long_scale.h"
#include "tokenizer_ref_check.h"

namespace tern::testref {
namespace {

void check_corpus(const RefModel& m, const std::string& corpus_dir) {
    TERN_REQUIRE_REFERENCE(tokenizer_reference(m.name));
    // TERN_LONG_SCALE=small: every 16th document (the whole corpus otherwise).
    const std::vector<std::string> files = testscale::subset_when_small(corpus_files(corpus_dir), 16);
    if (files.empty()) TERN_MISSING_REFERENCE() << "no *.txt in " << corpus_dir << " (run scripts/setup.sh)";
    const std::unique_ptr<Tokenizer> tok = m.load();
    const auto expected = reference_ids_for_files(m.name, files);
    ASSERT_EQ(expected.size(), files.size());
    CompareStats stats;
    for (size_t i = 0; i < files.size(); ++i)
        compare_one(*tok, files[i], slurp(files[i]), expected[i], m.parse_special, std::string(m.name) == "qwen3",
                    stats);
    EXPECT_EQ(stats.mismatched_texts, 0u);
    std::printf("[ %s ] %s: %zu texts, %zu bytes, %zu tokens compared, %zu mismatched texts; tern encodes %.1f MB/s\n",
                m.name, corpus_dir.c_str(), stats.texts, stats.bytes, stats.tokens, stats.mismatched_texts,
                stats.bytes / 1e6 / stats.encode_seconds);
}

class TokenizerCorpus : public ::testing::TestWithParam<int> {};

TEST_P(TokenizerCorpus, StateOfTheUnion) { check_corpus(ref_models()[GetParam()], sotu_dir()); }
TEST_P(TokenizerCorpus, MobyDick) { check_corpus(ref_models()[GetParam()], moby_dir()); }

INSTANTIATE_TEST_SUITE_P(Models, TokenizerCorpus, ::testing::Range(0, int(ref_models().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                             std::string n = ref_models()[info.param].name;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

}  // namespace
}  // namespace tern::testref
