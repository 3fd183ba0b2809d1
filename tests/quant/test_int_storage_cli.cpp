// `tern quantize --format int4g128|int3g128|int2g128`: the embedded tinylm
// becomes a GGUF of tern's group-wise ints (private ggml ids) that tern loads
// and runs: int4g128 on quant_matmul's int4_asym kernel, int3/int2 decoded to
// f32 once. Perplexity stays finite and near the f16 model's.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "llm/model_loader.h"

namespace tern {
namespace {

std::string int_storage_cli_tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

std::string int_storage_cli_write_text(const testio::TempDir& dir) {
    const std::string path = dir.file("text.txt");
    std::ofstream f(path);
    for (int i = 0; i < 12; ++i)
        f << "The state of the Union is strong, and the people of the nation are hopeful for the year ahead. "
             "Once upon a time a little girl went to the market with her mother to buy some bread. ";
    return path;
}

double perplexity(const std::string& model, const std::string& text) {
    const auto r = testcli::run_tern("perplexity " + model + " --text " + text + " -c 64 --chunks 4 --json -t 2");
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return NAN;
    return nlohmann::json::parse(r.out).value("ppl", NAN);
}

TEST(IntStorageCli, TinylmInInt4g128LoadsRunsThePackedKernelAndKeepsItsPerplexity) {
    testio::TempDir dir;
    const std::string text = int_storage_cli_write_text(dir);
    const double ppl_f16 = perplexity(int_storage_cli_tinylm(), text);
    ASSERT_TRUE(std::isfinite(ppl_f16));
    struct Case {
        const char* format;
        DType dtype;
        ops::LinearPath path;
        double max_factor;  // of the f16 perplexity
    };
    for (const Case& c : {Case{"int4g128", DType::int4g128, ops::LinearPath::quantized_int8, 1.25},
                          Case{"int3g128", DType::int3g128, ops::LinearPath::dequantized_f32, 2.0},
                          Case{"int2g128", DType::int2g128, ops::LinearPath::dequantized_f32, 10.0}}) {
        SCOPED_TRACE(c.format);
        const std::string out = dir.file(std::string("tinylm-") + c.format + ".gguf");
        const auto q = testcli::run_tern("quantize " + int_storage_cli_tinylm() + " -o " + out + " --format " + c.format + " --json");
        ASSERT_EQ(q.code, 0) << q.err;
        const io::GgufModel file = io::read_gguf(out);
        int held = 0;
        for (const auto& t : file.tensors) held += t.tensor.dtype() == c.dtype;
        EXPECT_EQ(held, 29) << "every 2-D weight (f16 in tinylm) is stored as " << c.format;
        EXPECT_EQ(io::find_metadata(file.info.metadata, "general.file_type"), nullptr)
            << "llama.cpp has no file type for tern's own types";

        const auto model = llm::load_model(out);
        EXPECT_EQ(model->layers[0].wq->path(), c.path);
        EXPECT_EQ(model->layers[0].wq->source_dtype(), c.dtype);

        const double ppl = perplexity(out, text);
        ASSERT_TRUE(std::isfinite(ppl));
        EXPECT_LT(ppl, ppl_f16 * c.max_factor) << "f16 " << ppl_f16;
        EXPECT_GT(ppl, ppl_f16 / 1.5);
        std::printf("[ int store] tinylm %-9s ppl %.3f (f16 %.3f)\n", c.format, ppl, ppl_f16);
    }
}

TEST(IntStorageCli, TruncatedInt4g128ModelIsRefusedWithOneLine) {
    testio::TempDir dir;
    const std::string out = dir.file("tinylm-int4.gguf");
    ASSERT_EQ(testcli::run_tern("quantize " + int_storage_cli_tinylm() + " -o " + out + " --format int4g128").code, 0);
    auto bytes = testio::read_bytes(out);
    bytes.resize(bytes.size() - 1000);
    const std::string cut = dir.file("cut.gguf");
    testio::write_bytes(cut, bytes);
    const auto r = testcli::run_tern("perplexity " + cut + " --text " + int_storage_cli_write_text(dir) + " -c 64 --chunks 1");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(cut), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("data ends at byte"), std::string::npos) << r.err;
}

TEST(IntStorageCli, RowsThatAreNotWholeGroupsAreKeptAsTheyAre) {
    testio::TempDir dir;
    // The tinylm's rows are 256 and 768 long; 100 columns are not whole groups of
    // 128, so that tensor stays f32 (as for every block type), with a note.
    const std::string in = dir.file("odd.gguf");
    std::vector<float> v(8 * 100, 0.5f);
    io::write_gguf(in, {}, {{"blk.0.ffn_up.weight", Tensor::from_floats({8, 100}, v)},
                            {"blk.0.ffn_down.weight", Tensor::from_floats({4, 256}, std::vector<float>(1024, 0.25f))}});
    const std::string out = dir.file("odd-int4.gguf");
    const auto r = testcli::run_tern("quantize " + in + " -o " + out + " --format int4g128 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("not a multiple of 128"), std::string::npos) << r.out;
    const io::GgufModel file = io::read_gguf(out);
    ASSERT_EQ(file.tensors.size(), 2u);
    EXPECT_EQ(file.tensors[0].tensor.dtype(), DType::f32);
    EXPECT_EQ(file.tensors[1].tensor.dtype(), DType::int4g128);
}

}  // namespace
}  // namespace tern
