// quant::quantize_model and its method table: rtn is registered and gives the
// tensors quantize_tensors_rtn gives; an unknown method is a usage error that
// lists the registered ones, from the library and from `tern quantize` (exit 2,
// nothing written).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "quant/quantize_model.h"
#include "quant/quant_test_util.h"

namespace tern::quant {
namespace {

using quanttest::random_tensor;

TensorModel small_model() {
    TensorModel m;
    m.tensors = {{"blk.0.ffn_up.weight", random_tensor({32, 256}, 1)}, {"blk.0.attn_norm.weight", random_tensor({256}, 2)}};
    return m;
}

TEST(QuantizeModel, RtnIsRegisteredAndMatchesTheTensorQuantizer) {
    ASSERT_FALSE(quant_methods().empty());
    EXPECT_STREQ(quant_method("rtn").name, "rtn");
    const TensorModel m = small_model();
    QuantRecipe r;
    r.format = &format_by_name("q4_0");
    const QuantizedModel q = quantize_model(m, r);
    QuantizeOptions qo;
    qo.format = r.format;
    std::vector<QuantizeReportRow> rows;
    const std::vector<NamedTensor> want = quantize_tensors_rtn(m.tensors, qo, rows);
    ASSERT_EQ(q.model.tensors.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(q.model.tensors[i].tensor.dtype(), want[i].tensor.dtype());
        ASSERT_EQ(q.model.tensors[i].tensor.nbytes(), want[i].tensor.nbytes());
        EXPECT_EQ(std::memcmp(q.model.tensors[i].tensor.data<uint8_t>(), want[i].tensor.data<uint8_t>(),
                              want[i].tensor.nbytes()),
                  0);
    }
    ASSERT_EQ(q.report.size(), 2u);
    EXPECT_EQ(q.bytes_before, rows[0].bytes_before + rows[1].bytes_before);
    EXPECT_EQ(q.bytes_after, rows[0].bytes_after + rows[1].bytes_after);
    EXPECT_LT(q.bytes_after, q.bytes_before);
}

TEST(QuantizeModel, UnknownMethodIsAUsageErrorListingTheRegisteredOnes) {
    QuantRecipe r;
    r.method = "gptq-someday";
    r.format = &format_by_name("q4_0");
    try {
        quantize_model(small_model(), r);
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("gptq-someday"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("rtn"), std::string::npos) << e.what();
    }

    testio::TempDir dir;
    const std::string in = dir.file("m.gguf"), out = dir.file("out.gguf");
    io::write_gguf(in, {{"general.architecture", io::GgufValue::of_string("llama")}}, small_model().tensors);
    const auto cli = testcli::run_tern("quantize " + in + " -o " + out + " --format q4_0 --method awq9");
    EXPECT_EQ(cli.code, 2) << cli.err;
    EXPECT_NE(cli.err.find("unknown method 'awq9' (available: rtn, awq, gptq, awq+gptq"), std::string::npos) << cli.err;
    EXPECT_NE(cli.err.find("imatrix"), std::string::npos) << cli.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    const auto ok = testcli::run_tern("quantize " + in + " -o " + out + " --format q4_0 --method rtn");
    EXPECT_EQ(ok.code, 0) << ok.err;
}

}  // namespace
}  // namespace tern::quant
