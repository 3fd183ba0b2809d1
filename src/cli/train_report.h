#pragma once
// Pieces `tern train` shares between classifier and language-model runs:
// options, duration formatting, atomic text files and the metrics plot.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/train/recipe.h"
#include "nn/train/training_run.h"

namespace tern::cli {

struct TrainCliOptions {
    std::string recipe;
    int64_t epochs = 0;
    std::string out;
    std::string resume;
    bool json = false;
    int threads = 0;
};

std::string fmt_duration(double seconds);
std::string pct(double fraction);
void write_text_file(const std::string& path, const std::string& text);
// Loss and accuracy curves (train and validation) per epoch.
void write_plot(const std::string& path, const std::vector<nn::train::EpochMetrics>& history);

// The language-model half of `tern train` (recipes with data "text").
void run_train_lm(const nn::train::Recipe& r, const TrainCliOptions& o);

}  // namespace tern::cli
