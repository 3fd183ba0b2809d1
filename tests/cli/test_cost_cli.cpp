// tern cost MODEL: per-layer MACs, bytes, roofline and energy of a classifier
// file or an ONNX graph; --latency adds the latency table's prediction and the
// measured latency. Fixed --peak-gops / --bandwidth-gbps keep the tests from
// probing the machine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "interop/classifier_graph.h"
#include "io/io_test_util.h"

namespace tern::testcli {
namespace {

const std::string kFixed = " --peak-gops 100 --bandwidth-gbps 10";

std::string model_file(const std::string& name) {
    return std::string(TERN_SOURCE_DIR) + "/models/" + name + ".safetensors";
}

nlohmann::json cost_json(const std::string& args) {
    const RunResult r = run_tern("cost " + args + kFixed + " --json");
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

TEST(CostCli, LeNet5CountsItsMacsAndParameters) {
    const auto j = cost_json(model_file("fmnist-lenet5"));
    ASSERT_TRUE(j.contains("total"));
    // conv1 6x28x28x25 + conv2 16x10x10x150 + fc 400x120 + 120x84 + 84x10
    EXPECT_EQ(j["total"]["macs"], 117600 + 240000 + 48000 + 10080 + 840);
    EXPECT_EQ(j["total"]["params"], 61706);
    EXPECT_EQ(j["format"], "classifier");
    EXPECT_EQ(j["machine"]["measured"], false);
    double compute = 0, memory = 0;
    for (const auto& l : j["layers"]) {
        EXPECT_GE(l["bound_us"].get<double>(), std::max(l["compute_us"].get<double>(), l["memory_us"].get<double>()) - 1e-9);
        compute += l["energy_compute_uj"].get<double>(), memory += l["energy_memory_uj"].get<double>();
    }
    EXPECT_NEAR(j["total"]["energy_compute_uj"].get<double>(), compute, 1e-6);
    EXPECT_NEAR(j["total"]["energy_memory_uj"].get<double>(), memory, 1e-6);
    EXPECT_NEAR(j["total"]["energy_compute_uj"].get<double>(), 416520 * 4.6e-6, 0.05);  // plus pooling and activations
}

TEST(CostCli, Int8MovesAQuarterOfTheBytesOfF32) {
    const auto f = cost_json(model_file("fmnist-mobilenetv2_tiny"));
    const auto q = cost_json(model_file("fmnist-mobilenetv2_tiny") + " --dtype int8");
    ASSERT_TRUE(f.contains("total") && q.contains("total"));
    EXPECT_EQ(f["total"]["macs"], q["total"]["macs"]);
    EXPECT_EQ(f["total"]["weight_bytes"].get<int64_t>(), 4 * q["total"]["weight_bytes"].get<int64_t>());
    EXPECT_LT(q["total"]["energy_compute_uj"].get<double>(), f["total"]["energy_compute_uj"].get<double>() / 10);
}

TEST(CostCli, OnnxExportCostsTheSameAsTheClassifier) {
    testio::TempDir dir;
    const std::string onnx = dir.file("lenet5.onnx");
    interop::export_classifier_onnx(model_file("fmnist-lenet5"), onnx);
    const auto a = cost_json(model_file("fmnist-lenet5"));
    const auto b = cost_json(onnx);
    ASSERT_TRUE(a.contains("total") && b.contains("total"));
    EXPECT_EQ(b["format"], "ONNX");
    EXPECT_EQ(a["total"]["macs"], b["total"]["macs"]);
    EXPECT_EQ(a["total"]["params"], b["total"]["params"]);
    EXPECT_EQ(a["layers"].size(), b["layers"].size());
}

TEST(CostCli, TextTableHasEveryLayerAndTheTotals) {
    const RunResult r = run_tern("cost " + model_file("fmnist-lenet300") + kFixed);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("Gemm"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("total"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("energy"), std::string::npos) << r.out;
}

TEST(CostCli, LatencyMeasuresMissingEntriesOnceAndCachesThem) {
    testio::TempDir dir;
    const std::string table = dir.file("table.json");
    const std::string args = "cost " + model_file("fmnist-lenet300") + kFixed + " --json --latency --runs 2 --latency-table " + table;
    const RunResult first = run_tern(args);
    ASSERT_EQ(first.code, 0) << first.err;
    const auto j1 = nlohmann::json::parse(first.out);
    EXPECT_GT(j1["latency"]["table_entries_measured"].get<int>(), 0);
    EXPECT_GT(j1["latency"]["predicted_us"].get<double>(), 0);
    EXPECT_GT(j1["latency"]["measured_us"].get<double>(), 0);
    EXPECT_TRUE(j1["latency"]["uncovered_nodes"].empty()) << j1["latency"]["uncovered_nodes"];
    ASSERT_TRUE(std::filesystem::exists(table));
    const RunResult second = run_tern(args);
    ASSERT_EQ(second.code, 0) << second.err;
    const auto j2 = nlohmann::json::parse(second.out);
    EXPECT_EQ(j2["latency"]["table_entries_measured"], 0);
    EXPECT_EQ(j2["latency"]["predicted_us"], j1["latency"]["predicted_us"]);
}

TEST(CostCli, BadInputIsOneLineNamingTheFile) {
    testio::TempDir dir;
    const std::string junk_onnx = dir.file("junk.onnx");
    std::ofstream(junk_onnx) << "this is not a protobuf";
    const std::string junk_st = dir.file("junk.safetensors");
    std::ofstream(junk_st) << "\x08\x00\x00\x00\x00\x00\x00\x00{}";
    const std::string txt = dir.file("model.txt");
    std::ofstream(txt) << "hello";
    const std::string bad_table = dir.file("table.json");
    std::ofstream(bad_table) << "{\"format\": \"tern-latency-table\", \"version\": 7, \"cpus\": {}}";
    const std::pair<std::string, std::string> cases[] = {
        {dir.file("absent.onnx"), dir.file("absent.onnx")},
        {junk_onnx, junk_onnx},
        {junk_st, junk_st},
        {txt, txt},
        {model_file("fmnist-lenet300") + " --latency --latency-table " + bad_table, bad_table},
    };
    for (const auto& [args, named] : cases) {
        const RunResult r = run_tern("cost " + args + kFixed);
        EXPECT_EQ(r.code, 1) << args << ": " << r.all();
        EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
        EXPECT_EQ(r.err.find("tern export"), std::string::npos) << r.err;  // the hint fits every command
    }
    const RunResult usage = run_tern("cost " + model_file("fmnist-lenet300") + " --dtype f16");
    EXPECT_EQ(usage.code, 2) << usage.all();
    EXPECT_NE(usage.err.find("int8"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace tern::testcli
