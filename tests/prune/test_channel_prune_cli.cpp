// `tern prune` on classifier files: channel pruning writes a smaller dense
// model that tern cost / eval / train --init load; bad input fails with one
// line and writes nothing; the .gguf path is untouched (test_prune_cli.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"
#include "nas/build.h"
#include "nn/models/pruned.h"
#include "nn/models/zoo.h"
#include "nn/train/model_file.h"

using tern::testcli::run_tern;

namespace {

std::string channel_prune_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string channel_prune_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-chprune-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

}  // namespace

TEST(ChannelPruneCli, MobileNetHalfTheMacsIsASmallerModelThatCostLoads) {
    const std::string dir = channel_prune_cli_temp_dir(), out = dir + "/m.safetensors";
    const auto r = run_tern("prune " + channel_prune_cli_source("models/fmnist-mobilenetv2_tiny.safetensors") + " -o " + out +
                            " --method l1 --flops 0.5 --json");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_LE(j.at("macs_after").get<double>(), 0.5 * j.at("macs_before").get<double>());
    EXPECT_LT(j.at("params_after").get<int64_t>(), j.at("params_before").get<int64_t>());
    const auto f = tern::nn::train::load_classifier(out);
    EXPECT_EQ(f.model_name, j.at("model_after").get<std::string>());
    EXPECT_EQ(f.model->parameter_count(), j.at("params_after").get<int64_t>());
    EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(channel_prune_cli_source("models/fmnist-mobilenetv2_tiny.safetensors")));
    const auto c = run_tern("cost " + out + " --json");
    ASSERT_EQ(c.code, 0) << c.all();
    EXPECT_EQ(nlohmann::json::parse(c.out).at("total").at("macs").get<int64_t>(), j.at("macs_after").get<int64_t>());
}

TEST(ChannelPruneCli, LeNet5TaylorFineTunedLoadsInEval) {
    REQUIRE_FASHION();
    const std::string dir = channel_prune_cli_temp_dir(), out = dir + "/l5.safetensors";
    const auto r = run_tern("prune " + channel_prune_cli_source("models/fmnist-lenet5.safetensors") + " -o " + out +
                            " --method taylor --calib-batches 2 --flops 0.5 --finetune-epochs 1 --train-subset 1000 --json -t 2");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_GT(j.at("test_accuracy").get<double>(), 0.7);
    EXPECT_FALSE(std::filesystem::exists(out + ".pruned-init.safetensors"));
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.err;
    EXPECT_NEAR(nlohmann::json::parse(e.out).at("accuracy").get<double>(), j.at("test_accuracy").get<double>(), 1e-9);
}

TEST(ChannelPruneCli, BadInputFailsWithOneLineAndWritesNothing) {
    const std::string dir = channel_prune_cli_temp_dir();
    const std::string m = channel_prune_cli_source("models/fmnist-mobilenetv2_tiny.safetensors"), l300 = channel_prune_cli_source("models/fmnist-lenet300.safetensors");
    // A model with no layers channel pruning knows: a NAS-found architecture.
    tern::nas::register_model_family();
    tern::nas::Arch arch;
    arch.stages = {{16, 1, {{3, 4}}}};
    const std::string nas_name = tern::nas::model_name(arch), nas = dir + "/nas.safetensors";
    tern::nn::train::save_classifier(nas, *tern::nn::models::make_model(nas_name, 1), {{"tern.model", nas_name}});
    const std::string bad_scan = dir + "/bad_scan.csv";
    std::ofstream(bad_scan) << "layer,sparsity\n";
    struct Case {
        std::string args;
        int code;
        std::string error;
    };
    const std::string out = dir + "/x.safetensors";
    const Case cases[] = {
        {m + " -o " + out + " --method l1 --flops 0", 2, "(0, 1]"},
        {m + " -o " + out + " --method l1 --flops 1.5", 2, "(0, 1]"},
        {m + " -o " + out + " --method l1", 2, "--flops F in (0, 1]"},
        {m + " -o " + out + " --method l1 --flops 0.5 --width-multiple 0", 2, "--width-multiple"},
        {m + " -o " + dir + "/x.gguf --method l1 --flops 0.5", 2, ".safetensors"},
        {m + " -o " + out + " --method l2 --flops 0.5", 2, "unknown method 'l2'"},
        {l300 + " -o " + out + " --method l1 --widths 0,50", 2, "fc1 width 0 would prune every channel of the layer (allowed 1..300)"},
        {l300 + " -o " + out + " --method l1 --widths 10", 2, "lenet300 has 2 prunable layers"},
        {l300 + " -o " + out + " --method bn --flops 0.5", 1, "has no batch norm"},
        {l300 + " -o " + out + " --method l1 --flops 0.0001", 1, "below what one channel per layer reaches"},
        {nas + " -o " + out + " --method l1 --flops 0.5", 1, "has no layers channel pruning knows"},
        {"--scan " + m + " -o " + dir + "/scan.txt", 2, "-o NAME.csv"},
        {l300 + " -o " + out + " --method l1 --flops 0.5 --sensitivity " + bad_scan, 1, "not a tern prune --scan CSV"},
        {l300 + " -o " + out + " --method netadapt", 2, "--latency-ms L"},
        {l300 + " -o " + out + " --method netadapt --latency-fraction 1.5", 2, "(0, 1)"},
    };
    for (const Case& c : cases) {
        const auto r = run_tern("prune " + c.args);
        EXPECT_EQ(r.code, c.code) << c.args << ": " << r.all();
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.args << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
        EXPECT_FALSE(std::filesystem::exists(dir + "/scan.txt")) << c.args;
        EXPECT_FALSE(std::filesystem::exists(dir + "/scan.png")) << c.args;
    }
}
