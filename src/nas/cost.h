#pragma once
// What an architecture costs: parameters and multiply-accumulates counted
// exactly from the Arch (convolutions and the classifier; batch norm, ReLU6,
// the residual adds and pooling are not MACs), and latency measured by running
// the built module at batch 1 on one thread. The latency source is a
// std::function, so a table / predictor from hw/ can replace the measurement.
#include <cstdint>
#include <functional>

#include "nas/arch.h"

namespace tern::nas {

struct ArchCost {
    int64_t params = 0;  // trainable parameters (what Module::parameter_count counts)
    int64_t macs = 0;    // per image at 28x28
};

ArchCost arch_cost(const Arch& a, int64_t in_channels = 1, int64_t num_classes = 10, int64_t resolution = 28);

// Milliseconds for one image through an architecture.
using LatencyEstimator = std::function<double(const Arch&)>;

// Median of `runs` timed forwards (after two warm-ups) of the built model at
// batch 1 with the default thread pool set to one thread for the measurement.
// On a loaded machine it is noisy (the median tames single outliers only), so a
// latency budget makes the search depend on the machine; params and MACs do not.
double measure_latency_ms(const Arch& a, int runs = 7, int64_t resolution = 28);
LatencyEstimator measured_latency(int runs = 7);

}  // namespace tern::nas
