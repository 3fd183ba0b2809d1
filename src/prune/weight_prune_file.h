#pragma once
// What `tern prune MODEL.safetensors --method magnitude|obd|obs --sparsity S`
// runs: one-shot fine-grained pruning of a classifier file, every Conv2d and
// Linear weight to the same sparsity (layer-wise), no fine-tuning:
//   magnitude  the smallest |w| of each tensor;
//   obd        Optimal Brain Damage (LeCun et al. 1990): the smallest
//              1/2 · F_ii · w_i², F_ii the diagonal empirical Fisher (squared
//              loss gradients averaged over calibration mini-batches);
//   obs        layer-wise Optimal Brain Surgeon / ExactOBS (prune/obs.h) on each
//              layer's input Hessian X^T X, layer by layer in model order, each
//              layer calibrated on the model whose earlier layers are already
//              pruned, so it also compensates their error.
// Calibration images come from the TRAIN split of the recipe stored in the
// file (tern.recipe); the output is written atomically with the zeros exact.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "prune/classifier_masks.h"

namespace tern::prune {

struct WeightPruneRequest {
    std::string input, output;  // output: .safetensors
    std::string method = "magnitude";
    double sparsity = 0.5;
    int64_t calibration_images = 1024;  // obd, obs: the first N training images
    int64_t obd_batch = 8;              // obd: images per gradient (smaller is closer to the per-sample Fisher)
    double damp = 0.01;                 // obs
    std::function<void(const std::string&)> log;
};

struct WeightPruneReport {
    std::string model_name;
    std::vector<LayerSparsity> layers;  // as written, "total" last
    int64_t calibration_images = 0;     // 0 for magnitude
};

// The fine-grained methods for classifiers.
bool is_weight_prune_method(const std::string& method);

// UsageError (exit 2) for an unknown method, a sparsity outside [0, 1), a bad
// output name or count; InputError naming the file for a model without
// Conv2d / Linear weights, a QAT model, or one without a stored recipe (obd, obs).
WeightPruneReport prune_classifier_weights(const WeightPruneRequest& request);

}  // namespace tern::prune
