#pragma once
// The roofline denominators the GEMV/GEMM benchmarks judge themselves against,
// measured once per program at 1 and 2 threads: read bandwidth (1 GiB stream,
// median of 5) and the compute peaks (FMA, BF16, VNNI). On a shared machine the
// bandwidth drifts during a long run; `tern bench MODEL --roofline` probes per
// repetition where that matters.
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

}  // namespace tern::benchutil
