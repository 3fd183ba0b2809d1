// One end-to-end check per command that had none: each runs the built `tern`
// on the committed tiny model (or a recipe written here) and checks what it
// printed, not just its exit status.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "io/text_corpus.h"
#include "nn/train/lm_trainer.h"
#include "nn/train/recipe.h"
#include "ref/reference.h"

namespace {

using tern::testcli::run_tern;
using Json = nlohmann::json;

std::string source_path(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }
std::string cli_commands_tinylm() { return source_path("models/tinylm.gguf"); }

Json parse_json(const tern::testcli::RunResult& r) {
    try {
        return Json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
        return Json::object();
    }
}

TEST(CliCommands, TokenizeEncodesAndDecodesBack) {
    const std::string tok = cli_commands_tinylm() + ".tokenizer.json";
    const auto enc = run_tern("tokenize --tokenizer " + tok + " --text 'Hello world, the union.' --json");
    ASSERT_EQ(enc.code, 0) << enc.err;
    const Json j = parse_json(enc);
    // The committed tokenizer's ids for this text (byte-level BPE, 4096 tokens).
    EXPECT_EQ(j["ids"], Json({72, 615, 111, 740, 44, 260, 480, 287, 46}));
    EXPECT_EQ(j["tokens"][3], "Ġworld");
    EXPECT_EQ(j["count"], 9);
    EXPECT_EQ(j["round_trip"], true);
    const auto dec = run_tern("tokenize --tokenizer " + tok + " --decode --text '72 615 111 740 44 260 480 287 46'");
    ASSERT_EQ(dec.code, 0) << dec.err;
    EXPECT_EQ(dec.out, "Hello world, the union.\n");
}

TEST(CliCommands, SynthWritesTheShapeAndTypeAsked) {
    tern::testio::TempDir dir;
    const std::string out = dir.file("synth.gguf");
    const auto r = run_tern("synth --shape llama-tiny --type q8_0 --seed 7 -o " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("llama-tiny"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("q8_0"), std::string::npos) << r.out;
    const auto info = run_tern("info " + out + " --json");
    ASSERT_EQ(info.code, 0) << info.err;
    const std::string text = info.out;
    EXPECT_NE(text.find("\"llama\""), std::string::npos) << text;
    EXPECT_NE(text.find("q8_0"), std::string::npos) << text;
    // The file generates text: the runtime accepts it end to end.
    const auto gen = run_tern("generate " + out + " --tokens '1 2 3' -n 4 --temp 0 --json");
    ASSERT_EQ(gen.code, 0) << gen.err;
    EXPECT_EQ(parse_json(gen)["tokens"].size(), 4u);
}

TEST(CliCommands, FormatsOnAModelTensorTable) {
    const auto r = run_tern("formats " + cli_commands_tinylm() + " --max-elements 4096 --format q8_0 --format q4_0 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string& t = r.out;
    EXPECT_NE(t.find("token_embd.weight"), std::string::npos);
    EXPECT_NE(t.find("blk.0.attn_q.weight"), std::string::npos);
    EXPECT_NE(t.find("\"q8_0\""), std::string::npos);
    EXPECT_NE(t.find("\"q4_0\""), std::string::npos);
    EXPECT_EQ(t.find("\"q4_k\""), std::string::npos) << "--format limits the table";
    const auto text = run_tern("formats " + cli_commands_tinylm() + " --max-elements 4096 --format q8_0");
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("sqnr_db"), std::string::npos) << text.out;
}

TEST(CliCommands, EvalLanguageModelOnTheTestSplit) {
    TERN_REQUIRE_REFERENCE(tern::testref::file_reference(cli_commands_tinylm()));
    const auto r = run_tern("eval " + cli_commands_tinylm() + " --data text:test --chunks 2 -c 64 --json");
    if (r.code != 0 && r.err.find("not installed") != std::string::npos) TERN_MISSING_REFERENCE() << r.err;
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parse_json(r);
    EXPECT_EQ(j["windows"], 2);
    EXPECT_EQ(j["ctx"], 64);
    EXPECT_EQ(j["tokens"], 128);
    // The committed model scores ~37 on the whole split; two windows land near it.
    const double ppl = j.value("ppl", 0.0);
    EXPECT_GT(ppl, 10.0);
    EXPECT_LT(ppl, 100.0);
}

TEST(CliCommands, PerplexityChunksLimitTheWindows) {
    tern::testio::TempDir dir;
    const std::string text_path = dir.file("text.txt");
    {
        std::ofstream f(text_path);
        for (int i = 0; i < 20; ++i)
            f << "The state of the Union is strong, and the people of the nation are hopeful for the year ahead. ";
    }
    const auto r = run_tern("perplexity " + cli_commands_tinylm() + " --text " + text_path + " -c 32 --chunks 2 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parse_json(r);
    EXPECT_EQ(j["windows"], 2);
    EXPECT_EQ(j["tokens"], 64);
    EXPECT_GT(j.value("input_tokens", 0), 64) << "the text is longer than the two windows scored";
    const double ppl = j.value("ppl", 0.0), nll = j.value("mean_nll", 0.0);
    EXPECT_NEAR(ppl, std::exp(nll), 1e-9 * ppl);
    EXPECT_GT(ppl, 1.0);
    EXPECT_LT(ppl, 50.0) << "repeated English should be easy for the model (uniform would be 4096)";
    const auto one = run_tern("perplexity " + cli_commands_tinylm() + " --text " + text_path + " -c 32 --chunks 1 --json");
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(parse_json(one)["windows"], 1);
}

// A tiny language-model recipe: one small source, a few thousand tokens, one layer.
std::string write_lm_recipe(const tern::testio::TempDir& dir, int epochs) {
    const std::string path = dir.file("lm_recipe.json");
    std::ofstream(path) << R"({"model": "llama", "data": "text", "epochs": )" << epochs << R"(, "batch_size": 4,
      "optimizer": {"name": "adamw", "lr": 0.003, "grad_clip": 1.0},
      "lm": {"vocab_size": 300, "dim": 16, "layers": 1, "heads": 2, "kv_heads": 1, "ffn": 32, "context": 16,
             "train_tokens": 2000, "eval_tokens": 1000, "sources": ["moby-dick"]},
      "seed": 3, "output": ")" << dir.file("lm.gguf") << R"("})";
    return path;
}

bool moby_installed() {
    tern::TextCorpusOptions o;
    o.sotu = o.gutenberg = o.austen = false;
    return tern::load_text_corpus(o).missing_sources.empty();
}

TEST(CliCommands, TrainLanguageModelRecipeWritesAWorkingModel) {
    if (!moby_installed()) TERN_MISSING_REFERENCE() << "moby-dick text not installed (run scripts/setup.sh)";
    tern::testio::TempDir dir;
    const std::string recipe = write_lm_recipe(dir, 1);
    const auto r = run_tern("train " + recipe + " --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parse_json(r);
    EXPECT_EQ(j["epochs"], 1);
    ASSERT_EQ(j["history"].size(), 1u);
    // 300-token vocabulary: one epoch must already beat the uniform guess (ppl 300).
    const double val_ppl = j.value("val_ppl", 1e9);
    EXPECT_LT(val_ppl, 300.0);
    EXPECT_GT(val_ppl, 1.0);
    EXPECT_TRUE(std::filesystem::exists(dir.file("lm.gguf")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("lm.gguf.tokenizer.json")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("lm.gguf.metrics.csv")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("lm.gguf.resume.safetensors"))) << "a finished run leaves no checkpoint";
    // The written model is a language model the runtime evaluates.
    const auto info = run_tern("info " + dir.file("lm.gguf"));
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("llama"), std::string::npos) << info.out;
}

TEST(CliCommands, TrainResumeContinuesTheUninterruptedRun) {
    if (!moby_installed()) TERN_MISSING_REFERENCE() << "moby-dick text not installed (run scripts/setup.sh)";
    tern::testio::TempDir dir;
    const std::string recipe = write_lm_recipe(dir, 2);
    const auto full = run_tern("train " + recipe + " --json");
    ASSERT_EQ(full.code, 0) << full.err;
    const Json want = parse_json(full);
    ASSERT_EQ(want["history"].size(), 2u);

    // The checkpoint an interrupted run leaves after its first epoch, made
    // through the library with the same recipe and corpus.
    const tern::nn::train::Recipe r = tern::nn::train::load_recipe(recipe);
    auto corpus = std::make_shared<tern::nn::train::LmCorpus>(tern::nn::train::prepare_lm_corpus(r));
    tern::nn::train::LmTrainer first(r, corpus);
    first.train_epoch();
    const std::string checkpoint = dir.file("after_epoch1.resume.safetensors");
    first.save_resume(checkpoint);

    const auto resumed = run_tern("train " + recipe + " --resume " + checkpoint + " --json");
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("resumed from " + checkpoint + " after epoch 1"), std::string::npos) << "the log says it resumed:\n" << resumed.err;
    const Json got = parse_json(resumed);
    ASSERT_EQ(got["history"].size(), 2u);
    EXPECT_EQ(got["history"][0]["val_loss"], want["history"][0]["val_loss"]);
    EXPECT_EQ(got["history"][1]["train_loss"], want["history"][1]["train_loss"]);
    EXPECT_EQ(got["history"][1]["val_loss"], want["history"][1]["val_loss"]);
    EXPECT_EQ(got["test_ppl"], want["test_ppl"]);
}

}  // namespace
