// Tokenizer units: the split matchers on hand-derived cases, NFC against
// Python's unicodedata, special tokens, the GGUF-metadata path, and bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "io/pretokenizer.h"
#include "io/tokenizer_internal.h"
#include "io/unicode_text.h"
#include "tokenizer_ref_check.h"
#include "ref/reference.h"

namespace tern {
namespace {

std::vector<std::string> split(std::string_view text, SplitPattern p) {
    std::vector<std::string_view> pieces;
    split_pretokens(text, p, pieces);
    return {pieces.begin(), pieces.end()};
}
using V = std::vector<std::string>;

TEST(Pretokenizer, Gpt2Pattern) {
    const auto g = SplitPattern::gpt2;
    EXPECT_EQ(split("", g), V{});
    EXPECT_EQ(split("Hello world", g), (V{"Hello", " world"}));
    EXPECT_EQ(split("  x", g), (V{" ", " x"}));          // \s+(?!\S) leaves the last space to " x"
    EXPECT_EQ(split("a\n\nb", g), (V{"a", "\n", "\n", "b"}));
    EXPECT_EQ(split("x   ", g), (V{"x", "   "}));         // a run at the end stays whole
    EXPECT_EQ(split("it's IT'S", g), (V{"it", "'s", " IT", "'", "S"}));  // case-sensitive contractions
    EXPECT_EQ(split("12345 ab1", g), (V{"12345", " ab", "1"}));
    EXPECT_EQ(split("hi!!! ?", g), (V{"hi", "!!!", " ?"}));
}

TEST(Pretokenizer, Llama3Pattern) {
    const auto l = SplitPattern::llama3;
    EXPECT_EQ(split("a\n\nb", l), (V{"a", "\n\n", "b"}));
    EXPECT_EQ(split("12345", l), (V{"123", "45"}));      // \p{N}{1,3}
    EXPECT_EQ(split("it's IT'S We'Re", l), (V{"it", "'s", " IT", "'S", " We", "'Re"}));
    EXPECT_EQ(split("(word", l), (V{"(word"}));          // one non-letter may lead a word
    EXPECT_EQ(split("end.\n\nNext", l), (V{"end", ".\n\n", "Next"}));
    EXPECT_EQ(split("  123", l), (V{" ", " ", "123"}));
    EXPECT_EQ(split(" \n word", l), (V{" \n", " word"}));
    EXPECT_EQ(split("x\ty", l), (V{"x", "\ty"}));
    EXPECT_EQ(split("12345", SplitPattern::qwen2), (V{"1", "2", "3", "4", "5"}));
}

TEST(Pretokenizer, WhiteSpaceIsTheUnicodeProperty) {
    // \s is Unicode White_Space (Oniguruma's and Rust regex's \s, what HF
    // tokenizers run): U+0085 is whitespace, U+FEFF is not. JavaScript's \s is
    // the other way round for these two, so the JS references differ here.
    const auto l = SplitPattern::llama3;
    EXPECT_EQ(split("a  \xEF\xBB\xBF" "b", l), (V{"a", " ", " \xEF\xBB\xBF", "b"}));
    EXPECT_EQ(split("a \xC2\x85 b", l), (V{"a", " \xC2\x85", " b"}));
    EXPECT_EQ(unicode::classify(0x85), unicode::CpClass::space);
    EXPECT_EQ(unicode::classify(0xFEFF), unicode::CpClass::other);
    EXPECT_EQ(unicode::classify(0x3000), unicode::CpClass::space);
    EXPECT_EQ(unicode::classify(0x4F60), unicode::CpClass::letter);  // 你
    EXPECT_EQ(unicode::classify(0x2460), unicode::CpClass::number);  // ①
}

TEST(Pretokenizer, PiecesCoverAnyBytes) {
    std::mt19937 rng(7);
    const char alphabet[] = "ab 1\n\r\t'sS.!\xC3\xA9\xE4\xBD\xA0\xFF\x80";
    for (int trial = 0; trial < 500; ++trial) {
        std::string text;
        const int n = rng() % 40;
        for (int i = 0; i < n; ++i) text.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
        for (SplitPattern p : {SplitPattern::gpt2, SplitPattern::llama3, SplitPattern::qwen2}) {
            std::string joined;
            for (const auto& piece : split(text, p)) {
                EXPECT_FALSE(piece.empty());
                joined += piece;
            }
            EXPECT_EQ(joined, text);
        }
    }
}

TEST(Unicode, NfcHandCases) {
    EXPECT_EQ(unicode::nfc("e\xCC\x81"), "\xC3\xA9");                      // e + acute -> é
    EXPECT_EQ(unicode::nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");      // Hangul L + V -> 가
    EXPECT_EQ(unicode::nfc("\xE2\x84\xAB"), "\xC3\x85");                      // Angstrom sign -> Å
    EXPECT_EQ(unicode::nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");         // reordered by class
    EXPECT_EQ(unicode::nfc("plain ascii"), "plain ascii");
    EXPECT_EQ(unicode::nfc("bad \xFF byte \xCC"), "bad \xFF byte \xCC");      // invalid bytes pass through
}

TEST(Unicode, NfcMatchesPython) {
    TERN_REQUIRE_REFERENCE(testref::python_module_reference("unicodedata", "the NFC reference needs Debian's python3"));
    // Random strings over characters that decompose, compose or reorder.
    const std::vector<uint32_t> pool = {'a', 'e', 'o', 'A', 'q', 0xC5, 0xE9, 0x1E0D, 0x300, 0x301, 0x307, 0x308,
                                        0x323, 0x328, 0x345, 0x3B1, 0x1F00, 0x212B, 0x1100, 0x1161, 0x11A8, 0xAC00,
                                        0x0958, 0x0915, 0x093C, 0x0F73, 0x1D15E, 0x2ADC, 0x0344, 0x0CCB, 0x0CD5};
    std::mt19937 rng(11);
    std::vector<std::string> texts;
    for (int t = 0; t < 2000; ++t) {
        std::string s;
        for (int i = rng() % 8; i >= 0; --i) unicode::append_utf8(s, pool[rng() % pool.size()]);
        texts.push_back(s);
    }
    const std::string tmp = ::testing::TempDir() + "tern_nfc_in.json";
    std::ofstream(tmp) << nlohmann::json(texts).dump();
    int rc = 0;
    const std::string out = testref::run_capture(
        "/usr/bin/python3 -c 'import json,sys,unicodedata as u; print(json.dumps([u.normalize(\"NFC\",s) for s in "
        "json.load(open(sys.argv[1]))]))' " + tmp, rc);
    ASSERT_EQ(rc, 0);
    const auto want = nlohmann::json::parse(out).get<std::vector<std::string>>();
    ASSERT_EQ(want.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(unicode::nfc(texts[i]), want[i]) << "case " << i;
}

// A minimal byte-level tokenizer.json written by the test: 256 byte tokens,
// "ab" via one merge, and one special token.
nlohmann::json tiny_tokenizer_json() {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_to_unicode_utf8(uint8_t(b))] = b;
    vocab["ab"] = 256;
    nlohmann::json j;
    j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}};
    j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
    j["added_tokens"] = {{{"id", 257}, {"content", "<|end|>"}, {"special", true}}};
    return j;
}

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string tokenizer_load_error(const std::string& path) {
    try {
        load_tokenizer_json(path);
    } catch (const InputError& e) {
        return e.what();
    }
    return "no InputError";
}

TEST(TokenizerJson, TinyFileEncodesAndDecodes) {
    const std::string path = write_temp("tern_tiny_tokenizer.json", tiny_tokenizer_json().dump());
    const auto tok = load_tokenizer_json(path);
    EXPECT_EQ(tok->vocab_size(), 258u);
    EXPECT_EQ(tok->encode("abc<|end|>ab"), (std::vector<int32_t>{256, 'c', 257, 256}));
    EXPECT_EQ(tok->encode("ab<|end|>", false, false).size(), 8u);  // plain text when not parsing specials
    EXPECT_EQ(tok->decode(std::vector<int32_t>{256, 257}), "ab<|end|>");
    EXPECT_EQ(tok->decode(std::vector<int32_t>{256, 257}, true), "ab");
    EXPECT_EQ(tok->token_to_piece(32), " ");  // byte 0x20 is stored as "Ġ"
    EXPECT_THROW(tok->decode(std::vector<int32_t>{999}), InputError);
}

TEST(TokenizerJson, BadInputIsOneInputErrorNamingTheFile) {
    const std::string missing = ::testing::TempDir() + "no_such_dir/tokenizer.json";
    EXPECT_NE(tokenizer_load_error(missing).find(missing), std::string::npos);

    const std::string corrupt = write_temp("tern_corrupt.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    EXPECT_NE(tokenizer_load_error(corrupt).find("not valid JSON"), std::string::npos);
    EXPECT_NE(tokenizer_load_error(corrupt).find(corrupt), std::string::npos);

    nlohmann::json j = tiny_tokenizer_json();
    j["model"]["type"] = "WordPiece";
    EXPECT_NE(tokenizer_load_error(write_temp("tern_wp.json", j.dump())).find("model type 'WordPiece' is not supported"),
              std::string::npos);

    j = tiny_tokenizer_json();
    j["model"]["merges"] = {"a b", "ab zz"};
    const std::string bad_merge = write_temp("tern_bad_merge.json", j.dump());
    EXPECT_NE(tokenizer_load_error(bad_merge).find("merge 1 'ab zz' references unknown token 'zz'"), std::string::npos)
        << tokenizer_load_error(bad_merge);
    EXPECT_NE(tokenizer_load_error(bad_merge).find(bad_merge), std::string::npos);

    j = tiny_tokenizer_json();
    j["pre_tokenizer"] = {{"type", "Whitespace"}};
    EXPECT_NE(tokenizer_load_error(write_temp("tern_ws.json", j.dump())).find("not supported"), std::string::npos);

    j = tiny_tokenizer_json();
    j["model"].erase("merges");
    EXPECT_NE(tokenizer_load_error(write_temp("tern_nomerges.json", j.dump())).find("model.merges"), std::string::npos);

    // An id far past the entry count would size the dense token table in gigabytes
    // (fuzz_tokenizer_json's out-of-memory input): refused before any allocation.
    j = tiny_tokenizer_json();
    j["added_tokens"] = {{{"id", 1000000000}, {"content", "<|huge|>"}, {"special", true}}};
    const std::string huge_id = write_temp("tern_huge_id.json", j.dump());
    EXPECT_NE(tokenizer_load_error(huge_id).find("far past"), std::string::npos) << tokenizer_load_error(huge_id);
    EXPECT_NE(tokenizer_load_error(huge_id).find(huge_id), std::string::npos);

    EXPECT_THROW(load_tokenizer(::testing::TempDir()), InputError);  // a directory with no tokenizer files

    // The same bound for GPT-2's encoder.json.
    const std::string enc = write_temp("tern_huge_encoder.json", "{\"a\": 0, \"b\": 1000000000}");
    const std::string bpe = write_temp("tern_huge_vocab.bpe", "#version: 0.2\n");
    try {
        load_gpt2_bpe(enc, bpe);
        ADD_FAILURE() << "no error for a huge id";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("far past"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(enc), std::string::npos) << e.what();
    }
}

TEST(TokenizerJson, ParsesFromMemoryLikeFromAFile) {
    const std::string text = tiny_tokenizer_json().dump();
    const auto from_memory = parse_tokenizer_json(text, "mem.json");
    const auto from_file = load_tokenizer_json(write_temp("tern_tiny_mem.json", text));
    for (const char* s : {"abc<|end|>ab", "x y z", ""})
        EXPECT_EQ(from_memory->encode(s, true), from_file->encode(s, true)) << s;
    try {
        parse_tokenizer_json("{\"model\": 3", "mem.json");
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("mem.json"), std::string::npos) << e.what();
    }
}

TEST(TokenizerJson, MergesAsPairs) {
    nlohmann::json j = tiny_tokenizer_json();
    j["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"})});
    const auto tok = load_tokenizer_json(write_temp("tern_pairs.json", j.dump()));
    EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{256}));
}

