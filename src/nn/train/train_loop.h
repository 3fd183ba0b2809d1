#pragma once
// The one training step loop every trainer shares (classifier, language model,
// and the coming QAT, distillation, pruning and NAS runs): per step set the
// scheduled learning rate, zero gradients, forward, check the loss, backward,
// clip, optimizer step; running loss and top-1 accuracy over the epoch. What
// differs between trainers (the batch and the loss) comes in as a callback;
// what a compression method adds to training plugs in through TrainHooks.
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "nn/autograd.h"
#include "nn/modules/module.h"
#include "nn/optim/optimizer.h"
#include "nn/train/recipe.h"

namespace tern::nn::train {

// What one step's forward gave.
struct StepLoss {
    Var loss;             // scalar, differentiable
    int64_t samples = 0;  // its weight in the epoch's mean (images, or predicted tokens)
    int64_t correct = 0;  // top-1 hits among them
};

// The running sums of an epoch so far: what a mid-epoch checkpoint saves so that
// the resumed epoch's means come out bit-identical to an uninterrupted one.
struct EpochProgress {
    int64_t steps = 0;  // steps done in the epoch
    int64_t samples = 0, correct = 0;
    double loss_sum = 0;  // sum over steps of loss * samples
    float lr = 0;         // at the last step done
    double seconds = 0;   // training time spent on the epoch before this process
};

// What a hook sees and may change (the model's weights, the optimizer's state).
struct StepContext {
    Module& model;
    Optimizer& optimizer;
    int64_t epoch = 0;        // 1-based
    int64_t step = 0;         // 1-based within the epoch
    int64_t steps = 0;        // steps per epoch
    int64_t global_step = 0;  // 0-based across epochs (the schedule's step)
    float lr = 0;
    double loss = std::numeric_limits<double>::quiet_NaN();  // this step's; NaN before the forward
    double running_loss = 0, running_accuracy = 0;           // over the epoch so far, this step included at the end
    EpochProgress progress;                                  // the sums behind them, at on_step_end
};

struct EpochTotals {
    int64_t epoch = 0;  // 1-based
    int64_t steps = 0, samples = 0;
    float lr = 0;  // at the last step
    double loss = 0, accuracy = 0;  // means over the epoch (0 when it had no steps)
};

// What a classifier step's forward gives when a hook replaces it.
struct ClassifierForward {
    Var loss;    // scalar, differentiable
    Var logits;  // (N, classes): top-1 accuracy is counted on them
};

struct TrainHooks {
    std::function<void(StepContext&)> on_step_begin;   // batch loaded, before the forward; may change ctx.lr
    std::function<void(StepContext&)> after_backward;  // gradients ready; before clipping and the optimizer step
    std::function<void(StepContext&)> on_step_end;     // after the optimizer step
    // After the epoch's last step, before the trainer validates.
    std::function<void(Module&, Optimizer&, const EpochTotals&)> on_epoch_end;
    // Replaces a classifier step's forward and loss (distillation: a teacher's
    // outputs and the student's features enter the loss); gets the model, the
    // augmented batch and its labels. Empty: cross-entropy of model(images).
    std::function<ClassifierForward(Module& model, const Var& images, const std::vector<int32_t>& labels)>
        classifier_forward;
};

// Both sets of hooks, `first`'s callback before `second`'s at every point
// (QAT's calibration at the first step before a distiller's forward). At most
// one may replace the classifier forward: two losses for one step is an Error.
TrainHooks merge_hooks(TrainHooks first, TrainHooks second);

struct EpochLoop {
    const Recipe* recipe = nullptr;  // the schedule, grad_clip, and the name errors carry
    Module* model = nullptr;
    Optimizer* optimizer = nullptr;
    int64_t epoch = 0;            // 0-based
    int64_t steps_per_epoch = 0;  // the schedule's; the loop ends earlier when next_step says so
    // Where a resumed epoch stands: the loop starts at step resume.steps (0-based)
    // with these sums; next_batch must then give that step's batch first.
    EpochProgress resume;
    // Loads the batch of step `step` (0-based in the epoch); false: the epoch has no more.
    std::function<bool(int64_t step)> next_batch;
    // The forward of the batch next_batch loaded.
    std::function<StepLoss()> forward;
};

// Trains one epoch. Throws InputError(recipe source) when the loss is not finite.
EpochTotals run_epoch(const EpochLoop& loop, const TrainHooks& hooks = {});

}  // namespace tern::nn::train
