// BPE trainer on a small real text (Tom Sawyer, ~390 kB): determinism,
// encoder/trainer agreement, lossless round trip on held-out text (Sherlock
// Holmes), compression, tokenizer.json; the pre-tokenizer against GPT-2's own
// regex run by Node.js (exact Unicode classes) on real text.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "io/bpe_trainer.h"
#include "io/text_corpus.h"
#include "ref/reference.h"

using namespace tern;
namespace fs = std::filesystem;

namespace {

const std::vector<TextDocument>& gutenberg() {
    static const std::vector<TextDocument> docs = [] {
        TextCorpusOptions o;
        o.sotu = o.moby_dick = o.austen = false;
        return load_text_corpus(o).documents;
    }();
    return docs;
}

#define REQUIRE_GUTENBERG() \
    if (gutenberg().size() != 2) TERN_MISSING_REFERENCE() << "Gutenberg texts not installed (run scripts/setup.sh)"

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace

TEST(BpePretokenize, HandCheckedGpt2Split) {
    const std::vector<std::string_view> want = {"Hello", " world", "'s", " ",  " end", "\n\n ", " x", " 123", "abc",
                                                "!!",    " don",   "'t", "\t", "été",  " —",     "ok", "  "};
    EXPECT_EQ(pretokenize("Hello world's  end\n\n  x 123abc!! don't\tété —ok  "), want);
    EXPECT_TRUE(pretokenize("").empty());
    // Invalid UTF-8 still splits into pieces that cover every byte.
    const std::string junk = "a\xff\xfe b\xc3";
    std::string joined;
    for (auto p : pretokenize(junk)) joined += p;
    EXPECT_EQ(joined, junk);
}

TEST(BpePretokenize, MatchesGpt2RegexInNodeOnRealText) {
    const std::string moby = default_text_cache_dir() + "/npm/moby-dick/package/data/chapter_1.txt";
    if (!fs::exists(moby)) TERN_MISSING_REFERENCE() << "moby-dick text not installed";
    if (std::system("node --version >/dev/null 2>&1") != 0) TERN_MISSING_REFERENCE() << "node not installed";
    // Chapter 1 has em-dashes, curly quotes and semicolons; add a few harder cases.
    const auto text = load_moby_dick(fs::path(moby).parent_path().string());
    std::string sample;
    for (const auto& d : text)
        if (d.name == "chapter_1" || d.name == "extracts") sample += d.text;
    sample += "  tabs\t\there, numbers 3.14 and ½, naïve café, Ωμέγα, 東京, it's we'll THEY'RE\r\n";
    const fs::path tmp = fs::temp_directory_path() / ("tern_pretok_" + std::to_string(::getpid()) + ".txt");
    std::ofstream(tmp, std::ios::binary) << sample;
    // GPT-2's pattern, as published with its encoder.
    const std::string js =
        "const t=require('fs').readFileSync(process.argv[1],'utf8');"
        "const re=/'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+/gu;"
        "process.stdout.write(JSON.stringify(t.match(re)));";
    const std::string out = run_capture("node -e \"" + js + "\" " + tmp.string());
    fs::remove(tmp);
    ASSERT_FALSE(out.empty());
    const auto ref = nlohmann::json::parse(out).get<std::vector<std::string>>();
    const auto ours = pretokenize(sample);
    ASSERT_EQ(ours.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(std::string(ours[i]), ref[i]) << "piece " << i;
}

TEST(BpeTrainer, SmallRealTextDeterministicLosslessAndConsistent) {
    REQUIRE_GUTENBERG();
    const std::string& train = gutenberg()[0].text;  // Tom Sawyer
    const std::string& held_out = gutenberg()[1].text;  // Sherlock Holmes
    BpeTrainerOptions opts;
    opts.vocab_size = 1024;
    BpeTrainStats stats;
    const auto t0 = std::chrono::steady_clock::now();
    const BpeVocabulary v = train_bpe(train, opts, &stats);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(v.size(), 1024);
    ASSERT_EQ(v.merges.size(), 1024u - 256 - 1);
    EXPECT_EQ(v.special_token_id("<|endoftext|>"), 1023);
    EXPECT_EQ(v.tokens[1023], "<|endoftext|>");
    // English: the first merges are space+letter or common digraphs, and " the" is learned early.
    EXPECT_EQ(v.tokens[256].size(), 2u);
    const auto the = std::find(v.tokens.begin(), v.tokens.end(), " the");
    ASSERT_NE(the, v.tokens.end());
    EXPECT_LT(the - v.tokens.begin(), 300);

    // Same text, same options -> identical vocabulary.
    const BpeVocabulary again = train_bpe(train, opts);
    EXPECT_EQ(again.merges, v.merges);
    EXPECT_EQ(again.tokens, v.tokens);

    const BpeCodec codec(v);
    // The encoder reproduces the trainer's final segmentation exactly.
    const std::vector<int32_t> ids = codec.encode(train);
    EXPECT_EQ(static_cast<int64_t>(ids.size()), stats.final_tokens);
    EXPECT_EQ(codec.decode(ids), train);
    // Held-out text round-trips byte for byte and compresses.
    const std::vector<int32_t> held = codec.encode(held_out);
    EXPECT_EQ(codec.decode(held), held_out);
    const double ratio_train = static_cast<double>(train.size()) / ids.size();
    const double ratio_held = static_cast<double>(held_out.size()) / held.size();
    EXPECT_GT(ratio_held, 2.3);  // measured 2.51 (train 2.64)
    EXPECT_LT(ratio_held, ratio_train + 0.01);
    std::printf("[ bpe      ] 1024 vocab on Tom Sawyer (%zu B, %lld words, %lld unique) in %.3f s; chars/token "
                "train %.3f, Sherlock Holmes %.3f\n",
                train.size(), (long long)stats.words, (long long)stats.unique_words, secs, ratio_train, ratio_held);
    // Arbitrary bytes (invalid UTF-8, NULs, specials as text) round-trip too.
    const std::string odd = std::string("\x00\xff\xfe<|endoftext|> \xe2\x80\x94 x", 21);
    EXPECT_EQ(codec.decode(codec.encode(odd)), odd);
    EXPECT_THROW(codec.decode(std::vector<int32_t>{5000}), InputError);
}

// The incremental trainer against the obvious one: recount every pair of every
// word after each merge, take the most frequent (ties: smallest ids), merge.
TEST(BpeTrainer, MatchesBruteForceTrainer) {
    REQUIRE_GUTENBERG();
    const std::string text = gutenberg()[0].text.substr(0, 120000);
    std::map<std::string, int64_t> freq;
    for (auto w : pretokenize(text)) ++freq[std::string(w)];
    std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
    for (const auto& [w, c] : freq) words.push_back({std::vector<int32_t>(w.begin(), w.end()), c});
    for (auto& [s, c] : words)
        for (auto& x : s) x &= 0xFF;
    std::vector<std::pair<int32_t, int32_t>> merges;
    for (int32_t id = 256; id < 256 + 300; ++id) {
        std::map<std::pair<int32_t, int32_t>, int64_t> counts;
        for (const auto& [s, c] : words)
            for (size_t i = 0; i + 1 < s.size(); ++i) counts[{s[i], s[i + 1]}] += c;
        std::pair<int32_t, int32_t> best{-1, -1};
        int64_t best_count = 0;
        for (const auto& [p, c] : counts)  // map order = ascending pair: first max wins ties
            if (c > best_count) best = p, best_count = c;
        if (best_count < 2) break;
        merges.push_back(best);
        for (auto& [s, c] : words) {
            std::vector<int32_t> out;
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == best.first && s[i + 1] == best.second) {
                    out.push_back(id);
                    ++i;
                } else {
                    out.push_back(s[i]);
                }
            }
            s = out;
        }
    }
    BpeTrainerOptions opts;
    opts.vocab_size = 256 + 300;
    opts.special_tokens.clear();
    EXPECT_EQ(train_bpe(text, opts).merges, merges);
}

