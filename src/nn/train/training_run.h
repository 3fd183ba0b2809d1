#pragma once
// What every training run shares, whatever it trains: the optimizer and the
// learning-rate schedule a recipe names, per-epoch metrics, and resumable
// checkpoints (weights, buffers, optimizer state and history in one
// safetensors file whose metadata records the recipe it was trained with).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json_out.h"
#include "nn/modules/module.h"
#include "nn/optim/optimizer.h"
#include "nn/train/recipe.h"
#include "nn/train/train_loop.h"

namespace tern::nn::train {

struct EpochMetrics {
    int64_t epoch = 0;  // 1-based
    double lr = 0;      // at the epoch's last step
    double train_loss = 0, train_accuracy = 0;  // running over the epoch, training mode, augmented
    double val_loss = 0, val_accuracy = 0;      // NaN when there is no validation split
    double seconds = 0;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerRecipe& o, const std::vector<Var>& params);

// The recipe's learning rate at global step `step` (0-based), with
// `steps_per_epoch` steps in an epoch.
float scheduled_lr(const Recipe& r, int64_t step, int64_t steps_per_epoch);

// Writes a resume checkpoint atomically (`extra_metadata` is added as is).
// `in_progress` (steps > 0): the checkpoint is taken inside epoch history.size() + 1,
// after that many steps; null: at the end of epoch history.size().
void save_resume_checkpoint(const std::string& path, const Recipe& r, const Module& model, Optimizer& opt,
                            const std::vector<EpochMetrics>& history,
                            const std::map<std::string, std::string>& extra_metadata = {},
                            const EpochProgress* in_progress = nullptr);
// Restores weights and optimizer state into `model` / `opt` and returns the
// history. The checkpoint must have been trained with the same recipe (up to
// epochs and output), else InputError(path, ...). `in_progress` receives where
// the next epoch stands (steps 0 for an epoch-boundary checkpoint, which is all
// checkpoints written before mid-epoch ones existed); its step must be below
// `steps_per_epoch`.
std::vector<EpochMetrics> load_resume_checkpoint(const std::string& path, const Recipe& r, Module& model,
                                                 Optimizer& opt, EpochProgress* in_progress = nullptr,
                                                 int64_t steps_per_epoch = 0);

// History as CSV (epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds) and JSON.
std::string history_csv(const std::vector<EpochMetrics>& h);
Json history_json(const std::vector<EpochMetrics>& h);
std::vector<EpochMetrics> history_from_json(const Json& j);

}  // namespace tern::nn::train
