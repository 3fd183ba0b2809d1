#include "hw/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/stream/stream.h"

namespace tern {

BandwidthProbe::BandwidthProbe(uint64_t bytes) : bytes_((bytes + 4095) / 4096 * 4096) {
    const int64_t n = static_cast<int64_t>(bytes_ / sizeof(float));
    buf_ = static_cast<float*>(aligned_alloc_bytes(bytes_));  // huge pages when large
    // Touch every page so the timing measures reads, not page faults.
    for (int64_t i = 0; i < n; ++i) buf_[i] = static_cast<float>(i & 7);
}

BandwidthProbe::~BandwidthProbe() { aligned_free_bytes(buf_); }

BandwidthResult BandwidthProbe::measure(int reps) {
    const int64_t n = static_cast<int64_t>(bytes_ / sizeof(float));
    ThreadPool& pool = default_pool();
    const auto& k = stream_kernel();
    BandwidthResult r;
    r.bytes = bytes_;
    r.threads = pool.size();
    volatile float sink = 0;
    for (int rep = -1; rep < reps; ++rep) {
        std::vector<float> partial(static_cast<size_t>(pool.size()), 0.0f);
        const auto t0 = std::chrono::steady_clock::now();
        pool.run([&](int t, int nt) {
            // 64-float aligned slices so every thread streams whole cache lines.
            const int64_t chunks = n / 64;
            const int64_t b = chunks * t / nt * 64, e = chunks * (t + 1) / nt * 64;
            partial[static_cast<size_t>(t)] = k.read_sum(buf_ + b, e - b);
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (float p : partial) sink = sink + p;
        if (rep >= 0) r.runs_gbps.push_back(static_cast<double>(bytes_) / s / 1e9);
    }
    std::vector<double> sorted = r.runs_gbps;
    std::sort(sorted.begin(), sorted.end());
    if (!sorted.empty()) {
        r.median_gbps = sorted[sorted.size() / 2];
        r.best_gbps = sorted.back();
    }
    return r;
}

BandwidthResult measure_read_bandwidth(uint64_t bytes, int reps) { return BandwidthProbe(bytes).measure(reps); }

}  // namespace tern
