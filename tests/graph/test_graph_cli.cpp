// tern info MODEL.onnx and tern run MODEL.onnx --input X.npy [--output Y.npy] [--json],
// on a small CNN written at test time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

using testcli::run_tern;

// A folder of its own per test: ctest runs the tests of this file in parallel.
struct CnnFiles {
    testio::TempDir dir;
    std::string model = save_model(small_cnn(), dir.file("cnn.onnx"));
    std::string input = dir.file("x.npy");
    std::string output = dir.file("y.npy");
    CnnFiles() {
        std::vector<float> x(2 * 16);
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) / 16.f - 1.f;
        write_npy(input, Tensor::from_floats({1, 2, 4, 4}, x));
    }
};

TEST(GraphCli, InfoListsOpsParametersAndShapes) {
    CnnFiles f;
    const auto r = run_tern("info " + f.model);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("opset 13"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("parameters 57"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("input      x  f32 [?, 2, 4, 4]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Conv"), std::string::npos) << r.out;
    const auto j = run_tern("info --json " + f.model);
    ASSERT_EQ(j.code, 0) << j.err;
    const auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["ops"]["Relu"], 1);
    EXPECT_EQ(doc["outputs"][0]["shape"], "[?, 3]");
}

// A model whose spatial dims are open has no plan until --shape gives them.
TEST(GraphCli, InfoPlansForTheShapeGiven) {
    testio::TempDir dir;
    onnx::ModelProto m = small_cnn();
    auto* dims = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->mutable_dim(2)->set_dim_param("H");
    dims->mutable_dim(3)->set_dim_param("W");
    const std::string model = save_model(m, dir.file("open.onnx"));
    const auto none = run_tern("info " + model);
    ASSERT_EQ(none.code, 0) << none.err;
    EXPECT_NE(none.out.find("plan       none"), std::string::npos) << none.out;
    const auto r = run_tern("info --json --shape 1x2x8x6 " + model);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    ASSERT_TRUE(doc["plan"]["planned"].get<bool>()) << r.out;
    // Conv 3x3, 2 -> 3 channels, pad 1, on 8x6: 3 * 8 * 6 outputs of 2 * 9 MACs.
    EXPECT_EQ(doc["macs"].get<long long>(), 3 * 8 * 6 * 2 * 9);
    EXPECT_EQ(doc["plan"]["input_shapes"]["x"], (std::vector<int64_t>{1, 2, 8, 6}));
    const auto bad = run_tern("info --shape 1x2x0 " + model);
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.err.find("--shape '1x2x0'"), std::string::npos) << bad.err;
    const auto wrong = run_tern("info --shape 1x3x8x6 " + model);
    EXPECT_EQ(wrong.code, 1) << wrong.out;
}

TEST(GraphCli, RunWritesTheOutputNpyAndJson) {
    CnnFiles f;
    const auto r = run_tern("run " + f.model + " --input " + f.input + " --output " + f.output + " --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    ASSERT_EQ(doc["outputs"][0]["shape"], (std::vector<int64_t>{1, 3}));
    const Tensor y = read_npy(f.output);
    ASSERT_EQ(y.shape(), (Shape{1, 3}));
    for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(doc["outputs"][0]["values"][i].get<float>(), y.data<float>()[i]);
}

TEST(GraphCli, BadInputsExitOneOrTwoWithOneLine) {
    CnnFiles f;
    const std::string wrong = f.dir.file("wrong.npy");
    write_npy(wrong, Tensor::zeros({1, 3, 4, 4}));
    const struct {
        std::string args;
        int code;
        std::string expect;
    } cases[] = {
        {"run " + f.model + " --input " + wrong, 1, "[input 'x'] has shape [1, 3, 4, 4], the model needs [-1, 2, 4, 4]"},
        {"run " + f.model + " --input " + f.model, 1, "not a .npy file"},
        {"run " + f.input + " --input " + f.input, 1, "not an ONNX model"},
        {"run " + f.model + " --input " + f.input + " --input " + f.input, 2, "the model takes 1 input(s) (x)"},
        {"info " + f.input + ".onnx", 1, "x.npy.onnx"},
    };
    for (const auto& c : cases) {
        const auto r = run_tern(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

}  // namespace
}  // namespace tern::testgraph
