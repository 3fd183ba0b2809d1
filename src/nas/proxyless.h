#pragma once
// ProxylessNAS (Cai, Zhu, Han 2019) on an elastic MobileNetV2 Space: one
// over-parameterized network whose every block is a mixed op over the
// candidates (nas/proxyless_latency.h), with architecture parameters alpha per
// block, trained with binarized paths so memory and compute are those of one
// or two subnets rather than of all of them:
//  - weight step (a TRAIN batch): one path per block drawn from softmax(alpha);
//    only that path's weights (and the shared stem / head) are updated, each
//    op with its own SGD momentum, so an op that was not run does not move;
//  - alpha step (a VALIDATION batch): the paper's two-path gradient estimate.
//    Per block two distinct ops are drawn from softmax(alpha); a binary gate g
//    picks one of them by their renormalised probabilities p'; the block's
//    output is g_a o_a + g_b o_b with the gates as leaves, so dL/dg_j = <dL/dy, o_j>
//    and dL/dalpha_i = sum_j dL/dg_j p'_j (delta_ij - p'_i) over the two; after
//    the Adam step the two alphas are shifted so their joint mass is what it was
//    before (the paper's rescaling). The loss is CE * (E[lat]/target)^beta with
//    E[lat] differentiable in every alpha, not just the two drawn.
// The first `warmup_fraction` of the steps trains weights only. The result is
// the argmax op per block; when that misses the budget, the cheapest repair
// (the switch that costs the least log-probability per millisecond saved) is
// applied until it fits.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nas/arch.h"
#include "nas/cost.h"
#include "nas/proxyless_latency.h"
#include "nas/supernet_options.h"
#include "nn/data/image_dataset.h"

namespace tern::nas {

// latency_ms is the target (required): predicted end-to-end latency, batch 1,
// 1 thread; params and macs are further hard budgets, enforced on the derived
// architecture (0: none).
struct ProxylessOptions : SupernetSearchCommon {
    int64_t search_epochs = 1;    // passes over the TRAIN images
    int64_t max_steps = 0;        // stops after this many weight steps (0: all of search_epochs)
    int64_t batch_size = 64;
    double warmup_fraction = 0.25;  // of the steps, weights only
    float weight_lr = 0.05f, momentum = 0.9f, weight_decay = 4e-5f;  // SGD, cosine over the steps
    double arch_lr = 6e-3, arch_beta1 = 0.0, arch_beta2 = 0.999;     // Adam on alpha (the paper's)
    double beta = 0.6;            // latency exponent of the loss
    uint64_t seed = 1;
};

struct ProxylessStep {
    int64_t step = 0, epoch = 0;
    double lr = 0, train_ce = 0;
    bool arch_step = false;
    double val_ce = 0, loss = 0;          // of the alpha step (when arch_step)
    double expected_ms = 0, argmax_ms = 0;  // E[lat] and the argmax architecture's predicted latency, after the step
    double mean_top_p = 0;                // mean over blocks of the largest probability (how decided alpha is)
};

struct ProxylessResult {
    Arch arch;                   // the derived architecture (within the budget)
    Arch argmax;                 // before the budget repair
    int64_t repairs = 0;         // switches the repair made
    double width = 1;            // the width the supernet used
    double predicted_ms = 0;     // the arch's latency from the calibrated table
    double latency_scale = 1;    // measured / table sum, fitted on the calibration architectures
    std::vector<std::pair<double, double>> calibration;  // (table sum, measured) ms
    std::vector<std::vector<double>> alpha;  // [slot][op]
    std::vector<MixedSlot> slots;
    std::vector<ProxylessStep> steps;
    double cpu_seconds = 0, wall_seconds = 0;
};

// Throws UsageError for bad options and InputError("budget", ...) when no
// architecture of the space meets the budget by the calibrated prediction.
ProxylessResult proxyless_search(const Space& s, const data::ImageDataset& train, const data::ImageDataset& validation,
                                 const ProxylessOptions& o);

// The per-step log as CSV (header and one line per step).
std::string proxyless_csv(const std::vector<ProxylessStep>& steps);

// Process CPU time in seconds (all threads), for search costs in CPU-hours.
double process_cpu_seconds();

}  // namespace tern::nas
