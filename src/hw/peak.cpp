#include "hw/peak.h"

#include <chrono>
#include <map>
#include <mutex>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/peak/peak.h"

namespace tern {
namespace {

template <class Probe>
double run_probe(ThreadPool& pool, double seconds, Probe probe) {
    // Calibrate the iteration count on one thread, then time all threads.
    int64_t iters = 1 << 14;
    for (;;) {
        const auto t0 = std::chrono::steady_clock::now();
        probe(iters);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > seconds / 4 || iters > (int64_t{1} << 34)) break;
        iters *= 4;
    }
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        std::vector<double> ops(static_cast<size_t>(pool.size()));
        const auto t0 = std::chrono::steady_clock::now();
        pool.run([&](int t, int) { ops[static_cast<size_t>(t)] = probe(iters); });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double total = 0;
        for (double o : ops) total += o;
        best = std::max(best, total / s / 1e9);
    }
    return best;
}

}  // namespace

ComputePeaks measure_compute_peaks(double seconds) {
    static std::mutex mu;
    static std::map<int, ComputePeaks> cache;
    ThreadPool& pool = default_pool();
    std::lock_guard lock(mu);
    if (auto it = cache.find(pool.size()); it != cache.end()) return it->second;
    const PeakKernels& k = peak_kernel();
    ComputePeaks p;
    p.threads = pool.size();
    p.f32_gflops = run_probe(pool, seconds, [&](int64_t it) {
        float sink;
        return k.fma_f32(it, &sink);
    });
    if (k.dot_bf16)
        p.bf16_gflops = run_probe(pool, seconds, [&](int64_t it) {
            float sink;
            return k.dot_bf16(it, &sink);
        });
    if (k.dot_u8s8)
        p.int8_gops = run_probe(pool, seconds, [&](int64_t it) {
            int32_t sink;
            return k.dot_u8s8(it, &sink);
        });
    cache[pool.size()] = p;
    return p;
}

}  // namespace tern
