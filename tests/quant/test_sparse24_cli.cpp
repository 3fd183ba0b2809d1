// `tern quantize PRUNED.gguf --format sparse24_q8` on tinylm pruned 2:4: the
// pruned Linears are stored sparse (the rest w8a8), the file says it is
// tern-only, and its test-split perplexity equals the w8a8 file of the same
// pruned weights (the same int8 codes and activation quantization, so only
// f32 rounding differs) on both the sparse and the dense path. Also: the
// refusals, and a damaged sparse tensor fails `tern eval` with one error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/cli_runner.h"
#include "formats/sparse24_block.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "llm/model_loader.h"
#include "ops/linear.h"
#include "quant/quant_cli_util.h"

namespace tern {
namespace {

using quanttest::test_split_ppl;
using quanttest::tinylm;

// tinylm pruned 2:4 by magnitude into `dir` (zeros GGUF, llama.cpp-compatible).
std::string s24cli_pruned(testio::TempDir& dir) {
    const std::string out = dir.file("pruned.gguf");
    const auto r = testcli::run_tern("prune " + tinylm() + " -o " + out + " --method magnitude --pattern 2:4 -t 2");
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
}

TEST(Sparse24Cli, SparseFileHasTheW8A8FilesPerplexityOnBothPaths) {
    if (!quanttest::corpus_installed()) GTEST_SKIP() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string pruned = s24cli_pruned(dir);
    const std::string sparse = dir.file("sparse.gguf"), w8a8 = dir.file("w8a8.gguf"), q8 = dir.file("q8_0.gguf");
    for (const auto& [out, fmt] : {std::pair{sparse, "sparse24_q8"}, std::pair{w8a8, "w8a8"}, std::pair{q8, "q8_0"}}) {
        const auto r = testcli::run_tern("quantize " + pruned + " -o " + out + " --format " + fmt + " -t 2");
        ASSERT_EQ(r.code, 0) << fmt << "\n" << r.err;
    }
    const io::GgufModel g = io::read_gguf(sparse);
    int sparse_tensors = 0;
    for (const auto& t : g.tensors) sparse_tensors += t.tensor.dtype() == DType::sparse24_q8;
    EXPECT_EQ(sparse_tensors, 4 * 7) << "every block Linear (the output head is not pruned: w8a8)";
    const io::GgufValue* note = io::find_metadata(g.info.metadata, "general.tern_only");
    ASSERT_NE(note, nullptr);
    EXPECT_NE(note->s.find("llama.cpp cannot load"), std::string::npos) << note->s;
    EXPECT_EQ(io::find_metadata(io::read_gguf(q8).info.metadata, "general.tern_only"), nullptr);

    const double ref = test_split_ppl(w8a8, 4, 128);
    double got[2];
    const char* modes[] = {"sparse", "dense"};
    for (int i = 0; i < 2; ++i) {
        setenv("TERN_SPARSE24_PATH", modes[i], 1);
        got[i] = test_split_ppl(sparse, 4, 128);
        const auto model = llm::load_model(sparse);
        EXPECT_EQ(model->layers[0].ffn_up->source_dtype(), DType::sparse24_q8);
        EXPECT_EQ(model->layers[0].ffn_up->path(), i == 0 ? ops::LinearPath::sparse24_int8 : ops::LinearPath::w8a8_int8);
        unsetenv("TERN_SPARSE24_PATH");
    }
    const double q8_ppl = test_split_ppl(q8, 4, 128);
    std::printf("[ sparse24 ] tinylm 2:4 magnitude, test split 4 x 128: w8a8 %.6f, sparse24_q8 sparse path %.6f, "
                "dense path %.6f; q8_0 of the zeros GGUF %.6f\n",
                ref, got[0], got[1], q8_ppl);
    EXPECT_NEAR(got[0], ref, 1e-4 * ref);
    EXPECT_NEAR(got[1], ref, 1e-4 * ref);
    EXPECT_NEAR(q8_ppl, ref, 0.02 * ref) << "per-32 vs per-row int8 scales: close, not equal";
    EXPECT_LT(std::filesystem::file_size(sparse), std::filesystem::file_size(w8a8));
}

TEST(Sparse24Cli, RefusesOtherMethodsAndDamagedFiles) {
    testio::TempDir dir;
    const std::string pruned = s24cli_pruned(dir);
    const std::string out = dir.file("out.gguf");
    auto r = testcli::run_tern("quantize " + pruned + " -o " + out + " --format sparse24_q8 --method awq");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("--method rtn"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));

    // A valid sparse file with one position nibble broken (p0 == p1) in blk.1.ffn_down.
    const std::string sparse = dir.file("sparse.gguf");
    r = testcli::run_tern("quantize " + pruned + " -o " + sparse + " --format sparse24_q8 -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    io::GgufModel g = io::read_gguf(sparse);
    std::vector<NamedTensor> tensors;
    for (const auto& t : g.tensors) tensors.push_back({t.name, t.tensor.clone()});
    bool broken = false;
    for (auto& t : tensors)
        if (t.name == "blk.1.ffn_down.weight") {
            ASSERT_EQ(t.tensor.dtype(), DType::sparse24_q8);
            uint8_t* pos = t.tensor.data<uint8_t>() + 7 * sizeof(Sparse24Block) + offsetof(Sparse24Block, pos);
            pos[2] = static_cast<uint8_t>((pos[2] & 0xF0) | 3 | 3 << 2);
            broken = true;
        }
    ASSERT_TRUE(broken);
    const std::string bad = dir.file("bad.gguf");
    io::write_gguf(bad, g.info.metadata, tensors);
    r = testcli::run_tern("eval " + bad + " --data text:test -c 64 --chunks 1");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("blk.1.ffn_down.weight"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ascending positions"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("bad.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tern
