#pragma once
// `tern train`'s options and its final report (the run itself is
// nn::train::run).
#include <cstdint>
#include <string>

#include "nn/train/run.h"

namespace tern::cli {

struct TrainCliOptions {
    std::string recipe;
    int64_t epochs = 0;
    std::string out;
    std::string resume;
    double checkpoint_minutes = 10;
    bool json = false;
    int threads = 0;
};

// The language-model run's report (JSON or text) on stdout.
void print_lm_result(const nn::train::RunResult& r, bool json);

}  // namespace tern::cli
