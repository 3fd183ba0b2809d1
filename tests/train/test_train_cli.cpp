// `tern train` and `tern eval` end to end, including the committed LeNet-5
// (the regression guard for the embedded model: >= 90.5% on the real test set).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "nn/data/image_dataset.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;

namespace {


std::string train_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string train_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-train-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

void train_cli_write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(TrainCli, CommittedModelsMeetTheirTargets) {
    REQUIRE_FASHION();
    const struct {
        const char* file;
        double target;
    } models[] = {{"models/fmnist-lenet5.safetensors", 0.905},
                {"models/fmnist-lenet300.safetensors", 0.89},
                {"models/fmnist-mobilenetv2_tiny.safetensors", 0.93}};
    for (const auto& m : models) {
        const auto r = run_tern("eval " + train_cli_source(m.file) + " --data fashion-mnist --json -t 2");
        ASSERT_EQ(r.code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_GE(j.at("accuracy").get<double>(), m.target) << m.file;
        EXPECT_EQ(j.at("images").get<int>(), 10000);
        EXPECT_EQ(j.at("per_class").size(), 10u);
    }
}

TEST(TrainCli, TrainWritesModelMetricsPlotAndEvalAgrees) {
    REQUIRE_FASHION();
    const std::string dir = train_cli_temp_dir();
    const std::string recipe = dir + "/r.json", out = dir + "/m.safetensors";
    train_cli_write(recipe, R"({"model": "lenet300", "epochs": 2, "batch_size": 64, "train_subset": 3000, "validation": 500,
        "optimizer": {"name": "adamw", "lr": 0.002}, "schedule": {"name": "cosine"}, "seed": 1,
        "output": "unused.safetensors"})");
    const auto r = run_tern("train " + recipe + " --out " + out + " --json -t 1");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("history").size(), 2u);
    EXPECT_GT(j.at("test_accuracy").get<double>(), 0.6);
    EXPECT_TRUE(std::filesystem::exists(out + ".metrics.csv"));
    EXPECT_TRUE(std::filesystem::exists(out + ".metrics.png"));
    EXPECT_FALSE(std::filesystem::exists(out + ".resume.safetensors"));  // removed once finished

    std::ifstream png(out + ".metrics.png", std::ios::binary);
    char sig[8] = {};
    png.read(sig, 8);
    EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8));

    const auto e = run_tern("eval " + out + " --json -t 1");
    ASSERT_EQ(e.code, 0) << e.err;
    EXPECT_EQ(nlohmann::json::parse(e.out).at("accuracy").get<double>(), j.at("test_accuracy").get<double>());
    std::filesystem::remove_all(dir);
}

TEST(TrainCli, BadInputsExitOneWithOneLine) {
    const std::string dir = train_cli_temp_dir();
    train_cli_write(dir + "/bad.json", R"({"model": "lenet5", "epochs": 1, "batch_size": 8, "optimizer": {"name": "sgd", "lr": 0.1, "beta": 1}})");
    train_cli_write(dir + "/junk.safetensors", "this is not a model");
    const auto one_line = [](const tern::testcli::RunResult& r) {
        return r.code == 1 && r.err.find('\n') == r.err.size() - 1;
    };
    auto r = run_tern("train " + dir + "/bad.json");
    EXPECT_TRUE(one_line(r)) << r.code << " " << r.err;
    EXPECT_NE(r.err.find("optimizer.beta"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
    r = run_tern("train /nonexistent/recipe.json");
    EXPECT_TRUE(one_line(r)) << r.err;
    r = run_tern("eval " + dir + "/junk.safetensors");
    EXPECT_TRUE(one_line(r)) << r.err;
    r = run_tern("eval /nonexistent/model.safetensors");
    EXPECT_TRUE(one_line(r)) << r.err;
    // A safetensors file that is not a tern classifier (a language model's tensors; quantizing
    // a classifier keeps its tern.* metadata, see tests/cli/test_cli_input_errors.cpp).
    r = run_tern("quantize " + train_cli_source("models/tinylm.gguf") + " -o " + dir + "/q.safetensors --format f16");
    if (r.code == 0) {
        r = run_tern("eval " + dir + "/q.safetensors");
        EXPECT_TRUE(one_line(r)) << r.err;
        EXPECT_NE(r.err.find("tern.model"), std::string::npos) << r.err;
    }
    EXPECT_EQ(run_tern("eval").code, 2);
    EXPECT_EQ(run_tern("train").code, 2);
    std::filesystem::remove_all(dir);
}
