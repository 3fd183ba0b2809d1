#pragma once
// tern prune on classifier files (.safetensors): physical channel pruning
// (--method l1|bn|taylor --flops F | --widths), NetAdapt (--method netadapt
// --latency-ms L | --latency-fraction F), AMC (--method amc --flops F |
// --latency-ms L, prune/amc.h) and the sensitivity scan (--scan).
// cmd_prune.cpp parses; these run and print.
#include <cstdint>
#include <optional>
#include <string>

namespace tern::cli {

struct ChannelPruneCliOptions {
    std::string model, output, method;
    std::optional<double> flops;
    std::string widths;  // "W1,W2,..."
    int64_t width_multiple = 1;
    std::string sensitivity;
    double latency_step = 0.05;
    int64_t finetune_epochs = 0;
    int64_t train_subset = 0;
    int64_t calib_batches = 8;
    bool json = false;
    // --scan
    bool scan = false;
    int64_t val_images = 1000;
    // netadapt
    std::optional<double> latency_ms, latency_fraction;
    int64_t steps = 200;
    int64_t iterations = 0;  // 0: until the budget
    // amc
    int64_t episodes = 100, warmup = 20;
    uint64_t seed = 1;
    int64_t bn_calib_images = 0;  // 0: the paper's reward (no batch-norm recalibration)
};

// The methods that take the classifier path.
bool is_channel_method(const std::string& method);

void run_channel_prune(const ChannelPruneCliOptions& o);

}  // namespace tern::cli