TEST(TokenizerGguf, BadMetadata) {
    GgufTokenizerMetadata m;
    m.where = "model.gguf";
    m.model = "bert";
    m.tokens = {"a"};
    try {
        tokenizer_from_gguf_metadata(m);
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[model.gguf] tokenizer.ggml.model 'bert'"), std::string::npos);
    }
    m.model = "gpt2";
    m.pre = "deepseek-coder";
    EXPECT_THROW(tokenizer_from_gguf_metadata(m), InputError);
    m.tokens.clear();
    EXPECT_THROW(tokenizer_from_gguf_metadata(m), InputError);
}

// The GGUF path (model "gpt2", pre "llama-bpe") built from the same vocabulary
// must encode exactly like the tokenizer.json it came from.
TEST(TokenizerGguf, Llama3MetadataMatchesTokenizerJson) {
    const std::string path = testref::model_path("llama3");
    const std::string text_path = testref::sotu_dir() + "/1790_george_washington_n.txt";
    if (!std::filesystem::exists(path) || !std::filesystem::exists(text_path))
        TERN_MISSING_REFERENCE() << path << " is missing (run scripts/setup.sh)";
    const auto j = nlohmann::json::parse(testref::slurp(path));
    GgufTokenizerMetadata m;
    m.model = "gpt2";
    m.pre = "llama-bpe";
    m.tokens.resize(128256);
    m.token_type.assign(128256, 1);
    for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
        m.tokens[it.value().get<size_t>()] = it.key();
    for (const auto& t : j["added_tokens"]) {
        m.tokens[t["id"].get<size_t>()] = t["content"].get<std::string>();
        m.token_type[t["id"].get<size_t>()] = 3;
    }
    for (const auto& merge : j["model"]["merges"]) m.merges.push_back(merge.get<std::string>());
    m.bos_id = 128000;
    m.eos_id = 128009;
    m.add_bos = true;
    const auto from_gguf = tokenizer_from_gguf_metadata(m);
    const Tokenizer& from_json = testref::shared_tokenizer("llama3");
    const std::string text = testref::slurp(text_path) + " <|eot_id|>";
    const auto ids = from_gguf->encode(text, true);
    ASSERT_EQ(ids.front(), 128000);
    EXPECT_EQ(ids.back(), 128009);
    EXPECT_EQ(std::vector<int32_t>(ids.begin() + 1, ids.end()), from_json.encode(text));
    EXPECT_EQ(from_gguf->decode(ids, true), text.substr(0, text.size() - 10));
}

TEST(TokenizerSpecials, FromTokenizerConfig) {
    const std::string path = testref::model_path("qwen3");
    if (!std::filesystem::exists(path)) TERN_MISSING_REFERENCE() << path << " is missing (run scripts/setup.sh)";
    const Tokenizer* tok = &testref::shared_tokenizer("qwen3");
    EXPECT_EQ(tok->special_ids().eos, 151645);  // <|im_end|>
    EXPECT_EQ(tok->special_ids().pad, 151643);  // <|endoftext|>
    EXPECT_EQ(tok->special_ids().bos, -1);
    EXPECT_TRUE(tok->prefix_ids().empty());
    EXPECT_EQ(tok->token_type(151644), TokenType::control);
    EXPECT_EQ(tok->encode("<|im_start|>user"), (std::vector<int32_t>{151644, 872}));
}

}  // namespace
}  // namespace tern
