// `tern prune --method amc` on classifier files: a short search on LeNet-5
// writes a smaller model inside the MACs budget that tern eval loads; bad
// budgets fail with one line and write nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"
#include "nn/train/model_file.h"

using tern::testcli::run_tern;

namespace {

std::string amc_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string amc_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-amc-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

}  // namespace

TEST(AmcCli, LeNet5ShortSearchWritesAModelEvalLoads) {
    REQUIRE_FASHION();
    const std::string dir = amc_cli_temp_dir(), out = dir + "/amc.safetensors";
    const auto r = run_tern("prune " + amc_cli_source("models/fmnist-lenet5.safetensors") + " -o " + out +
                            " --method amc --flops 0.5 --episodes 4 --warmup 2 --val-images 100 --json -t 2");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_LE(j.at("macs_after").get<double>(), 0.5 * j.at("macs_before").get<double>());
    EXPECT_EQ(j.at("episodes").size(), 4u);
    EXPECT_EQ(j.at("val_images").get<int64_t>(), 100);
    EXPECT_GT(j.at("best_val_accuracy").get<double>(), 0.1);
    const auto f = tern::nn::train::load_classifier(out);
    EXPECT_EQ(f.model_name, j.at("model_after").get<std::string>());
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.err;
    EXPECT_GT(nlohmann::json::parse(e.out).at("accuracy").get<double>(), 0.1);
    std::filesystem::remove_all(dir);
}

TEST(AmcCli, BadBudgetsFailWithOneLineAndWriteNothing) {
    REQUIRE_FASHION();
    const std::string dir = amc_cli_temp_dir(), out = dir + "/x.safetensors";
    const std::string l5 = amc_cli_source("models/fmnist-lenet5.safetensors") + " -o " + out + " --method amc --val-images 10 --episodes 1 ";
    struct Case {
        std::string args;
        int code;
        std::string error;
    };
    const Case cases[] = {
        {l5, 2, "amc needs one budget"},
        {l5 + "--flops 0.5 --latency-ms 1", 2, "amc needs one budget"},
        {l5 + "--flops 1.5", 2, "(0, 1]"},
        {l5 + "--latency-ms -1", 2, "must be > 0"},
        {l5 + "--flops 0.5 --widths 3,8,60,40", 2, "amc chooses the widths itself"},
        {l5 + "--flops 0.00001", 1, "below what the narrowest model"},
    };
    for (const Case& c : cases) {
        const auto r = run_tern("prune " + c.args);
        EXPECT_EQ(r.code, c.code) << c.args << ": " << r.all();
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.args << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
    }
    std::filesystem::remove_all(dir);
}
