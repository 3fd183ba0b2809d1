#pragma once
// What a training run reports as it goes, shared by classifier and language
// model runs: duration and percent formatting, atomic text files, the metrics
// plot and the whole-run ETA.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/train/training_run.h"

namespace tern::nn::train {

std::string fmt_duration(double seconds);
std::string pct(double fraction);
void write_text_file(const std::string& path, const std::string& text);
// Loss and accuracy curves (train and validation) per epoch.
void write_plot(const std::string& path, const std::vector<EpochMetrics>& history);

// Whole-run ETA from the pace of this process's steps so far (a resumed run
// counts only what it trained itself).
class RunEta {
public:
    // `first_epoch`: epochs already done when this process started (fractional
    // when it resumed inside an epoch).
    RunEta(double first_epoch, int64_t epochs);
    // Formatted time left after `batch` of `batches` steps of epoch `epoch` (1-based).
    std::string left(int64_t epoch, int64_t batch, int64_t batches) const;

private:
    double start_;
    double first_epoch_;
    int64_t epochs_;
};

}  // namespace tern::nn::train
