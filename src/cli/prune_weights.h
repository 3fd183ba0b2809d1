#pragma once
// tern prune on a classifier file with a fine-grained method: --method
// magnitude|obd|obs --sparsity S (prune/weight_prune_file.h runs it).
#include <cstdint>
#include <string>

namespace tern::cli {

struct WeightPruneCliOptions {
    std::string model, output, method;
    double sparsity = 0;
    int64_t calib_images = 2048;
    int64_t obd_batch = 8;
    bool json = false;
};

void run_weight_prune(const WeightPruneCliOptions& o);

}  // namespace tern::cli
