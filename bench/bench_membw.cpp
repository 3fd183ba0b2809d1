// Read bandwidth of this machine, 1 and 2 threads, with the multi-accumulator
// stream kernel on a 1 GiB buffer (huge pages): the roofline for decode/GEMV.
// Also the one-accumulator loop, to show why a naive probe underestimates it.
#include <benchmark/benchmark.h>

#include <chrono>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/stream/stream.h"

namespace {

constexpr int64_t kBytes = int64_t{1} << 30;

float* buffer() {
    static float* buf = [] {
        auto* b = static_cast<float*>(tern::aligned_alloc_bytes(kBytes));
        for (int64_t i = 0; i < kBytes / 4; ++i) b[i] = static_cast<float>(i & 7);
        return b;
    }();
    return buf;
}

void BM_ReadBandwidth(benchmark::State& st) {
    const int threads = static_cast<int>(st.range(0));
    tern::ThreadPool pool(threads);
    const auto& k = tern::stream_kernel();
    float* buf = buffer();
    const int64_t n = kBytes / 4;
    for (auto _ : st) {
        std::vector<float> partial(static_cast<size_t>(threads));
        pool.run([&](int t, int nt) {
            const int64_t chunks = n / 64;
            const int64_t b = chunks * t / nt * 64, e = chunks * (t + 1) / nt * 64;
            partial[static_cast<size_t>(t)] = k.read_sum(buf + b, e - b);
        });
        benchmark::DoNotOptimize(partial.data());
    }
    st.SetBytesProcessed(st.iterations() * kBytes);
    st.SetLabel(k.name);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();

void BM_ReadBandwidthOneAccumulator(benchmark::State& st) {
    float* buf = buffer();
    const int64_t n = kBytes / 4;
    for (auto _ : st) {
        float s = 0;
        for (int64_t i = 0; i < n; ++i) s += buf[i];
        benchmark::DoNotOptimize(s);
    }
    st.SetBytesProcessed(st.iterations() * kBytes);
}
BENCHMARK(BM_ReadBandwidthOneAccumulator)->UseRealTime()->Unit(benchmark::kMillisecond)->Repetitions(3)->ReportAggregatesOnly();

}  // namespace

BENCHMARK_MAIN();
