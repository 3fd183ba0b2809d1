// `tern info MODEL`: the table on success, --json, and one line naming the file
// on bad input (exit 1). Files live in a private mkdtemp folder.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "ggml_gguf_writer.h"
#include "io_test_util.h"
#include "cli/cli_runner.h"
#include "ref/reference.h"

namespace tern {
namespace {


testcli::RunResult run_tern(const std::string& args, const testio::TempDir&) { return testcli::run_tern(args); }

std::string write_small_gguf(const testio::TempDir& dir) {
    const std::string path = dir.file("tiny.gguf");
    io::write_gguf(path,
                   {{"general.architecture", io::GgufValue::of_string("llama")},
                    {"tokenizer.ggml.tokens", io::GgufValue::of_strings(std::vector<std::string>(32000, "t"))}},
                   {{"token_embd.weight", Tensor::zeros({4, 32}, DType::q8_0)},
                    {"output_norm.weight", Tensor::zeros({32}, DType::f32)}});
    return path;
}

TEST(InfoCli, GgufTable) {
    testio::TempDir dir;
    const std::string path = write_small_gguf(dir);
    const auto r = run_tern("info " + path, dir);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("gguf v3"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("architecture  llama"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[32000 strings]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("token_embd.weight"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[4, 32]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("q8_0"), std::string::npos) << r.out;
    const auto quiet = run_tern("info --no-tensors " + path, dir);
    EXPECT_EQ(quiet.code, 0);
    EXPECT_EQ(quiet.out.find("output_norm.weight"), std::string::npos) << quiet.out;
}

TEST(InfoCli, GgufJson) {
    testio::TempDir dir;
    const std::string path = write_small_gguf(dir);
    const auto r = run_tern("info --json " + path, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["container"], "gguf v3");
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["parameters"], 4 * 32 + 32);
    EXPECT_EQ(j["tensor_bytes"], 4 * 34 + 32 * 4);
    ASSERT_EQ(j["tensors"].size(), 2u);
    EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
    EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({4, 32}));
    EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"], "[32000 strings]");
}

TEST(InfoCli, SafetensorsDetectedByContentNotExtension) {
    testio::TempDir dir;
    const std::string path = dir.file("weights.bin");  // no .safetensors extension on purpose
    io::write_safetensors(path, {{"w", Tensor::zeros({2, 3}, DType::bf16)}}, {{"format", "pt"}});
    const auto r = run_tern("info --json " + path, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["container"], "safetensors");
    EXPECT_EQ(j["tensors"][0]["dtype"], "bf16");
    EXPECT_EQ(j["metadata"]["format"], "pt");
}

TEST(InfoCli, TruncatedFileExitsOneWithOneLine) {
    testio::TempDir dir;
    const std::string path = write_small_gguf(dir);
    auto bytes = testio::read_bytes(path);
    bytes.resize(bytes.size() / 2);
    const std::string cut = dir.file("truncated.gguf");
    testio::write_bytes(cut, bytes);
    const auto r = run_tern("info " + cut, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(cut), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(InfoCli, LlamaCppWrittenGguf) {
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    testio::TempDir dir;
    const std::string path = dir.file("llama-written.gguf");
    testio::LlamaFileContents written;
    ASSERT_TRUE(testio::write_gguf_with_llama_cpp(path, &written));
    const auto r = run_tern("info " + path, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture  llama"), std::string::npos);
    for (const auto& t : written.tensors) EXPECT_NE(r.out.find(t.name), std::string::npos) << t.name;
    if (std::getenv("TERN_TEST_SHOW_INFO")) std::fputs(r.out.c_str(), stdout);
}

}  // namespace
}  // namespace tern
