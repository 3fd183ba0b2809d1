#pragma once
// NetAdapt (Yang et al. 2018) over tern's channel groups: each iteration sets
// a latency target a fixed step below the current model's predicted latency
// (hw/latency_table: per-operator times measured with tern's own ops), and for
// every prunable layer makes one candidate that drops just enough of that
// layer's channels (L1 order) to meet the target, fine-tunes it for a few
// hundred steps and measures its validation accuracy; the best candidate is
// kept. It stops when the budget is met.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hw/latency_table.h"
#include "nn/data/image_dataset.h"
#include "nn/models/pruned.h"
#include "nn/modules/module.h"
#include "nn/train/recipe.h"

namespace tern::prune {

// The layers of a pruned-family model as latency-table entries (batch 1, 28 x 28).
std::vector<hw::LayerConfig> latency_layers(const nn::models::PrunedArch& a, int64_t in_channels = 1,
                                            int64_t num_classes = 10);

using LatencyModel = std::function<double(const nn::models::PrunedArch&)>;  // milliseconds
// hw::predict_latency over latency_layers (the default table, measuring what it lacks).
LatencyModel table_latency();

struct NetAdaptOptions {
    double latency_ms = 0;        // absolute budget, or
    double latency_fraction = 0;  // of the input model's predicted latency
    double step_fraction = 0.05;  // latency reduction per iteration, of the input's latency
    int64_t short_steps = 200;    // fine-tune steps per candidate
    int64_t max_iterations = 100;
    LatencyModel latency;         // empty: table_latency()
    std::function<void(const std::string&)> log;
};

struct NetAdaptIteration {
    int64_t iteration = 0;
    std::string layer;   // the layer the kept candidate narrowed
    int64_t kept = 0;    // its channels after
    double latency_ms = 0, val_accuracy = 0;
    int64_t candidates = 0;
};

struct NetAdaptResult {
    std::string model_name;
    std::shared_ptr<nn::UnaryModule> model;  // eval mode
    double latency_before_ms = 0, latency_after_ms = 0;
    std::vector<NetAdaptIteration> history;
};

// `recipe` gives the short fine-tune's optimizer and batch size (at a tenth of
// its learning rate). InputError("--latency-ms", ...) when the budget is below
// what one channel per layer reaches.
NetAdaptResult netadapt(const nn::UnaryModule& model, const std::string& model_name, const nn::train::Recipe& recipe,
                        const data::ImageDataset& train, const data::ImageDataset& validation,
                        const NetAdaptOptions& options);

}  // namespace tern::prune
