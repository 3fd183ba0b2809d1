#pragma once
// The whole training run a recipe describes, for classifiers and language
// models alike: resume from a checkpoint, the epoch loop with per-epoch
// validation, the resume checkpoint after every epoch (and every few minutes
// inside one, so a killed session loses minutes, not an epoch), the metrics CSV
// and plot, the test measurement and the finished model file. `tern train` is
// argument parsing, this call and printing; QAT, distillation, pruning and NAS
// runs come in through the hooks.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/train/recipe.h"
#include "nn/train/train_loop.h"
#include "nn/train/training_run.h"

namespace tern::nn::train {

// How the run reports while it goes (each may be empty).
struct RunCallbacks {
    std::function<void(const std::string& line)> log;  // whole lines, '\n' included
    std::function<void(int64_t epoch, int64_t epochs, int64_t steps)> epoch_begin;
    std::function<void(int64_t step, const std::string& status)> step;  // running loss, accuracy, ETA
    std::function<void()> epoch_end;  // after the last step and validation, before the epoch's log line
};

struct RunOptions {
    std::string resume;  // a <output>.resume.safetensors to continue (epoch boundary or mid-epoch)
    // A mid-epoch resume checkpoint at the first step boundary this many minutes
    // after the last one; 0: only at epoch ends.
    double checkpoint_minutes = 10;
    int64_t checkpoint_every_steps = 0;  // > 0: also after every that many steps of an epoch (tests)
    RunCallbacks callbacks;
};

struct RunResult {
    bool language_model = false;
    std::string model, output, metrics_csv, plot_png;
    std::string tokenizer;  // language models: <output>.tokenizer.json
    int64_t epochs = 0, parameters = 0;
    int64_t train_tokens = 0, context = 0;  // language models
    std::vector<EpochMetrics> history;
    double train_seconds = 0;
    // The test split once at the end: images (classifier) or scored tokens.
    double test_loss = 0, test_accuracy = 0;
    int64_t test_count = 0;
    double test_ppl() const;
};

// Trains `recipe` (epochs and output already final) to its end and writes
// <output> (and for a language model <output>.tokenizer.json), removing the
// resume checkpoint. Throws InputError / IoError / UsageError before training
// when an input or an output path is wrong.
RunResult run(const Recipe& recipe, const TrainHooks& hooks = {}, const RunOptions& options = {});

}  // namespace tern::nn::train
