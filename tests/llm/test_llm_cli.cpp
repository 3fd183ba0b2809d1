// tern generate / perplexity end to end: greedy output equals the library's
// argmax loop, seeded sampling repeats, and bad input is one line with exit 1
// (bad files, prompt longer than the context) or exit 2 (bad option values).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "llm/forward.h"
#include "llm/llm_test_util.h"

namespace tern::llm::test {
namespace {

using testcli::run_tern;

int llm_cli_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::vector<int32_t> greedy_by_library(const std::string& path, const std::vector<int32_t>& prompt, int n) {
    const auto model = load_model(path);
    Session s(*model, {});
    std::vector<float> logits;
    s.eval(prompt, logits);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
        const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        out.push_back(next);
        if (i + 1 < n) s.eval({&next, 1}, logits);
    }
    return out;
}

TEST(LlmCli, GenerateGreedyMatchesTheLibraryAndStreamsIds) {
    for (const char* name : {"llama_gqa", "gpt2"}) {
        const TinyModel& m = tiny_models().get(name);
        const auto want = greedy_by_library(m.gguf_path, {3, 14, 15, 9}, 12);
        const auto r = run_tern("generate " + m.gguf_path + " --tokens \"3 14 15 9\" -n 12 --temp 0 --ignore-eos --kv f32 --json -t 2");
        ASSERT_EQ(r.code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(), want) << name;
        EXPECT_EQ(j["prompt_tokens"].get<std::vector<int32_t>>(), (std::vector<int32_t>{3, 14, 15, 9}));
        EXPECT_EQ(j["stop"], "length");
        // Streaming form: the same ids, space separated, on stdout; timings on stderr.
        const auto s = run_tern("generate " + m.hf_dir + " --tokens 3,14,15,9 -n 12 --temp 0 --ignore-eos --kv f32 -t 1");
        ASSERT_EQ(s.code, 0) << s.err;
        std::string expect;
        for (size_t i = 0; i < want.size(); ++i) expect += (i ? " " : "") + std::to_string(want[i]);
        EXPECT_EQ(s.out, expect + "\n") << name;
        EXPECT_NE(s.err.find("prefill: 4 tokens"), std::string::npos) << s.err;
    }
}

TEST(LlmCli, SeededSamplingRepeatsAndEosStops) {
    const TinyModel& m = tiny_models().get("qwen2_bias");
    const std::string cmd = "generate " + m.gguf_path + " --tokens \"1 2 3\" -n 20 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --ignore-eos --json";
    const auto a = run_tern(cmd + " --seed 42"), b = run_tern(cmd + " --seed 42"), c = run_tern(cmd + " --seed 43");
    ASSERT_EQ(a.code, 0) << a.err;
    const auto ta = nlohmann::json::parse(a.out)["tokens"], tb = nlohmann::json::parse(b.out)["tokens"];
    EXPECT_EQ(ta, tb);
    EXPECT_NE(ta, nlohmann::json::parse(c.out)["tokens"]);
    EXPECT_EQ(ta.size(), 20u);
    // Without --ignore-eos, generation ends at the first eos (id 2 in the tiny configs) if one is drawn.
    const auto e = nlohmann::json::parse(run_tern("generate " + m.gguf_path + " --tokens \"1 2 3\" -n 20 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --json --seed 42").out);
    const auto toks = e["tokens"].get<std::vector<int32_t>>();
    const auto it = std::find(toks.begin(), toks.end(), 2);
    if (it != toks.end()) {
        EXPECT_EQ(it + 1, toks.end());
        EXPECT_EQ(e["stop"], "eos");
    }
}

TEST(LlmCli, PromptLongerThanTheContextIsOneLineExit1) {
    const TinyModel& m = tiny_models().get("llama_gqa");
    const auto r = run_tern("generate " + m.gguf_path + " --tokens \"1 2 3 4 5 6\" --ctx 4 -n 2");
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(llm_cli_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("more than the context of 4"), std::string::npos) << r.err;
    // Generation stops cleanly when the context fills up.
    const auto f = run_tern("generate " + m.gguf_path + " --tokens \"1 2 3\" --ctx 6 -n 10 --temp 0 --ignore-eos --json");
    ASSERT_EQ(f.code, 0) << f.err;
    const auto j = nlohmann::json::parse(f.out);
    EXPECT_EQ(j["stop"], "context");
    EXPECT_EQ(j["tokens"].size(), 4u);  // 3 prompt + 3 decoded fill 6; the 4th sample needs no slot
}

TEST(LlmCli, BadOptionValuesAreUsageErrors) {
    const TinyModel& m = tiny_models().get("llama_gqa");
    for (const char* opt : {"--temp -1", "--top-p 0", "--top-p 1.5", "--min-p 2", "--repeat-penalty 0", "--top-k -3",
                            "--fpmath fast"}) {
        const auto r = run_tern("generate " + m.gguf_path + " --tokens 1 " + opt);
        EXPECT_EQ(r.code, 2) << opt << ": " << r.err;
        EXPECT_EQ(llm_cli_lines(r.err), 1) << r.err;
    }
    const auto no_prompt = run_tern("generate " + m.gguf_path + " -n 3");
    EXPECT_EQ(no_prompt.code, 2);
    const auto text = run_tern("generate " + m.gguf_path + " -p hello");
    EXPECT_EQ(text.code, 1);  // its GGUF has tokens but no tokenizer.ggml.model: no tokenizer, says so
    EXPECT_NE(text.err.find("tokenizer"), std::string::npos) << text.err;
    const auto ids = run_tern("generate " + m.gguf_path + " --tokens \"1 x 3\"");
    EXPECT_EQ(ids.code, 1);
    const auto oov = run_tern("generate " + m.gguf_path + " --tokens \"1 999\"");
    EXPECT_EQ(oov.code, 1);
    EXPECT_NE(oov.err.find("outside the vocabulary"), std::string::npos) << oov.err;
}

// A copy of the tiny llama GGUF with its metadata or tensors edited.
std::string llm_cli_edited_gguf(const std::string& name, const std::function<void(io::GgufMetadata&, std::vector<NamedTensor>&)>& edit) {
    io::GgufModel g = io::read_gguf(tiny_models().get("llama_gqa").gguf_path);
    io::GgufMetadata md = g.info.metadata;
    std::vector<NamedTensor> ts = g.tensors;
    edit(md, ts);
    const std::string path = tiny_models().dir.file(name);
    io::write_gguf(path, md, ts);
    return path;
}

void expect_one_line_exit1(const std::string& path, const std::string& needle) {
    for (const char* cmd : {"generate ", "perplexity "}) {
        const auto r = run_tern(std::string(cmd) + path + (cmd[0] == 'g' ? " --tokens 1" : " --tokens-file " + path));
        EXPECT_EQ(r.code, 1) << cmd << path << ": " << r.err;
        EXPECT_EQ(llm_cli_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    }
}

TEST(LlmCli, BadFilesAreOneLineExit1) {
    const std::string missing = llm_cli_edited_gguf("missing.gguf", [](auto&, auto& ts) {
        ts.erase(std::remove_if(ts.begin(), ts.end(), [](const NamedTensor& t) { return t.name == "blk.1.ffn_up.weight"; }), ts.end());
    });
    expect_one_line_exit1(missing, "'blk.1.ffn_up.weight' is missing");
    const std::string shape = llm_cli_edited_gguf("shape.gguf", [](auto&, auto& ts) {
        for (auto& t : ts)
            if (t.name == "blk.0.attn_k.weight") t.tensor = Tensor::zeros({16, 64});
    });
    expect_one_line_exit1(shape, "'blk.0.attn_k.weight' has shape [16, 64], expected [32, 64]");
    const std::string arch = llm_cli_edited_gguf("arch.gguf", [](auto& md, auto&) {
        for (auto& [k, v] : md)
            if (k == "general.architecture") v = io::GgufValue::of_string("mamba");
    });
    expect_one_line_exit1(arch, "architecture 'mamba' is not supported");
    EXPECT_NE(run_tern("generate " + arch + " --tokens 1").err.find(arch), std::string::npos);
    const std::string dtype = llm_cli_edited_gguf("dtype.gguf", [](auto&, auto& ts) {
        for (auto& t : ts)
            if (t.name == "blk.0.ffn_gate.weight") t.tensor = Tensor::zeros({96, 64}, DType::i32);
    });
    expect_one_line_exit1(dtype, "'blk.0.ffn_gate.weight' has dtype i32");

    // HF: unknown architecture in config.json, and a wrong shape named by its HF name.
    const std::string hf = tiny_models().dir.file("hf_bad");
    std::filesystem::create_directories(hf);
    std::filesystem::copy_file(tiny_models().get("llama_gqa").hf_dir + "/model.safetensors", hf + "/model.safetensors");
    std::ofstream(hf + "/config.json") << R"({"architectures": ["FalconForCausalLM"], "vocab_size": 10})";
    expect_one_line_exit1(hf, "architecture 'FalconForCausalLM' is not supported");
    auto cfg = hf_config(tiny_models().get("llama_gqa").spec);
    cfg["num_key_value_heads"] = 4;  // the file's k_proj has 2 kv heads
    std::ofstream(hf + "/config.json") << cfg.dump();
    expect_one_line_exit1(hf, "'model.layers.0.self_attn.k_proj.weight' has shape [32, 64], expected [64, 64]");
}

}  // namespace
}  // namespace tern::llm::test
