// tern quantize M -o OUT.onnx --weights int4 --method adaround [--bias-correction]
// [--equalize]: a 4-bit QDQ model that tern eval runs integer-only; bad
// bit-widths, iteration counts and options on non-.onnx outputs: one error
// line, exit 2, no output file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "interop/export_test_util.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

std::string adaround_cli_lenet300() { return testinterop::model_path("fmnist-lenet300"); }

TEST(AdaroundCli, Int4AdaroundLeNet300IsAQdqModelThatEvalRunsIntegerOnly) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const std::string out = dir.file("lenet300-w4.onnx");
    const auto q = testcli::run_tern("quantize " + adaround_cli_lenet300() + " -o " + out +
                                     " --weights int4 --method adaround --adaround-iters 50 --bias-correction --equalize"
                                     " --calib fashion-mnist:train:64 --json");
    ASSERT_EQ(q.code, 0) << q.all();
    const auto j = nlohmann::json::parse(q.out);
    EXPECT_EQ(j.at("weight_bits"), 4);
    EXPECT_EQ(j.at("adaround").at("layers"), 3);
    EXPECT_EQ(j.at("adaround").at("iterations"), 50);
    EXPECT_LT(j.at("adaround").at("reconstruction_adaround").get<double>(),
              j.at("adaround").at("reconstruction_nearest").get<double>());
    EXPECT_EQ(j.at("bias_corrected_layers"), 3);
    EXPECT_EQ(j.at("equalized_pairs"), 2);  // fc1 -> Relu -> fc2 -> Relu -> fc3
    EXPECT_EQ(j.at("integer_ops").at("gemm"), 3);
    const auto e = testcli::run_tern("eval " + out + " --data fashion-mnist --json");
    ASSERT_EQ(e.code, 0) << e.all();
    const auto ej = nlohmann::json::parse(e.out);
    EXPECT_EQ(ej.at("images"), 10000);
    EXPECT_GT(ej.at("accuracy").get<double>(), 0.85);  // fp32 89.86 %, int4 nearest 89.6 % (512 images)
}

struct AdaroundCliHostile {
    const char* name;
    const char* output;  // file name in the temp dir
    std::string args;
    const char* says;
};

TEST(AdaroundCli, BadBitWidthsIterationsAndOutputsFailWithOneLineAndNoFile) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const AdaroundCliHostile cases[] = {
        {"3-bit weights", "w3.onnx", "--weights int3", "int8, int6, int4, int2"},
        {"16-bit weights", "w16.onnx", "--weights int16", "int8, int6, int4, int2"},
        {"zero iterations", "it0.onnx", "--method adaround --adaround-iters 0", "--adaround-iters"},
        {"iterations without adaround", "it50.onnx", "--method minmax --adaround-iters 50", "--method adaround only"},
        {"int4 into gguf", "w4.gguf", "--weights int4 --format q4_0", "applies to .onnx"},
        {"bias correction into safetensors", "bc.safetensors", "--bias-correction --format f16", "applies to .onnx"},
        {"equalize into gguf", "eq.gguf", "--equalize --format q8_0", "applies to .onnx"},
    };
    for (const AdaroundCliHostile& c : cases) {
        const std::string out = dir.file(c.output);
        const auto r = testcli::run_tern("quantize " + adaround_cli_lenet300() + " -o '" + out + "' --calib fashion-mnist:train:8 " + c.args);
        EXPECT_EQ(r.code, 2) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line\n" << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
    }
}

}  // namespace
}  // namespace tern
