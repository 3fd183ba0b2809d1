// tern quantize end to end: a GGUF of f32 weights becomes a smaller GGUF whose
// weights hold exactly the reference quantizer's blocks; norms stay f32; bad
// requests fail cleanly and leave no output behind.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "cli/cli_runner.h"
#include "formats/format.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "quant/quant_test_util.h"

namespace tern {
namespace {

using quanttest::random_tensor;

std::string write_model(const testio::TempDir& dir, bool with_nan = false) {
    Tensor w = random_tensor({64, 256}, 1);
    if (with_nan) w.data<float>()[77] = NAN;
    const std::string path = dir.file(with_nan ? "nan.gguf" : "model.gguf");
    io::write_gguf(path, {{"general.architecture", io::GgufValue::of_string("llama")}},
                   {{"blk.0.ffn_up.weight", w}, {"blk.0.attn_norm.weight", random_tensor({256}, 2)}});
    return path;
}

TEST(QuantizeCli, GgufBlocksAreTheReferenceQuantizersBytes) {
    testio::TempDir dir;
    const std::string in = write_model(dir);
    for (const char* fmt_name : {"q4_0", "q8_0", "q4_k", "q6_k", "f16"}) {
        const std::string out = dir.file(std::string("out-") + fmt_name + ".gguf");
        const auto r = testcli::run_tern("quantize " + in + " -o " + out + " --format " + fmt_name + " --json --measure");
        ASSERT_EQ(r.code, 0) << r.err;
        const io::GgufModel src = io::read_gguf(in);
        const io::GgufModel q = io::read_gguf(out);
        ASSERT_EQ(q.tensors.size(), 2u);
        const FormatDescriptor& fmt = format_by_name(fmt_name);
        EXPECT_EQ(q.tensors[0].tensor.dtype(), *fmt.dtype);
        EXPECT_EQ(q.tensors[0].tensor.shape(), (Shape{64, 256}));
        EXPECT_EQ(q.tensors[1].tensor.dtype(), DType::f32) << "1-D norms stay f32";
        // Same bytes as quantizing each row with the reference quantizer.
        std::vector<uint8_t> want(fmt.bytes_for(64 * 256));
        const float* x = src.tensors[0].tensor.data<float>();
        for (int r = 0; r < 64; ++r) fmt.quantize(x + r * 256, want.data() + r * fmt.bytes_for(256), 256);
        ASSERT_EQ(std::memcmp(q.tensors[0].tensor.data<uint8_t>(), want.data(), want.size()), 0) << fmt_name;
        EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(in)) << fmt_name;
        EXPECT_NE(r.out.find("\"rel_rms\""), std::string::npos);
        const auto* ft = io::find_metadata(q.info.metadata, "general.file_type");
        ASSERT_NE(ft, nullptr);
    }
}

TEST(QuantizeCli, BadRequestsFailCleanly) {
    testio::TempDir dir;
    const std::string in = write_model(dir);
    const std::string out = dir.file("out.gguf");
    auto r = testcli::run_tern("quantize " + in + " -o " + out + " --format q9_9");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("q9_9"), std::string::npos) << r.err;
    r = testcli::run_tern("quantize " + in + " -o " + out + " --format mxfp4");  // no tensor dtype
    EXPECT_EQ(r.code, 1) << r.err;
    r = testcli::run_tern("quantize " + in + " -o " + in + " --format q8_0");
    EXPECT_EQ(r.code, 2) << r.err;
    r = testcli::run_tern("quantize " + in + " --format q8_0");  // missing -o
    EXPECT_EQ(r.code, 2) << r.err;
    const std::string nan_model = write_model(dir, /*with_nan=*/true);
    r = testcli::run_tern("quantize " + nan_model + " -o " + out + " --format q4_0");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("blk.0.ffn_up.weight"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << "nothing half-written";
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace tern
