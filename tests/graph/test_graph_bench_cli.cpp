// tern info MODEL.onnx (MACs, planned and naive activation bytes) and
// tern bench MODEL.onnx [-t 1,2] [--runs N] [--json] on models written at test time.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "mobilenet_builder.h"

namespace tern::testgraph {
namespace {

using testcli::run_tern;

TEST(GraphBenchCli, InfoReportsPlannedAndNaiveActivationBytesAndMacs) {
    testio::TempDir dir;
    const std::string model = save_model(mobilenet_style(4), dir.file("mnet.onnx"));
    const auto j = run_tern("info --json " + model);
    ASSERT_EQ(j.code, 0) << j.err;
    const auto doc = nlohmann::json::parse(j.out);
    const int64_t peak = doc["peak_activation_bytes"], naive = doc["naive_activation_bytes"];
    EXPECT_GT(peak, 0);
    EXPECT_GE(naive, 3 * peak);
    // Stem 3x3 s2 (16x16 out), 4 blocks of 1x1 16->96, dw 3x3 96, 1x1 96->16, the Gemm head 16->10.
    const int64_t stem = 16 * 16 * 16 * 3 * 9, block = 256 * (16 * 96 + 96 * 9 + 96 * 16);
    const int64_t macs = stem + 4 * block + 16 * 10;
    EXPECT_EQ(doc["macs"].get<int64_t>(), macs);
    const auto t = run_tern("info " + model);
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_NE(t.out.find("activations " + std::to_string(peak) + " bytes peak"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("MACs       " + std::to_string(macs)), std::string::npos) << t.out;
}

TEST(GraphBenchCli, BenchReportsLatencyPerThreadCount) {
    testio::TempDir dir;
    const std::string model = save_model(mobilenet_style(1), dir.file("mnet.onnx"));
    const auto r = run_tern("bench " + model + " -t 1,2 --runs 3 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    ASSERT_EQ(doc.size(), 2u);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(doc[i]["threads"], i + 1);
        EXPECT_EQ(doc[i]["runs"], 3);
        EXPECT_GT(doc[i]["median_ms"].get<double>(), 0);
        EXPECT_GE(doc[i]["p90_ms"].get<double>(), doc[i]["median_ms"].get<double>());
    }
    const auto text = run_tern("bench " + model + " --runs 2");
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("median ms"), std::string::npos) << text.out;
}

TEST(GraphBenchCli, BadBenchArgumentsExitOneOrTwoWithOneLine) {
    testio::TempDir dir;
    const std::string model = save_model(mobilenet_style(1), dir.file("mnet.onnx"));
    onnx::ModelProto open = small_cnn();  // (?, 2, 4, 4): only the batch dim is open, so it plans
    open.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_param("H");
    const std::string open_model = save_model(open, dir.file("open.onnx"));
    const struct {
        std::string args;
        int code;
        std::string expect;
    } cases[] = {
        {"bench " + model + " --runs 0", 2, "--runs"},
        {"bench " + open_model, 1, "input 'x' has dim 2 unknown before run time; give it with --shape"},
        {"bench " + open_model + " --shape 1x2x4", 1, "shape [1, 2, 4] does not fit the declared [?, 2, ?, 4]"},
        {"bench " + open_model + " --shape 1x2x0x4", 2, "--shape '1x2x0x4': want dims"},
        {"bench " + dir.file("missing.onnx"), 1, "missing.onnx"},
    };
    for (const auto& c : cases) {
        const auto r = run_tern(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    const auto fixed = run_tern("bench " + open_model + " --shape 1x2x6x4 --runs 1 --json");
    EXPECT_EQ(fixed.code, 0) << fixed.err;
    onnx::ModelProto huge = small_cnn();  // declared (?, 2, 2^20, 2^20): info answers, and does not plan it
    huge.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_value(1 << 20);
    huge.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(3)->set_dim_value(1 << 20);
    const auto big = run_tern("info " + save_model(huge, dir.file("huge.onnx")));
    EXPECT_EQ(big.code, 0) << big.err;
    EXPECT_NE(big.out.find("too large to plan here"), std::string::npos) << big.out;
    const auto info = run_tern("info " + open_model);  // info still answers, without a plan
    EXPECT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("plan       none: input 'x' has dim 2 unknown before run time"), std::string::npos) << info.out;
}

}  // namespace
}  // namespace tern::testgraph
