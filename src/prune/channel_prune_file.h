#pragma once
// What `tern prune MODEL.safetensors --method l1|bn|taylor` runs: reads a
// classifier file, scores channels, narrows every prunable layer to a MACs
// budget (one ratio for all layers) or to given widths, writes the smaller
// dense model ("pruned:" family) atomically, and optionally fine-tunes it with
// the training recipe the file's metadata holds (tern.recipe, from tern train).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nn/train/model_file.h"
#include "nn/train/recipe.h"

namespace tern::prune {

struct ChannelPruneRequest {
    std::string input, output;     // output: .safetensors
    std::string method = "l1";     // l1 | bn | taylor
    double flops = 0;              // fraction of the MACs kept, (0, 1]; unused when widths are given
    std::vector<int64_t> widths;   // explicit widths, one per prunable layer (width_names order)
    int64_t width_multiple = 1;    // --flops widths rounded down to multiples of this
    std::string sensitivity;       // a --scan CSV: per-layer ratios from it instead of one uniform ratio
    int64_t calibration_batches = 8;  // taylor: training batches of 64
    int64_t finetune_epochs = 0;
    int64_t train_subset = 0;      // fine-tune on only the first N training images (0: the recipe's)
    std::function<void(const std::string&)> log;
};

struct ChannelLayerReport {
    std::string name;
    int64_t before = 0, after = 0;
};

struct ChannelPruneReport {
    std::string model_before, model_after;
    std::vector<ChannelLayerReport> layers;
    int64_t macs_before = 0, macs_after = 0, params_before = 0, params_after = 0;
    bool finetuned = false;
    double test_accuracy = 0;  // after fine-tuning (the test split), when finetuned
};

// Checks the request's numbers (UsageError, exit 2) before reading anything.
void check_channel_request(const ChannelPruneRequest& r);

// The classifier file, refused (InputError naming it) when its model has no
// channel groups tern can prune or it is a QAT model.
nn::train::ClassifierFile load_prunable_classifier(const std::string& path);

// The file's training recipe (tern.recipe), for fine-tuning and validation data.
nn::train::Recipe stored_recipe(const nn::train::ClassifierFile& f, const std::string& path);

// Fine-tunes `model_file` (already written) for `epochs` with the stored recipe
// at a tenth of its learning rate and no warm-up, writing `output`; returns the
// test accuracy. `extra` metadata is added to the written file.
double finetune_classifier(const std::string& model_file, const nn::train::Recipe& base, int64_t epochs,
                           int64_t train_subset, const std::string& output,
                           const std::map<std::string, std::string>& extra,
                           const std::function<void(const std::string&)>& log);

ChannelPruneReport prune_classifier_channels(const ChannelPruneRequest& request);

}  // namespace tern::prune
