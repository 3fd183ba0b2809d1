#pragma once
// Once-for-All's search (Cai et al., ICLR 2020): a supernet trained once with
// progressive shrinking (nas/ofa_train.h), or reused from a file, then
// regularized evolution (nas/strategy.h) over its subnets under latency /
// parameter / MAC budgets. A subnet is judged WITHOUT retraining: its shared
// weights are copied out, its batch norms recalibrated on TRAIN images, and
// its accuracy measured on the VALIDATION images. Latency is predicted from
// tern's latency table (the mbconv entries ProxylessNAS uses), times one
// factor fitted on the smallest and the largest subnet measured end to end.
// Width is not elastic here: the supernet is the space's widest width.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nas/cost.h"
#include "nas/ofa_train.h"
#include "nas/proxyless_latency.h"
#include "nas/supernet_options.h"

namespace tern::nas {

// Budgets: 0 is none.
struct OfaOptions : SupernetSearchCommon {
    int64_t max_evals = 20;  // subnets evaluated by the evolution
    int64_t population = 10, tournament = 3;
    int64_t bn_images = 500;  // TRAIN images for each subnet's batch-norm recalibration
    std::string supernet;     // file: reused when it exists, else trained and written there ("" : trained, not kept)
    int64_t train_subset = 0;  // recorded in (and checked against) the supernet file
    std::string data = "fashion-mnist";
    OfaTrainOptions train;
};

struct OfaCandidate {
    Arch arch;
    ArchCost cost;
    double predicted_ms = 0, val_accuracy = 0, seconds = 0;
};

struct OfaResult {
    Arch best;
    std::shared_ptr<nn::models::MobileNetV2> model;  // the best subnet, batch norm recalibrated, eval mode
    double val_accuracy = 0, predicted_ms = 0, latency_scale = 1;
    std::vector<OfaCandidate> history;  // in evaluation order
    bool reused_supernet = false;
    OfaTrainReport train;  // empty when reused
    double train_cpu_seconds = 0, search_cpu_seconds = 0;
};

// The Space the evolution walks: `s` at its widest width only. Throws
// InputError(where, ...) when `s` has choices a weight-sharing supernet cannot
// serve (expansion 1: no expand conv to share; a kernel of even size).
Space ofa_space(const Space& s, const std::string& where);

// Throws UsageError for bad options, InputError("budget", ...) when no subnet
// meets the budget, InputError(supernet file, ...) for a file that is not this
// space's supernet or was trained on another split.
OfaResult ofa_search(const Space& s, const data::ImageDataset& train, const data::ImageDataset& validation, const OfaOptions& o);

}  // namespace tern::nas
