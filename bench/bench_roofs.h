#pragma once
// The roofline denominators the GEMV/GEMM benchmarks judge themselves against,
// measured once per program at 1 and 2 threads: read bandwidth (1 GiB stream,
// median of 5) and the compute peaks (FMA, BF16, VNNI). This VM's bandwidth
// drifts by tens of percent within minutes, so streaming benchmarks also probe it
// again right after their own timing loop (`bandwidth_now`) and judge themselves
// against that, as `tern bench MODEL --roofline` does per repetition.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "core/thread_pool.h"
#include "hw/bandwidth.h"
#include "hw/peak.h"

namespace tern::benchutil {

struct Roofs {
    double bw[3] = {0, 0, 0};  // GB/s by thread count (index 1, 2)
    ComputePeaks peaks[3];     // by thread count (index 1, 2)
};

inline const Roofs& roofs() {
    static const Roofs r = [] {
        Roofs x;
        for (int t : {1, 2}) {
            set_default_threads(t);
            x.bw[t] = measure_read_bandwidth(uint64_t{1} << 30, 5).median_gbps;
            x.peaks[t] = measure_compute_peaks(0.1);
        }
        return x;
    }();
    return r;
}

// Read bandwidth at `threads` threads, now: a 256 MiB stream (far beyond L3),
// median of 3. Call it after a benchmark's timing loop (outside the timed region).
inline double bandwidth_now(int threads) {
    static BandwidthProbe probe(uint64_t{256} << 20);
    set_default_threads(threads);
    return probe.measure(3).median_gbps;
}

// The streaming counters every GEMV benchmark reports: GB/s of weight bytes,
// that as a fraction of the bandwidth probed right after the run (`roofline`),
// the probe itself (`bw_GBps`) and the start-up probe for comparison (`bw0_GBps`).
template <class State>
void report_stream(State& st, double gigabytes, int threads) {
    const double bw = bandwidth_now(threads);
    st.counters["GBps"] = benchmark::Counter(gigabytes, benchmark::Counter::kIsRate);
    st.counters["roofline"] = benchmark::Counter(gigabytes / bw, benchmark::Counter::kIsRate);
    st.counters["bw_GBps"] = bw;
    st.counters["bw0_GBps"] = roofs().bw[threads];
}

}  // namespace tern::benchutil
