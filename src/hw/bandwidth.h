#pragma once
// Measured memory read bandwidth: the roofline that decode and GEMV are judged
// against. Reads a buffer far larger than the last-level cache with every
// thread of the pool, each streaming its own contiguous slice.
#include <cstdint>
#include <vector>

namespace tern {

struct BandwidthResult {
    double median_gbps = 0;
    double best_gbps = 0;
    std::vector<double> runs_gbps;
    uint64_t bytes = 0;
    int threads = 1;
};

// bytes: buffer size (rounded to 4 KiB); reps: timed passes after one warm-up.
BandwidthResult measure_read_bandwidth(uint64_t bytes, int reps);

}  // namespace tern
