// SentencePiece-style BPE: a hand-derived vocabulary, then SentencePiece
// itself (Debian python3-sentencepiece) on a small model it trains on Moby
// Dick, token for token on full chapters, an address and the edge cases.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "io/tokenizer.h"
#include "tokenizer_ref_check.h"
#include "ref/reference.h"

namespace tern {
namespace {

const char* kSp = "\xE2\x96\x81";  // ▁

// <unk> <s> </s>, a few pieces whose scores fix the merge order, and byte
// fallback tokens for '\n' and '!'.
std::unique_ptr<Tokenizer> hand_vocab() {
    const std::string s = kSp;
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<0x0A>", "<0x21>", s, "h", "e", "l", "o",
                                       s + "h", "ll", s + "he", s + "hell", s + "hello", "lo"};
    std::vector<float> scores = {0, 0, 0, 0, 0, -100, -101, -102, -103, -104, -1, -2, -3, -4, -5, -1.5f};
    std::vector<int32_t> types = {2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    return make_sentencepiece_bpe(tokens, scores, types);
}

TEST(SentencePieceBpe, HandDerivedMerges) {
    const auto tok = hand_vocab();
    // ▁ h e l l o: ▁h (-1) first; then lo (-1.5) beats ll (-2), which it
    // overlaps; then ▁he (-3). No ▁hel or llo piece exists, so it stops.
    EXPECT_EQ(tok->encode("hello"), (std::vector<int32_t>{12, 8, 15}));
    EXPECT_EQ(tok->encode("hello", true), (std::vector<int32_t>{1, 12, 8, 15}));
    // Unknown '\n' and '!' fall back to their byte tokens; 'x' has none -> <unk>.
    EXPECT_EQ(tok->encode("he\n!x"), (std::vector<int32_t>{12, 3, 4, 0}));
    EXPECT_EQ(tok->decode(tok->encode("hello\n!")), "hello\n!");
    EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 12, 8, 15}, true), "hello");
    EXPECT_EQ(tok->token_to_piece(14), " hello");
    EXPECT_EQ(tok->special_ids().bos, 1);
    EXPECT_EQ(tok->special_ids().eos, 2);
    EXPECT_EQ(tok->special_ids().unk, 0);
}

TEST(SentencePieceBpe, BadVocabulary) {
    EXPECT_THROW(make_sentencepiece_bpe({}, {}, {}), InputError);
    EXPECT_THROW(make_sentencepiece_bpe({"a", "b"}, {0.f}, {}), InputError);
    EXPECT_THROW(make_sentencepiece_bpe({"a"}, {0.f}, {9}), InputError);
    EXPECT_THROW(make_sentencepiece_bpe({"a"}, {0.f}, {1}), InputError);  // add_bos without a <s>
}

TEST(SentencePieceBpe, MatchesSentencePieceOnRealText) {
    using namespace testref;
    TERN_REQUIRE_REFERENCE(python_module_reference("sentencepiece", "python3-sentencepiece, run scripts/setup.sh"));
    const std::vector<std::string> train_files = corpus_files(moby_dir());
    if (train_files.size() < 30) TERN_MISSING_REFERENCE() << "Moby Dick text is missing (run scripts/setup.sh)";
    const std::string model_dir = tern_cache_dir() + "/spm";
    std::filesystem::create_directories(model_dir);
    const std::string train = model_dir + "/train_moby_1_20.txt";
    if (!std::filesystem::exists(train)) {
        std::ofstream out(train, std::ios::binary);
        for (int c = 1; c <= 20; ++c) out << slurp(moby_dir() + "/chapter_" + std::to_string(c) + ".txt");
    }
    std::vector<std::string> texts = edge_case_texts();
    for (const char* f : {"/chapter_100.txt", "/chapter_101.txt", "/chapter_135.txt"}) texts.push_back(slurp(moby_dir() + f));
    texts.push_back(slurp(sotu_dir() + "/2016_barack_obama_d.txt"));
    texts.push_back(slurp(sotu_dir() + "/1790_george_washington_n.txt"));

    const std::string strings = ::testing::TempDir() + "tern_spm_strings.json";
    std::ofstream(strings, std::ios::binary) << nlohmann::json(texts).dump();
    int rc = 0;
    const std::string out = run_capture("/usr/bin/python3 " + shell_quote(std::string(TERN_SOURCE_DIR) + "/tests/ref/spm_ref.py") +
                                            " " + shell_quote(model_dir) + " " + shell_quote(train) + " --strings " +
                                            shell_quote(strings),
                                        rc);
    ASSERT_EQ(rc, 0) << out;
    const auto ref = nlohmann::json::parse(out);
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (const auto& v : ref["vocab"]) {
        tokens.push_back(v[0].get<std::string>());
        scores.push_back(v[1].get<float>());
        types.push_back(v[2].get<int32_t>());
    }
    const auto tok = make_sentencepiece_bpe(tokens, scores, types);
    const auto expected = ref["ids"].get<std::vector<std::vector<int32_t>>>();
    ASSERT_EQ(expected.size(), texts.size());
    CompareStats stats;
    for (size_t i = 0; i < texts.size(); ++i) {
        const std::string label = "text " + std::to_string(i) + " '" + texts[i].substr(0, 30) + "'";
        compare_one(*tok, label, texts[i], expected[i], /*parse_special=*/false, /*nfc=*/false, stats);
    }
    EXPECT_EQ(stats.mismatched_texts, 0u);
    std::printf("[ sentencepiece ] %zu texts, %zu tokens compared, %zu mismatched texts\n", stats.texts, stats.tokens,
                stats.mismatched_texts);
}

}  // namespace
}  // namespace tern
