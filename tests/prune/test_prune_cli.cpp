// `tern prune` on the embedded tinylm: magnitude at 50 % reaches its sparsity
// in every block Linear, leaves the embedding alone and the output loads and
// runs; and the refusals: one line, the right exit code, nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "core/tensor.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "quant/quant_cli_util.h"
#include "ref/reference.h"

namespace tern {
namespace {

using quanttest::tinylm;

TEST(PruneCli, MagnitudeHalvesEveryBlockLinearAndKeepsTheRest) {
    testio::TempDir dir;
    const std::string out = dir.file("mag.gguf");
    const auto r = testcli::run_tern("prune " + tinylm() + " -o " + out + " --method magnitude --sparsity 0.5 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto report = nlohmann::json::parse(r.out);
    ASSERT_EQ(report["tensors"].size(), 4u * 7u) << r.out;  // q, k, v, o, gate, up, down in 4 layers
    for (const auto& t : report["tensors"]) EXPECT_DOUBLE_EQ(t["sparsity"].get<double>(), 0.5) << t.dump();
    EXPECT_DOUBLE_EQ(report["linear_sparsity"].get<double>(), 0.5);

    const io::GgufModel in = io::read_gguf(tinylm()), pruned = io::read_gguf(out);
    ASSERT_EQ(in.tensors.size(), pruned.tensors.size());
    for (size_t i = 0; i < in.tensors.size(); ++i) {
        const auto& a = in.tensors[i];
        const auto& b = pruned.tensors[i];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.tensor.dtype(), b.tensor.dtype()) << a.name;
        const bool block_linear = a.name.starts_with("blk.") && a.name.ends_with(".weight") && a.tensor.shape().size() == 2;
        if (!block_linear) {
            EXPECT_EQ(a.tensor.to_floats(), b.tensor.to_floats()) << a.name;
        }
    }
    EXPECT_TRUE(std::isfinite(quanttest::test_split_ppl(out, 1, 64)));  // tern loads and runs it
}

// --sequential calibrates block b on the model whose blocks < b are already
// pruned: block 0 sees the same inputs as in the one-pass mode (so its weights
// come out bit-identical), every later block sees different ones.
TEST(PruneCli, SequentialCalibrationChangesOnlyTheBlocksAfterTheFirst) {
    if (!quanttest::corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string one = dir.file("one.gguf"), seq = dir.file("seq.gguf");
    const std::string common = " --method wanda --sparsity 0.5 --calib text:train --calib-tokens 128 --calib-ctx 64 --json";
    const auto r1 = testcli::run_tern("prune " + tinylm() + " -o " + one + common);
    ASSERT_EQ(r1.code, 0) << r1.err;
    const auto r2 = testcli::run_tern("prune " + tinylm() + " -o " + seq + common + " --sequential");
    ASSERT_EQ(r2.code, 0) << r2.err;
    EXPECT_EQ(nlohmann::json::parse(r1.out)["calib_passes"], 1);
    EXPECT_EQ(nlohmann::json::parse(r2.out)["calib_passes"], 4);  // one per block
    const io::GgufModel a = io::read_gguf(one), b = io::read_gguf(seq);
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    int later_blocks_differing = 0;
    for (size_t i = 0; i < a.tensors.size(); ++i) {
        const std::string& name = a.tensors[i].name;
        const bool block_linear = name.starts_with("blk.") && a.tensors[i].tensor.shape().size() == 2;
        if (!block_linear) continue;
        const bool same = a.tensors[i].tensor.to_floats() == b.tensors[i].tensor.to_floats();
        if (name.starts_with("blk.0.")) EXPECT_TRUE(same) << name;
        else later_blocks_differing += !same;
    }
    EXPECT_EQ(later_blocks_differing, 3 * 7);
    EXPECT_TRUE(std::isfinite(quanttest::test_split_ppl(seq, 1, 64)));
}

TEST(PruneCli, BadRequestsAreOneLineAndWriteNothing) {
    testio::TempDir dir;
    const std::string out = dir.file("x.gguf");
    const std::string classifier = std::string(TERN_SOURCE_DIR) + "/models/fmnist-lenet5.safetensors";
    // A GGUF with tensors but no language model in it.
    const std::string plain = dir.file("plain.gguf");
    io::write_gguf(plain, {}, {NamedTensor{.name = "w", .tensor = Tensor::from_floats({4, 4}, std::vector<float>(16, 1.0f))}});
    // A quantized model: its weights are not re-encoded, the prune is refused.
    const std::string q8 = dir.file("q8.gguf");
    ASSERT_EQ(testcli::run_tern("quantize " + tinylm() + " -o " + q8 + " --format q8_0").code, 0);
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    const std::string m = tinylm() + " -o " + out;
    for (const Case& c : {
             Case{m + " --method magnitude --sparsity 1", 2, "[0, 1)"},
             Case{m + " --method magnitude --sparsity -0.1", 2, "[0, 1)"},
             Case{m + " --method magnitude", 2, "--pattern N:M"},
             Case{m + " --method magnitude --sparsity 0.5 --pattern 2:4", 2, "not both"},
             Case{m + " --method magnitude --pattern 4:2", 2, "0 < N < M"},
             Case{m + " --method magnitude --pattern 4:4", 2, "0 < N < M"},
             Case{m + " --method magnitude --pattern 3:7", 1, "blk.0.attn_q.weight"},
             Case{m + " --method bogus --sparsity 0.5", 2, "unknown method 'bogus'"},
             Case{m + " --method wanda --sparsity 0.5", 2, "needs calibration text"},
             Case{m + " --method sparsegpt --pattern 2:4", 2, "needs calibration text"},
             Case{tinylm() + " -o " + dir.file("x.safetensors") + " --method magnitude --sparsity 0.5", 2, ".gguf"},
             Case{tinylm() + " -o " + tinylm() + " --method magnitude --sparsity 0.5", 2, ""},
             Case{classifier + " -o " + out + " --method magnitude --sparsity 0.5", 2, "written as .safetensors"},
             Case{q8 + " -o " + out + " --method magnitude --sparsity 0.5", 1, "stored as q8_0"},
             Case{plain + " -o " + out + " --method magnitude --sparsity 0.5", 1, "plain.gguf"},
             Case{dir.file("none.gguf") + " -o " + out + " --method magnitude --sparsity 0.5", 1, "none.gguf"},
         }) {
        SCOPED_TRACE(c.args);
        const auto r = testcli::run_tern("prune " + c.args);
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(std::filesystem::exists(out));
        EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
    }
}

}  // namespace
}  // namespace tern
