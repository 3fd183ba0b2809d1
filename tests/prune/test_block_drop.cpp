// prune/block_drop.h: remove_blocks renumbers the kept blocks and sets
// block_count; `tern prune --method block-drop` on the embedded tinylm drops
// the block whose removal raises the calibration perplexity least, writes a
// 3-block model tern loads and runs, and refuses bad requests with one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "core/tensor.h"
#include "io/gguf_reader.h"
#include "io/io_test_util.h"
#include "prune/block_drop.h"
#include "quant/quant_cli_util.h"
#include "ref/reference.h"

namespace tern {
namespace {

using quanttest::tinylm;

NamedTensor filled(const std::string& name, float v) {
    return NamedTensor{.name = name, .tensor = Tensor::from_floats({2}, std::vector<float>{v, v})};
}

TEST(BlockDrop, RemoveBlocksRenumbersTheRestAndSetsTheCount) {
    io::GgufMetadata md = {{"general.architecture", io::GgufValue::of_string("llama")},
                           {"llama.block_count", io::GgufValue::of_u32(4)}};
    std::vector<NamedTensor> t = {filled("token_embd.weight", 9)};
    for (int b = 0; b < 4; ++b) {
        t.push_back(filled("blk." + std::to_string(b) + ".attn_q.weight", float(b)));
        t.push_back(filled("blk." + std::to_string(b) + ".ffn_down.weight", float(b)));
    }
    prune::remove_blocks(md, t, {1, 2}, 4, "m.gguf");
    EXPECT_EQ(io::find_metadata(md, "llama.block_count")->u, 2u);
    EXPECT_EQ(io::find_metadata(md, "llama.block_count")->type, io::GgufType::u32);
    ASSERT_EQ(t.size(), 5u);
    EXPECT_EQ(t[0].name, "token_embd.weight");
    EXPECT_EQ(t[1].name, "blk.0.attn_q.weight");
    EXPECT_EQ(t[1].tensor.to_floats()[0], 0.0f);  // old block 0
    EXPECT_EQ(t[3].name, "blk.1.attn_q.weight");
    EXPECT_EQ(t[3].tensor.to_floats()[0], 3.0f);  // old block 3
    // A per-block metadata array would need slicing too: refused, not silently wrong.
    io::GgufMetadata per_block = {{"general.architecture", io::GgufValue::of_string("llama")},
                                  {"llama.block_count", io::GgufValue::of_u32(4)},
                                  {"llama.attention.head_count", io::GgufValue::of_array(io::GgufType::i32, std::vector<int32_t>{4, 4, 4, 4})}};
    std::vector<NamedTensor> t2 = {filled("blk.0.attn_q.weight", 0)};
    EXPECT_THROW(prune::remove_blocks(per_block, t2, {0}, 4, "m.gguf"), InputError);
    std::vector<NamedTensor> t3 = {filled("blk.7.attn_q.weight", 0)};
    io::GgufMetadata md3 = {{"general.architecture", io::GgufValue::of_string("llama")},
                            {"llama.block_count", io::GgufValue::of_u32(4)}};
    EXPECT_THROW(prune::remove_blocks(md3, t3, {0}, 4, "m.gguf"), InputError);
}

TEST(BlockDropCli, DropsTheCheapestBlockAndWritesALoadableShallowerModel) {
    if (!quanttest::corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string out = dir.file("drop1.gguf");
    const auto r = testcli::run_tern("prune " + tinylm() + " -o " + out +
                                     " --method block-drop --blocks 1 --calib text:train --calib-tokens 256 --calib-ctx 64 --json -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["blocks_before"].get<int64_t>(), 4);
    EXPECT_EQ(j["blocks_after"].get<int64_t>(), 3);
    ASSERT_EQ(j["rounds"].size(), 1u);
    // The dropped block is the one whose removal scored lowest, and removing any block costs perplexity.
    const auto& ppl = j["rounds"][0]["calib_ppl_without"];
    const int64_t dropped = j["dropped"][0].get<int64_t>();
    for (int b = 0; b < 4; ++b) {
        EXPECT_LE(ppl[dropped].get<double>(), ppl[b].get<double>());
        EXPECT_GT(ppl[b].get<double>(), j["calib_ppl_dense"].get<double>());
    }
    EXPECT_DOUBLE_EQ(j["calib_ppl_after"].get<double>(), ppl[dropped].get<double>());
    const io::GgufModel in = io::read_gguf(tinylm()), o = io::read_gguf(out);
    EXPECT_EQ(io::find_metadata(o.info.metadata, "llama.block_count")->u, 3u);
    int64_t blk_in = 0, blk_out = 0;
    for (const auto& t : in.tensors) blk_in += t.name.starts_with("blk.");
    for (const auto& t : o.tensors) {
        blk_out += t.name.starts_with("blk.");
        EXPECT_FALSE(t.name.starts_with("blk.3.")) << t.name;
    }
    EXPECT_EQ(blk_out * 4, blk_in * 3);
    // A kept block's weights are the original's, under its new number.
    const int64_t src = dropped == 0 ? 1 : 0;
    auto find = [](const io::GgufModel& m, const std::string& n) {
        return std::find_if(m.tensors.begin(), m.tensors.end(), [&](const NamedTensor& t) { return t.name == n; });
    };
    const auto a = find(in, "blk." + std::to_string(src) + ".attn_q.weight"), b = find(o, "blk.0.attn_q.weight");
    ASSERT_TRUE(a != in.tensors.end() && b != o.tensors.end());
    EXPECT_EQ(a->tensor.to_floats(), b->tensor.to_floats());
    EXPECT_TRUE(std::isfinite(quanttest::test_split_ppl(out, 1, 64)));  // tern loads and runs it
}

TEST(BlockDropCli, BadRequestsAreOneLineAndWriteNothing) {
    testio::TempDir dir;
    const std::string out = dir.file("x.gguf");
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    const std::string m = tinylm() + " -o " + out + " --method block-drop";
    for (const Case& c : {
             Case{m + " --blocks 4 --calib text:train", 1, "drop at most 3"},
             Case{m + " --blocks 9 --calib text:train", 1, "has 4 blocks"},
             Case{m + " --calib text:train", 2, "K >= 1"},
             Case{m + " --blocks 1", 2, "calibration text"},
             Case{m + " --blocks 1 --sparsity 0.5 --calib text:train", 2, "not --sparsity"},
             Case{tinylm() + " -o " + dir.file("x.safetensors") + " --method block-drop --blocks 1 --calib text:train", 2, ".gguf"},
             Case{tinylm() + " -o " + out + " --method magnitude --sparsity 0.5 --blocks 1", 2, "only --method block-drop"},
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
