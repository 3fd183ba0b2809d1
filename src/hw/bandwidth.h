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

// A buffer allocated and touched once, read again on every measure(): for
// benchmarks that interleave bandwidth probes with their own runs, because on a
// shared machine the bandwidth moves from minute to minute.
class BandwidthProbe {
public:
    explicit BandwidthProbe(uint64_t bytes);  // rounded to 4 KiB
    ~BandwidthProbe();
    BandwidthProbe(const BandwidthProbe&) = delete;
    BandwidthProbe& operator=(const BandwidthProbe&) = delete;
    // reps timed passes after one warm-up, all threads of the default pool.
    BandwidthResult measure(int reps);

private:
    float* buf_ = nullptr;
    uint64_t bytes_ = 0;
};

// bytes: buffer size (rounded to 4 KiB); reps: timed passes after one warm-up.
BandwidthResult measure_read_bandwidth(uint64_t bytes, int reps);

}  // namespace tern
