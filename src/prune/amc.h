#pragma once
// AMC (He et al. 2018, "AMC: AutoML for Model Compression and Acceleration on
// Mobile Devices"), resource-constrained variant, over the "pruned:" family
// (nn/models/pruned.h). An episode visits the prunable layers in width_names
// order; at each a DDPG agent (prune/ddpg.h) sees the layer's state and
// answers a KEEP ratio in [0, 1] (the paper's agent answers the same number,
// its "preserve ratio"), turned into a channel count and clipped so the
// budget stays reachable: the widest the layer may be with every later layer
// at its narrowest. The last layer's clip meets the budget exactly, so every
// episode's architecture is feasible. The reward is -error (the paper's
// R_err) of the narrowed model, channels kept in L1 order, WITHOUT
// fine-tuning, on validation images. The best-reward architecture is kept.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/models/pruned.h"
#include "nn/modules/module.h"
#include "prune/ddpg.h"
#include "prune/netadapt.h"

namespace tern::prune {

// The static description of the layer whose output channels a prunable width
// counts (for mobilenetv2_tiny's hidden widths: the block's expand + depthwise
// pair, kernel and stride of the depthwise), at the widths of `a`. `macs`:
// the MACs that depend on this width (those that vanish when it is zero).
struct AmcLayer {
    std::string name;
    int64_t in = 0, out = 0, kernel = 1, stride = 1, size = 1;
    int64_t macs = 0;
};
std::vector<AmcLayer> amc_layers(const nn::models::PrunedArch& a, int64_t in_channels = 1, int64_t num_classes = 10);

// The cost the budget bounds (MACs, or predicted milliseconds).
using AmcCost = std::function<double(const nn::models::PrunedArch&)>;

class AmcEnvironment {
public:
    // State features, each in [0, 1]: layer index, in channels, out channels,
    // feature-map size, kernel, stride, the layer's MACs (these six min-max
    // normalized over the layers), MACs already removed by the earlier
    // layers' choices and MACs of the later layers (both over the start's
    // MACs), previous action.
    static constexpr int64_t kStateSize = 10;

    // `start` gives each layer's widest width. Widths are multiples of
    // `width_multiple` (or the layer's full width; layers not wider than the
    // multiple take any width). InputError(budget_flag, ...) when the budget
    // is below the cost of the narrowest model.
    AmcEnvironment(const nn::models::PrunedArch& start, AmcCost cost, double budget, const std::string& budget_flag,
                   int64_t width_multiple = 1, int64_t in_channels = 1, int64_t num_classes = 10);

    void reset();
    bool done() const { return layer_ >= layers_.size(); }
    size_t layer() const { return layer_; }
    std::vector<float> state() const;
    // The widest width the current layer may take (the later layers at their narrowest).
    int64_t max_width() const;
    // Sets the current layer's width from a keep ratio (nearest allowed width,
    // clipped to [narrowest, max_width()]) and moves to the next; returns the width.
    int64_t step(double keep_ratio);
    // The chosen widths so far, the later layers at the start's.
    const nn::models::PrunedArch& arch() const { return arch_; }
    double budget() const { return budget_; }
    const std::vector<AmcLayer>& layers() const { return layers_; }

private:
    nn::models::PrunedArch start_, arch_;
    AmcCost cost_;
    double budget_;
    int64_t in_channels_, num_classes_;
    std::vector<AmcLayer> layers_;
    std::vector<std::vector<int64_t>> allowed_;  // per layer, ascending
    std::vector<std::vector<float>> static_features_;  // per layer, normalized
    int64_t start_macs_ = 0;
    size_t layer_ = 0;
    double prev_action_ = 1;
};

struct AmcOptions {
    double flops = 0;        // fraction of the input's MACs kept, or
    double latency_ms = 0;   // a latency budget (`latency` model)
    int64_t episodes = 100;
    int64_t warmup = 20;     // episodes of uniform random actions before the agent acts
    int64_t width_multiple = 1;
    uint64_t seed = 1;
    DdpgOptions agent;       // its seed is `seed`
    LatencyModel latency;    // empty: table_latency()
    // > 0: before each reward (and for the result), the narrowed model's batch
    // norms are recalibrated on the first `bn_images` images of `bn_data`
    // (TRAINING images; nn/train/batch_norm_recalibration). 0: the paper's
    // reward, statistics as sliced.
    int64_t bn_images = 0;
    const data::ImageDataset* bn_data = nullptr;
    std::function<void(const std::string&)> log;
};

struct AmcEpisode {
    int64_t episode = 0;
    std::vector<int64_t> widths;
    double cost = 0;  // MACs or ms, as the budget
    double val_accuracy = 0, reward = 0;
};

struct AmcResult {
    std::string model_name;  // the best architecture, "pruned:..."
    std::shared_ptr<nn::UnaryModule> model;  // eval mode, original weights (L1 channels)
    double best_reward = 0, best_val_accuracy = 0;
    int64_t best_episode = 0;
    int64_t macs_before = 0, macs_after = 0;
    double latency_before_ms = 0, latency_after_ms = 0;  // the latency model's
    std::vector<AmcEpisode> history;
};

// Exactly one of options.flops / options.latency_ms must be > 0. `model` is
// only read (channel_scores takes it mutable for the Taylor criterion).
AmcResult amc_search(nn::UnaryModule& model, const std::string& model_name, const data::ImageDataset& validation,
                     const AmcOptions& options);

}  // namespace tern::prune
