#pragma once
// DARTS (Liu, Simonyan, Yang 2019), first order, on the same elastic
// MobileNetV2 Space and over-parameterized network as ProxylessNAS
// (nas/proxyless_supernet.h). Every slot's output is the continuous mixture
//   y = sum_o softmax(alpha_slot)_o * op_o(h)
// over ALL of its candidates (the skip op is an identity), so a step costs
// every candidate's forward and backward, not one path's. Bilevel
// optimisation, first-order approximation (the paper's DARTS-1st: the
// weights' dependence on alpha is ignored):
//  - alpha step (a VALIDATION batch): the mixed network's CE, alpha as
//    autograd leaves, Adam (lr 3e-4, betas (0.5, 0.999), L2 1e-3);
//  - weight step (a TRAIN batch): the same mixed network with alpha fixed,
//    SGD with momentum and a cosine rate over all weights.
// With a latency target the alpha loss is CE * (E[lat]/target)^beta,
// E[lat] = sum softmax(alpha) * table latency, exactly ProxylessNAS's loss
// (nas/proxyless_latency.h); without one it is CE alone. The result is the
// argmax op per slot, repaired into the budget like ProxylessNAS's
// (nas/supernet_budget.h).
#include <cstdint>
#include <vector>

#include "nas/arch.h"
#include "nas/proxyless.h"
#include "nas/supernet_options.h"
#include "nn/data/image_dataset.h"

namespace tern::nas {

// latency_ms (optional, 0: none) is a target on the predicted end-to-end
// latency, batch 1, 1 thread; params and macs are hard budgets on the
// derived architecture.
struct DartsOptions : SupernetSearchCommon {
    int64_t search_epochs = 1;  // passes over the TRAIN images
    int64_t max_steps = 0;      // stops after this many weight steps (0: all of search_epochs)
    int64_t batch_size = 64;
    double warmup_fraction = 0;  // of the steps, weights only (the paper: none)
    float weight_lr = 0.025f, momentum = 0.9f, weight_decay = 3e-4f;  // SGD, cosine over the steps (the paper's)
    double arch_lr = 3e-4, arch_beta1 = 0.5, arch_beta2 = 0.999, arch_weight_decay = 1e-3;  // Adam on alpha (the paper's)
    double beta = 0.6;          // latency exponent of the alpha loss (with a latency target)
    uint64_t seed = 1;
};

// The same report as ProxylessNAS's: derived arch, argmax, repairs, width,
// calibration, alpha [slot][op], one row per step, CPU and wall seconds.
using DartsResult = ProxylessResult;

// Throws UsageError for bad options and InputError("budget", ...) when no
// architecture of the space meets the budget.
DartsResult darts_search(const Space& s, const data::ImageDataset& train, const data::ImageDataset& validation,
                         const DartsOptions& o);

// One alpha gradient of the mixed network's CE on a batch, alpha as autograd
// leaves (what an alpha step descends before the latency term and Adam).
// Exposed for tests against finite differences.
class Supernet;
std::vector<std::vector<double>> darts_alpha_gradient(Supernet& net, const std::vector<std::vector<double>>& alpha,
                                                      const Tensor& images, const std::vector<int64_t>& targets, double* ce = nullptr);

}  // namespace tern::nas
