// prune/channel_regression.h: the LASSO keeps exactly the channels whose
// contributions the output needs (a channel that contributes nothing, or
// duplicates another, goes first), and `tern prune --method regression`
// writes a smaller pruned: model with the refit consumer that tern eval
// loads and that beats L1 channel pruning at the same MACs without
// fine-tuning (test split, LeNet-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"
#include "io/io_test_util.h"
#include "prune/channel_regression.h"

namespace tern::prune {
namespace {

// Gram matrix of per-channel contributions z_c (samples long): G_cd = z_c . z_d.
std::vector<double> gram(const std::vector<std::vector<double>>& z) {
    const int64_t n = static_cast<int64_t>(z.size());
    std::vector<double> g(static_cast<size_t>(n * n), 0.0);
    for (int64_t c = 0; c < n; ++c)
        for (int64_t d = 0; d < n; ++d)
            for (size_t s = 0; s < z[c].size(); ++s) g[c * n + d] += z[c][s] * z[d][s];
    return g;
}

TEST(ChannelRegression, LassoDropsSilentAndRedundantChannelsFirst) {
    std::mt19937 rng(3);
    std::normal_distribution<double> g(0.0, 1.0);
    std::vector<std::vector<double>> z(6, std::vector<double>(64));
    for (int c = 0; c < 6; ++c)
        for (double& v : z[c]) v = g(rng) * (1.0 + c);
    for (double& v : z[2]) v *= 1e-3;  // contributes almost nothing
    z[4] = z[5];                       // channel 4 duplicates 5: one of them is enough
    for (double& v : z[4]) v *= 0.5;
    const std::vector<double> gm = gram(z);
    const std::vector<int64_t> four = lasso_select(gm, 6, 4);
    ASSERT_EQ(four.size(), 4u);
    EXPECT_EQ(std::count(four.begin(), four.end(), 2), 0);
    EXPECT_EQ(std::count(four.begin(), four.end(), 4) + std::count(four.begin(), four.end(), 5), 1);
    EXPECT_TRUE(std::is_sorted(four.begin(), four.end()));
    EXPECT_EQ(lasso_select(gm, 6, 6).size(), 6u);
    // lambda 0 reproduces the output exactly: beta = 1.
    for (double b : channel_lasso(gm, 6, 0.0)) EXPECT_NEAR(b, 1.0, 1e-6);
}

std::string channel_regression_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

TEST(ChannelRegressionCli, LeNet5BeatsL1AtTheSameMacsWithoutFineTuning) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    double acc[2] = {};
    std::string names[2];
    const char* methods[2] = {"l1", "regression"};
    for (int i = 0; i < 2; ++i) {
        const std::string out = dir.file(std::string(methods[i]) + ".safetensors");
        const auto r = testcli::run_tern("prune " + channel_regression_source("models/fmnist-lenet5.safetensors") + " -o " + out + " --method " +
                                         methods[i] + " --flops 0.5 --calib-batches 4 --json -t 2");
        ASSERT_EQ(r.code, 0) << r.err;
        names[i] = nlohmann::json::parse(r.out).at("model_after").get<std::string>();
        const auto e = testcli::run_tern("eval " + out + " --data fashion-mnist --json -t 2");
        ASSERT_EQ(e.code, 0) << e.err;
        acc[i] = nlohmann::json::parse(e.out).at("accuracy").get<double>();
    }
    EXPECT_EQ(names[0], names[1]);  // same widths, so the same MACs
    EXPECT_GT(acc[1], acc[0] + 0.05) << "l1 " << acc[0] << " regression " << acc[1];
}

}  // namespace
}  // namespace tern::prune