TEST(BpeTrainer, WritesHuggingFaceTokenizerJson) {
    REQUIRE_GUTENBERG();
    BpeTrainerOptions opts;
    opts.vocab_size = 600;
    const BpeVocabulary v = train_bpe(gutenberg()[0].text, opts);
    const fs::path path = fs::temp_directory_path() / ("tern_tok_" + std::to_string(::getpid()) + ".json");
    write_tokenizer_json(path.string(), v);
    std::ifstream f(path);
    const auto j = nlohmann::json::parse(f);
    fs::remove(path);
    EXPECT_EQ(j["model"]["type"], "BPE");
    EXPECT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
    EXPECT_EQ(j["decoder"]["type"], "ByteLevel");
    ASSERT_EQ(j["model"]["vocab"].size(), 600u);
    ASSERT_EQ(j["model"]["merges"].size(), v.merges.size());
    // GPT-2's byte-to-unicode: space is 'Ġ' (U+0120), newline 'Ċ' (U+010A), byte 0 is U+0100.
    EXPECT_EQ(j["model"]["vocab"]["\xC4\xA0"], 32);
    EXPECT_EQ(j["model"]["vocab"]["\xC4\x8A"], 10);
    EXPECT_EQ(j["model"]["vocab"]["\xC4\x80"], 0);
    EXPECT_EQ(j["model"]["vocab"]["a"], 'a');
    EXPECT_EQ(j["model"]["vocab"]["\xC4\xA0the"], std::find(v.tokens.begin(), v.tokens.end(), " the") - v.tokens.begin());
    // Every merge "A B" names two vocab entries whose concatenation is the merged token.
    for (size_t r = 0; r < v.merges.size(); ++r) {
        const std::string m = j["model"]["merges"][r];
        const size_t sp = m.find(' ');
        ASSERT_NE(sp, std::string::npos);
        const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
        ASSERT_EQ(j["model"]["vocab"][a], v.merges[r].first);
        ASSERT_EQ(j["model"]["vocab"][b], v.merges[r].second);
        ASSERT_EQ(j["model"]["vocab"][a + b], 256 + static_cast<int>(r));
    }
    EXPECT_EQ(j["added_tokens"][0]["content"], "<|endoftext|>");
    EXPECT_EQ(j["added_tokens"][0]["id"], 599);
}
