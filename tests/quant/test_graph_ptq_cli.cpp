// tern quantize M -o OUT.onnx (static int8 QDQ of a graph model) and tern eval
// of the result; bad calibration specs, models and options: one error line,
// exit 1 (bad input) or 2 (bad usage), and no output file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "graph/onnx_export.h"
#include "interop/export_test_util.h"
#include "io/io_test_util.h"
#include "quant/graph_ptq_test_util.h"

namespace tern {
namespace {

std::string graph_ptq_cli_lenet300() { return testinterop::model_path("fmnist-lenet300"); }

TEST(GraphPtqCli, QuantizesLeNet300ToAQdqModelThatEvalRunsIntegerOnly) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const std::string out = dir.file("lenet300-int8.onnx");
    const auto q = testcli::run_tern("quantize " + graph_ptq_cli_lenet300() + " -o " + out + " --method percentile --calib fashion-mnist:train:64 --json");
    ASSERT_EQ(q.code, 0) << q.all();
    const auto j = nlohmann::json::parse(q.out);
    EXPECT_EQ(j.at("quantized_ops"), 3);
    EXPECT_EQ(j.at("integer_ops").at("gemm"), 3);
    EXPECT_EQ(j.at("method"), "percentile");
    const auto e = testcli::run_tern("eval " + out + " --data fashion-mnist --json");
    ASSERT_EQ(e.code, 0) << e.all();
    const auto ej = nlohmann::json::parse(e.out);
    EXPECT_EQ(ej.at("images"), 10000);
    EXPECT_GT(ej.at("accuracy").get<double>(), 0.88);  // fp32: 89.86 %
}

struct GraphPtqCliHostile {
    const char* name;
    std::string model;  // empty: LeNet-300
    std::string args;
    int code;
    const char* says;
};

TEST(GraphPtqCli, BadCalibrationModelsAndOptionsFailCleanlyWithoutOutput) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    testio::TempDir dir;
    const std::string poisoned = dir.file("nan.onnx"), wide = dir.file("rgb32.onnx"), relu = dir.file("relu.onnx");
    graph::export_onnx_file(testquant::flatten_gemm_graph(1, 28, 28, true), poisoned);
    graph::export_onnx_file(testquant::flatten_gemm_graph(3, 32, 32), wide);
    graph::export_onnx_file(testquant::relu_only_graph(), relu);
    const GraphPtqCliHostile cases[] = {
        {"empty calibration set", "", "--calib fashion-mnist:train:0", 1, "empty calibration set"},
        {"too many calibration images", "", "--calib fashion-mnist:train:70000", 1, "60000 images"},
        {"test split", "", "--calib fashion-mnist:test:64", 2, "train split"},
        {"unknown dataset", "", "--calib cifar10:train:64", 2, "fashion-mnist:train:N"},
        {"count not a number", "", "--calib fashion-mnist:train:many", 2, "not an image count"},
        {"unknown method", "", "--method gptq", 2, "minmax, movingavg, percentile, mse, kl"},
        {"unknown acts", "", "--acts int4", 2, "uint8, int8"},
        {"format with an onnx output", "", "--format q8_0", 2, "--format"},
        {"NaN in calibration activations", poisoned, "--calib fashion-mnist:train:8", 1, "NaN"},
        {"wrong calibration shape", wide, "--calib fashion-mnist:train:8", 1, "takes [-1, 3, 32, 32]"},
        {"no quantizable layer", relu, "--calib fashion-mnist:train:8", 1, "nothing to quantize"},
    };
    for (const GraphPtqCliHostile& c : cases) {
        const std::string out = dir.file(std::string(c.name) + ".onnx");
        const std::string model = c.model.empty() ? graph_ptq_cli_lenet300() : c.model;
        const auto r = testcli::run_tern("quantize " + model + " -o '" + out + "' " + c.args);
        EXPECT_EQ(r.code, c.code) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line\n" << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
    }
}

}  // namespace
}  // namespace tern
