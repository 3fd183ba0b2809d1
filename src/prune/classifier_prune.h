#pragma once
// Pruning a classifier while it trains, as its recipe's "prune" section says:
// the schedule's prune events pick masks by the criterion and granularity,
// after_backward zeroes the pruned weights' gradients (momentum never sees
// them), on_step_end writes exact zeros again after every optimizer step, and
// on_epoch_end records per-layer sparsity in <output>.sparsity.csv. A resumed
// run takes its masks back from the checkpoint's zeros.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/train/run.h"
#include "prune/classifier_masks.h"

namespace tern::prune {

// Checks what the recipe parser cannot see without the model: that it has
// prunable weights and that an N:M pattern's M divides every row. InputError
// naming the recipe file.
void check_prune_recipe(const nn::train::Recipe& r);

class ClassifierPruner {
public:
    // `calibration`: training images for taylor / obd gradients (null for magnitude).
    ClassifierPruner(const nn::train::Recipe& r, std::shared_ptr<const data::ImageDataset> calibration,
                     std::function<void(const std::string&)> log = {});
    ~ClassifierPruner();
    nn::train::TrainHooks hooks();
    // Sparsity rows so far (epoch, layer...) as CSV.
    std::string sparsity_csv() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct PrunedRun {
    nn::train::RunResult run;
    std::vector<LayerSparsity> sparsity;  // of the written model file, "total" last
    std::string sparsity_csv;            // <output>.sparsity.csv
    double compression() const;          // prunable weights / nonzero ones
};

// check_prune_recipe, then nn::train::run with the pruning hooks; measures the
// written file's zeros.
PrunedRun run_pruned_training(const nn::train::Recipe& r, const nn::train::RunOptions& options);

}  // namespace tern::prune
