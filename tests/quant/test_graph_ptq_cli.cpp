// tern quantize M -o OUT.onnx (static int8 QDQ of a graph model) and tern eval
// of the result; bad calibration specs, models and options: one error line,
// exit 1 (bad input) or 2 (bad usage), and no output file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "core/png.h"
#include "io/npy.h"
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

// A folder of n small RGB pictures with varied colours (sizes differ from the model's input).
std::string graph_ptq_cli_pictures(const testio::TempDir& dir, int n) {
    const std::string folder = dir.file("pictures");
    std::filesystem::create_directories(folder);
    for (int i = 0; i < n; ++i) {
        PlotCanvas c(12 + i, 10, 0x102030u * static_cast<uint32_t>(i + 1));
        for (int x = 0; x < 12; ++x) c.set(x, x % 10, 0xffffff);
        write_png(folder + "/p" + std::to_string(i) + ".png", c);
    }
    return folder;
}

TEST(GraphPtqCli, CalibratesAGraphOnPicturesAndOnAnNpyBatch) {
    testio::TempDir dir;
    const std::string model = dir.file("tiny.onnx"), pics = graph_ptq_cli_pictures(dir, 5);
    graph::export_onnx_file(testquant::flatten_gemm_graph(3, 8, 8), model);
    const std::string out = dir.file("tiny-int8.onnx");
    const auto q = testcli::run_tern("quantize " + model + " -o " + out + " --calib images:" + pics +
                                     ":4 --calib-norm imagenet --json");
    ASSERT_EQ(q.code, 0) << q.all();
    const auto j = nlohmann::json::parse(q.out);
    EXPECT_EQ(j.at("quantized_ops"), 1);
    EXPECT_EQ(j.at("integer_ops").at("gemm"), 1);
    EXPECT_NE(j.at("calib").get<std::string>().find("4 pictures, 8x8, imagenet"), std::string::npos) << j.at("calib");
    // ImageNet-normalised pictures reach below zero: the input's range is not unit's [0, 1].
    EXPECT_LT(j.at("tensors").at(0).at("min").get<double>(), -0.5);
    EXPECT_TRUE(std::filesystem::exists(out));
    // The same model on an .npy batch, and a --calib-shape that differs from the model: refused with the shapes.
    Tensor batch = Tensor::zeros({3, 3, 8, 8});
    for (int64_t i = 0; i < batch.numel(); ++i) batch.data<float>()[i] = 0.01f * static_cast<float>(i % 97);
    write_npy(dir.file("batch.npy"), batch);
    const auto n = testcli::run_tern("quantize " + model + " -o " + dir.file("npy-int8.onnx") + " --calib npy:" +
                                     dir.file("batch.npy") + " --json");
    ASSERT_EQ(n.code, 0) << n.all();
    EXPECT_NEAR(nlohmann::json::parse(n.out).at("tensors").at(0).at("max").get<double>(), 0.96, 1e-5);
    const auto s = testcli::run_tern("quantize " + model + " -o " + dir.file("shape.onnx") + " --calib images:" + pics +
                                     " --calib-norm unit --calib-shape 3x16x16");
    EXPECT_EQ(s.code, 1) << s.all();
    EXPECT_NE(s.err.find("takes [-1, 3, 8, 8]"), std::string::npos) << s.err;
}

TEST(GraphPtqCli, BadPictureAndNpyCalibrationFailsCleanlyWithoutOutput) {
    testio::TempDir dir;
    const std::string model = dir.file("tiny.onnx"), open = dir.file("open.onnx"), pics = graph_ptq_cli_pictures(dir, 2);
    graph::export_onnx_file(testquant::flatten_gemm_graph(3, 8, 8), model);
    graph::Graph g = testquant::flatten_gemm_graph(3, 8, 8);
    g.values["image"].shape = Shape{-1, 3, -1, -1};
    graph::export_onnx_file(g, open);
    const std::string empty = dir.file("empty"), broken = dir.file("broken");
    std::filesystem::create_directories(empty);
    std::filesystem::create_directories(broken);
    std::ofstream(broken + "/bad.jpg") << "no jpeg here";
    write_npy(dir.file("rank2.npy"), Tensor::zeros({4, 192}));
    write_npy(dir.file("ints.npy"), Tensor::zeros({1, 3, 8, 8}, DType::i32));
    const GraphPtqCliHostile cases[] = {
        {"no norm", model, "--calib images:" + pics, 2, "--calib-norm"},
        {"unknown norm", model, "--calib images:" + pics + " --calib-norm zscore", 2, "[--calib-norm] 'zscore' is not one of"},
        {"norm without pictures", model, "--calib npy:" + dir.file("rank2.npy") + " --calib-norm unit", 2, "images:DIR only"},
        {"no pictures", model, "--calib images:" + empty + " --calib-norm unit", 1, "no .png"},
        {"missing folder", model, "--calib images:" + dir.file("nope") + " --calib-norm unit", 1, "not a folder"},
        {"damaged picture", model, "--calib images:" + broken + " --calib-norm unit", 1, "bad.jpg"},
        {"too few pictures", model, "--calib images:" + pics + ":9 --calib-norm unit", 1, "holds 2 pictures"},
        {"open input dims", open, "--calib images:" + pics + " --calib-norm unit", 2, "--calib-shape"},
        {"bad shape", model, "--calib images:" + pics + " --calib-norm unit --calib-shape 3x8", 2, "CxHxW"},
        {"npy of the wrong rank", model, "--calib npy:" + dir.file("rank2.npy"), 1, "rank 2"},
        {"npy of ints", model, "--calib npy:" + dir.file("ints.npy"), 1, "floats"},
        {"missing npy", model, "--calib npy:" + dir.file("none.npy"), 1, "none.npy"},
        {"mixed on pictures", model, "--method mixed --avg-bits 4 --calib images:" + pics + " --calib-norm unit", 2,
         "fashion-mnist:train:N"},
    };
    for (const GraphPtqCliHostile& c : cases) {
        const std::string out = dir.file(std::string(c.name) + ".onnx");
        const auto r = testcli::run_tern("quantize " + c.model + " -o '" + out + "' " + c.args);
        EXPECT_EQ(r.code, c.code) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line\n" << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
    }
}

}  // namespace
}  // namespace tern
