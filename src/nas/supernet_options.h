#pragma once
// What both supernet searches (nas/proxyless.h, nas/ofa_search.h) take from a
// search's options: the budgets, the latency model that judges them and where
// progress lines go. One struct, so `tern search` fills them in one place.
#include <cstdint>
#include <functional>
#include <string>

#include "nas/cost.h"
#include "nas/proxyless_latency.h"

namespace tern::nas {

struct Budget {
    double latency_ms = 0;  // 0: none
    int64_t params = 0, macs = 0;
};

struct SupernetSearchCommon : Budget {
    std::string space_name = "search space";  // for messages
    // Microseconds per layer configuration; empty: tern's latency table (measuring and saving missing entries).
    LayerLatency layer_latency;
    // End-to-end latency of an architecture, to calibrate the table's sums; empty: measured_latency().
    LatencyEstimator measured;
    std::function<void(const std::string&)> log;  // progress lines, '\n' included
};

}  // namespace tern::nas
