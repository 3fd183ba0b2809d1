#pragma once
// Measured memory read bandwidth: the roofline that decode and GEMV are judged
// against. Reads a buffer far larger than the last-level cache, on 2 MiB huge
// pages where the kernel grants them, with every thread of the pool.
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

// 1 GiB: far past any L3, and what a plain 8-accumulator reader is checked on
// (tests/hw/long_bandwidth.cpp).
inline constexpr uint64_t kBandwidthProbeBytes = uint64_t{1} << 30;
inline constexpr int kBandwidthProbeReps = 7;

struct BandwidthResult {
    double median_gbps = 0;
    double best_gbps = 0;
    std::vector<double> runs_gbps;
    uint64_t bytes = 0;
    uint64_t huge_page_bytes = 0;  // of the buffer, backed by huge pages (/proc/self/smaps)
    std::string thp_mode;          // /sys/kernel/mm/transparent_hugepage/enabled: always|madvise|never|""
    int threads = 1;
};

// A buffer allocated and touched once, read again on every measure(): for
// benchmarks that interleave bandwidth probes with their own runs, because on a
// shared machine the bandwidth moves from minute to minute.
class BandwidthProbe {
public:
    explicit BandwidthProbe(uint64_t bytes = kBandwidthProbeBytes);  // rounded to 2 MiB
    ~BandwidthProbe();
    BandwidthProbe(const BandwidthProbe&) = delete;
    BandwidthProbe& operator=(const BandwidthProbe&) = delete;
    // reps passes after one warm-up, all threads of the default pool; a pass's
    // figure is its median 32 MiB segment (bandwidth.cpp), the result the
    // median and best of the passes.
    BandwidthResult measure(int reps = kBandwidthProbeReps);
    uint64_t bytes() const { return bytes_; }
    uint64_t huge_page_bytes() const { return huge_bytes_; }

private:
    float* buf_ = nullptr;
    uint64_t bytes_ = 0;
    uint64_t huge_bytes_ = 0;
};

// bytes: buffer size (rounded to 2 MiB); reps: timed passes after one warm-up.
BandwidthResult measure_read_bandwidth(uint64_t bytes = kBandwidthProbeBytes, int reps = kBandwidthProbeReps);

// The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled, or "" when
// the file is absent (not Linux, or a kernel without THP).
std::string transparent_huge_page_mode();

// Bytes of [p, p + bytes) that /proc/self/smaps reports as AnonHugePages (0
// where smaps is unreadable): whether madvise(MADV_HUGEPAGE) was honoured.
uint64_t huge_page_bytes_of(const void* p, uint64_t bytes);

}  // namespace tern
