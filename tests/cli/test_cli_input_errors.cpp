// Bad input is reported as what it is, naming the file: an empty or foreign
// model file (not "config.json is missing"), a directory given as a file, a
// context that would not fit memory, text data for a classifier and images for
// a language model. Also: a chat line too long for the context is skipped, and
// quantizing a trained classifier to safetensors keeps what eval needs.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/safetensors.h"

namespace {

using tern::testcli::run_tern;
using tern::testcli::run_tern_stdin;

int cli_input_errors_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string kTinyLm = std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf";
const std::string kLenet5 = std::string(TERN_SOURCE_DIR) + "/models/fmnist-lenet5.safetensors";

void cli_input_errors_write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(CliInputErrors, EmptyOrForeignModelFileIsNamedAsSuch) {
    tern::testio::TempDir dir;
    const std::string empty = dir.file("empty.gguf"), foreign = dir.file("notes.safetensors"), ids = dir.file("ids.txt");
    cli_input_errors_write_file(empty, "");
    cli_input_errors_write_file(foreign, "hello world, this is not a model");
    cli_input_errors_write_file(ids, "1 2 3 4 5 6 7 8");
    for (const auto& [path, problem] : {std::pair{empty, std::string("is empty")},
                                        std::pair{foreign, std::string("not a GGUF or safetensors file (starts with \"hello wo\")")}}) {
        for (const std::string& cmd : {"generate " + path + " --tokens 1", "perplexity " + path + " --tokens-file " + ids,
                                       "eval " + path, "bench " + path + " --prompt 4 --gen 2 --reps 1",
                                       "formats " + path, "info " + path,
                                       "quantize " + path + " -o " + dir.file("q.gguf") + " --format q8_0"}) {
            const tern::testcli::RunResult r = run_tern(cmd);
            EXPECT_EQ(r.code, 1) << cmd << ": " << r.err;
            EXPECT_EQ(cli_input_errors_lines(r.err), 1) << cmd << ": " << r.err;
            EXPECT_TRUE(has(r.err, "[" + path + "] " + problem)) << cmd << ": " << r.err;
            EXPECT_FALSE(has(r.err, "config.json")) << cmd << ": " << r.err;
        }
    }
}

TEST(CliInputErrors, TensorLevelErrorsNameTheFile) {
    // tinylm with a 1-D output weight: the linear-weight check names the tensor; the file comes first.
    tern::testio::TempDir dir;
    tern::io::GgufModel g = tern::io::read_gguf(kTinyLm);
    std::vector<tern::NamedTensor> ts = g.tensors;
    for (auto& t : ts)
        if (t.name == "output.weight" || t.name == "blk.0.attn_q.weight") t.tensor = tern::Tensor::zeros({t.tensor.numel()});
    const std::string path = dir.file("flat.gguf");
    tern::io::write_gguf(path, g.info.metadata, ts);
    const tern::testcli::RunResult r = run_tern("generate " + path + " --tokens 1");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(cli_input_errors_lines(r.err), 1) << r.err;
    EXPECT_TRUE(has(r.err, "tern: [" + path + "] tensor '")) << r.err;
    // A NaN weight: quantize's per-tensor refusal names the file too.
    for (auto& t : ts)
        if (t.name == "blk.0.attn_q.weight") {
            t.tensor = tern::Tensor::zeros({64, 256});
            t.tensor.data<float>()[5] = std::nanf("");
        }
    const std::string rows = dir.file("rows.gguf");
    tern::io::write_gguf(rows, g.info.metadata, ts);
    const tern::testcli::RunResult q = run_tern("quantize " + rows + " -o " + dir.file("q.gguf") + " --format q4_0");
    EXPECT_EQ(q.code, 1) << q.err;
    EXPECT_EQ(cli_input_errors_lines(q.err), 1) << q.err;
    EXPECT_TRUE(has(q.err, "tern: [" + rows + "] tensor 'blk.0.attn_q.weight'")) << q.err;
}

TEST(CliInputErrors, DirectoryGivenAsAFileIsNamed) {
    tern::testio::TempDir dir;
    const std::string d = dir.path();
    for (const std::string& cmd : {"generate " + kTinyLm + " --tokens-file " + d, "perplexity " + kTinyLm + " --text " + d,
                                   "perplexity " + kTinyLm + " --tokens-file " + d, "eval " + kTinyLm + " --data " + d,
                                   "train " + d, "tokenize --tokenizer " + kTinyLm + ".tokenizer.json --file " + d}) {
        const tern::testcli::RunResult r = run_tern(cmd);
        EXPECT_EQ(r.code, 1) << cmd << ": " << r.err;
        EXPECT_EQ(cli_input_errors_lines(r.err), 1) << cmd << ": " << r.err;
        EXPECT_TRUE(has(r.err, "[" + d + "] is a directory")) << cmd << ": " << r.err;
        EXPECT_FALSE(has(r.err, "internal error")) << cmd << ": " << r.err;
    }
}

// AddressSanitizer builds: GCC defines __SANITIZE_ADDRESS__, clang 14 only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define TERN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TERN_TEST_ASAN 1
#endif
#endif

// tern under `ulimit -v kib`, so that "more than this process can use" is reachable with a small model.
tern::testcli::RunResult run_tern_under_ulimit(long kib, const std::string& args) {
    return tern::testcli::run_tern_with_prefix("ulimit -v " + std::to_string(kib) + " && exec", args);
}

TEST(CliInputErrors, ContextPastTrainingWarnsAndPastMemoryIsRefused) {
    // tinylm was trained on 256 tokens: a longer context runs, with a warning.
    const tern::testcli::RunResult longer = run_tern("generate " + kTinyLm + " --tokens 1 -n 2 --temp 0 --ctx 600");
    EXPECT_EQ(longer.code, 0) << longer.err;
    EXPECT_TRUE(has(longer.err, "warning: --ctx 600 is longer than the 256 tokens")) << longer.err;
#if defined(TERN_TEST_ASAN)
    // AddressSanitizer reserves terabytes of shadow address space at start-up, so no
    // ASan-built tern runs under `ulimit -v`; the release suite covers the refusal.
    return;
#endif
    // The largest context allowed, in 512 MiB of address space: its KV cache cannot fit, so it is
    // refused before allocating, exit 2, with the bytes it would take.
    const tern::testcli::RunResult huge = run_tern_under_ulimit(512 * 1024, "generate " + kTinyLm + " --tokens 1 -n 2 -t 1 --ctx 1048576");
    EXPECT_EQ(huge.code, 2) << huge.err;
    EXPECT_EQ(cli_input_errors_lines(huge.err), 1) << huge.err;
    EXPECT_TRUE(has(huge.err, "[--ctx] a context of 1048576 tokens needs")) << huge.err;
    EXPECT_TRUE(has(huge.err, "bytes")) << huge.err;
    const tern::testcli::RunResult ppl = run_tern_under_ulimit(512 * 1024, "perplexity " + kTinyLm + " --tokens-file /dev/null -t 1 --ctx 1048576");
    EXPECT_EQ(ppl.code, 2) << ppl.err;
    EXPECT_TRUE(has(ppl.err, "[--ctx] a context of 1048576 tokens needs")) << ppl.err;
}

TEST(CliInputErrors, EvalRefusesDataOfTheWrongKind) {
    const tern::testcli::RunResult lm = run_tern("eval " + kTinyLm + " --data fashion-mnist");
    EXPECT_EQ(lm.code, 2) << lm.err;
    EXPECT_EQ(cli_input_errors_lines(lm.err), 1) << lm.err;
    EXPECT_TRUE(has(lm.err, "[--data] a language model needs text data")) << lm.err;
    const tern::testcli::RunResult classifier = run_tern("eval " + kLenet5 + " --data text:test");
    EXPECT_EQ(classifier.code, 2) << classifier.err;
    EXPECT_TRUE(has(classifier.err, "[--data] a classifier needs image data")) << classifier.err;
}

TEST(CliInputErrors, QuantizedClassifierKeepsItsMetadataAndEvaluates) {
    tern::testio::TempDir dir;
    const std::string out = dir.file("lenet5-f16.safetensors");
    const tern::testcli::RunResult q = run_tern("quantize " + kLenet5 + " -o " + out + " --format f16");
    ASSERT_EQ(q.code, 0) << q.err;
    const auto f = tern::io::read_safetensors(out);
    const auto& md = f.infos.at(0).metadata;
    auto value = [&](const std::string& key) {
        for (const auto& [k, v] : md)
            if (k == key) return v;
        return std::string();
    };
    EXPECT_EQ(value("tern.model"), "lenet5");
    EXPECT_EQ(value("quantized_by"), "tern quantize --format f16");
    const tern::testcli::RunResult e = run_tern("eval " + out + " --json");
    ASSERT_EQ(e.code, 0) << e.err;
    const auto j = nlohmann::json::parse(e.out);
    EXPECT_GT(j["accuracy"].get<double>(), 0.8);
}

}  // namespace
