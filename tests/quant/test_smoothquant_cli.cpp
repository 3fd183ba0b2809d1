// `tern quantize --format w8a8` (rtn: naive W8A8, dynamic or static
// activation scales) and `--method smoothquant` on the embedded tinylm: every
// output loads and runs int8 x int8 in tern, SmoothQuant's static per-tensor
// model is no worse than the naive static one, and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "core/mapped_file.h"
#include "formats/w8a8_block.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "io/text_corpus.h"
#include "llm/model_loader.h"
#include "ops/linear.h"
#include "ref/reference.h"
#include "quant/quant_cli_util.h"

namespace tern {
namespace {

using quanttest::test_split_ppl;

std::string smoothquant_cli_tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

TEST(SmoothQuantCli, NaiveAndSmoothedW8A8LoadRunAndSmoothingHelpsStaticScales) {
    if (!load_text_corpus().missing_sources.empty())
        TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string calib = " --calib text:train --calib-tokens 512 --calib-ctx 128 -t 2";
    struct Run {
        std::string file, args;
    };
    const Run runs[] = {{"naive_dyn.gguf", "--method rtn"},
                        {"naive_static.gguf", "--method rtn --act-scale static" + calib},
                        {"sq_static.gguf", "--method smoothquant --act-scale static" + calib}};
    double ppl[3];
    for (int i = 0; i < 3; ++i) {
        const std::string out = dir.file(runs[i].file);
        const auto r = testcli::run_tern("quantize " + smoothquant_cli_tinylm() + " -o " + out + " --format w8a8 " + runs[i].args);
        ASSERT_EQ(r.code, 0) << runs[i].args << "\n" << r.err;
        // The blocks' Linears are w8a8 and run on the int8 path, not decoded to f32.
        const auto model = llm::load_model(out);
        EXPECT_EQ(model->layers[0].wq->source_dtype(), DType::w8a8);
        EXPECT_EQ(model->layers[0].wq->path(), ops::LinearPath::w8a8_int8);
        ppl[i] = test_split_ppl(out, 6, 128);
        ASSERT_TRUE(std::isfinite(ppl[i])) << runs[i].args;
    }
    const double f16 = test_split_ppl(smoothquant_cli_tinylm(), 6, 128);
    std::printf("[ w8a8 ] tinylm test split 6 x 128: f16 %.4f, naive dynamic %.4f, naive static %.4f, smoothquant static %.4f\n",
                f16, ppl[0], ppl[1], ppl[2]);
    EXPECT_LT(ppl[0], f16 * 1.05) << "per-token int8 activations stay close to f16";
    EXPECT_LE(ppl[2], ppl[1]) << "smoothquant static vs naive static";
}

TEST(SmoothQuantCli, RefusesWhatItCannotDo) {
    testio::TempDir dir;
    const std::string out = dir.file("out.gguf");
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    for (const Case& c :
         {Case{"--method smoothquant --format q8_0", 2, "writes w8a8"},
          Case{"--method rtn --format q8_0 --act-scale static", 2, "static activation scales are for --format w8a8"},
          Case{"--method rtn --format w8a8 --alpha 0.5", 2, "--method smoothquant"},
          Case{"--method smoothquant --format w8a8 --alpha 1.5", 2, "alpha"},
          Case{"--method rtn --format w8a8 --act-scale sometimes", 2, "act-scale"}}) {
        const auto r = testcli::run_tern("quantize " + smoothquant_cli_tinylm() + " -o " + out + " " + c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
    }
}

// A w8a8 file whose row has two scales (hand-edited or damaged): the runtime
// keeps one scale per row, so it refuses the file instead of guessing.
TEST(SmoothQuantCli, RefusesAW8A8RowWithTwoScales) {
    testio::TempDir dir;
    const std::string good = dir.file("good.gguf"), bad = dir.file("bad.gguf");
    ASSERT_EQ(testcli::run_tern("quantize " + smoothquant_cli_tinylm() + " -o " + good + " --format w8a8").code, 0);
    io::GgufModel g = io::read_gguf(good);
    for (NamedTensor& t : g.tensors) {
        if (t.name != "blk.1.ffn_down.weight") continue;
        ASSERT_EQ(t.tensor.dtype(), DType::w8a8);
        Tensor copy = Tensor::zeros(t.tensor.shape(), DType::w8a8);
        const Tensor src = t.tensor.contiguous();  // const: a file-mapped tensor is read-only
        std::memcpy(copy.raw_data(), src.data<uint8_t>(), src.nbytes());
        W8A8Block b;
        std::memcpy(&b, copy.raw_data() + sizeof(W8A8Block), sizeof b);  // row 0's second block
        b.d *= 2;
        std::memcpy(copy.raw_data() + sizeof(W8A8Block), &b, sizeof b);
        t.tensor = std::move(copy);
    }
    io::write_gguf(bad, g.info.metadata, g.tensors);
    const auto r = testcli::run_tern("eval " + bad + " --data text:test -c 64 --chunks 1");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("bad.gguf"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("blk.1.ffn_down.weight"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("one scale per row"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tern
