#pragma once
// Pieces `tern train` shares between classifier and language-model runs:
// options, duration formatting, atomic text files and the metrics plot.
#include <cstdint>
#include <cstdio>
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

// Whole-run ETA from the pace of this process's epochs so far (a resumed run
// counts only what it trained itself).
class RunEta {
public:
    RunEta(int64_t first_epoch, int64_t epochs);
    // Formatted time left after `batch` of `batches` steps of epoch `epoch` (1-based).
    std::string left(int64_t epoch, int64_t batch, int64_t batches) const;

private:
    double start_;
    int64_t first_epoch_, epochs_;
};

// "resumed from PATH after epoch N" when the run continues a checkpoint.
void log_resume(FILE* log, const std::string& resume_path, int64_t epochs_done);

// The language-model half of `tern train` (recipes with data "text").
void run_train_lm(const nn::train::Recipe& r, const TrainCliOptions& o);

}  // namespace tern::cli
