#pragma once
// Supervised image-classification training from a Recipe: seeded model and
// data split, shuffled (and optionally augmented) mini-batches from the
// background loader, per-step learning-rate schedule, per-epoch validation,
// and resumable checkpoints.
//
// Determinism: for a given recipe, seed and thread count the run is
// reproducible, and resuming from an epoch or mid-epoch checkpoint continues exactly as an
// uninterrupted run (batch contents depend only on (seed, epoch, batch) and
// the optimizer state is saved).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/data/batch_loader.h"
#include "nn/data/image_dataset.h"
#include "nn/modules/binary_layer.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/module.h"
#include "nn/optim/optimizer.h"
#include "nn/train/recipe.h"
#include "nn/train/train_loop.h"
#include "nn/train/training_run.h"

namespace tern::nn::train {

struct EvalResult {
    double loss = 0;      // mean cross-entropy
    double accuracy = 0;  // fraction correct
    int64_t count = 0;
    std::vector<int64_t> class_correct, class_total;
};

// Loss and accuracy of `model` (put in eval mode) over all of `ds`, in order.
EvalResult evaluate(UnaryModule& model, const data::ImageDataset& ds, int64_t batch_size = 500);

// The quantizers a recipe's "qat" section asks for.
FakeQuantSpec fake_quant_spec(const QatRecipe& q);
// The binarizers a recipe's "binary" / "ternary" section asks for (layers not chosen yet).
BinarySpec binary_spec(const BinaryRecipe& b);

struct TrainData {
    std::shared_ptr<const data::ImageDataset> train, validation;  // validation may be null
};
// The recipe's training images, minus a seeded validation split.
TrainData load_train_data(const Recipe& r);
// The same from an already loaded full training set.
TrainData split_train_data(const Recipe& r, std::shared_ptr<const data::ImageDataset> full);
// The dataset's held-out test split ("fashion-mnist" only for now).
data::ImageDataset load_test_data(const std::string& name, const std::string& dir = "");

struct StepReport {
    int64_t epoch = 0, batch = 0, batches = 0;  // epoch 1-based, batch 1-based
    double loss = 0, accuracy = 0;              // running over the epoch so far
};
using StepCallback = std::function<void(const StepReport&)>;

class Trainer {
public:
    Trainer(Recipe r, TrainData data);
    ~Trainer();

    // Trains epoch epochs_done() + 1 and validates; appends to history().
    EpochMetrics train_epoch(const StepCallback& on_step = {});
    bool finished() const { return epochs_done() >= recipe_.epochs; }
    int64_t epochs_done() const { return static_cast<int64_t>(history_.size()); }
    const std::vector<EpochMetrics>& history() const { return history_; }
    const Recipe& recipe() const { return recipe_; }
    UnaryModule& model() { return *model_; }
    std::shared_ptr<UnaryModule> model_ptr() { return model_; }
    int64_t batches_per_epoch() const;
    float lr_at(int64_t step) const;

    // A resumable checkpoint: weights, buffers, optimizer state, history.
    // Hooks every later train_epoch runs (QAT, distillation, pruning schedules).
    void set_hooks(TrainHooks hooks) { hooks_ = std::move(hooks); }

    // `in_progress`: a mid-epoch checkpoint of epoch epochs_done() + 1 (from a
    // hook's StepContext::progress); null: at the epoch boundary.
    void save_resume(const std::string& path, const EpochProgress* in_progress = nullptr) const;
    // Restores what save_resume wrote; the checkpoint's model must match the recipe's.
    void load_resume(const std::string& path);
    // Where the next train_epoch starts (steps 0 unless a mid-epoch checkpoint was loaded).
    const EpochProgress& resumed_progress() const { return resumed_; }

private:
    Recipe recipe_;
    TrainData data_;
    std::shared_ptr<UnaryModule> model_;
    std::unique_ptr<Optimizer> optimizer_;
    std::unique_ptr<data::BatchLoader> loader_;
    std::vector<EpochMetrics> history_;
    TrainHooks hooks_;
    EpochProgress resumed_;
};

}  // namespace tern::nn::train
