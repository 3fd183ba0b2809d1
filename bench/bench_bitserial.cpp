// Bit-serial binary and ternary GEMM (kernels/bitserial) against tern's int8
// GEMM (gemm_q8, VNNI where present) on the same shapes and threads:
// multiply-accumulates per second, the issue's >= 3x target at 2048^3-class
// shapes. Every bit-serial variant this CPU runs is timed on B packed once
// (and the chosen one on row-major B packed per call, the convenience entry).
//   build/release/bench/bench_bitserial --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {
namespace {

struct Shape3 {
    int64_t m, n, k;
};

std::vector<uint64_t> random_words(int64_t count, uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> v(static_cast<size_t>(count));
    for (auto& w : v) w = rng();
    return v;
}

void set_macs(benchmark::State& st, const Shape3& s) {
    const double macs = static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
    st.counters["GMACs"] = benchmark::Counter(macs / 1e9 * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

// B packed once outside the timed loop (BitPackedB, as the int8 peer's
// GemmQ8PackedB); per_call: the row-major entry, which packs B every call.
void bit_gemm_bench(benchmark::State& st, const BitGemmKernel* kernel, bool ternary, Shape3 s, int threads, bool per_call) {
    set_default_threads(threads);
    const int64_t words = bit_words(s.k);
    const auto a = random_words(s.m * words, 1), b = random_words(s.n * words, 2), mask = random_words(s.n * words, 3);
    std::vector<int32_t> nonzero(static_cast<size_t>(s.n), static_cast<int32_t>(s.k / 2));
    std::vector<int32_t> c(static_cast<size_t>(s.m * s.n));
    const BitGemmArgs g{s.m, s.n, s.k, a.data(), b.data(), mask.data(), nonzero.data(), c.data()};
    const BitPackedB packed = ternary ? BitPackedB(*kernel, b.data(), mask.data(), nonzero.data(), s.n, s.k)
                                      : BitPackedB(*kernel, b.data(), s.n, s.k);
    for (auto _ : st) {
        if (!per_call) {
            bit_gemm(g, packed);
        } else if (ternary) {
            bit_gemm_ternary(g, kernel);
        } else {
            bit_gemm_binary(g, kernel);
        }
        benchmark::DoNotOptimize(c.data());
    }
    set_macs(st, s);
}

void int8_gemm_bench(benchmark::State& st, Shape3 s, int threads) {
    ThreadPool pool(threads);
    std::mt19937 rng(4);
    std::vector<uint8_t> a(static_cast<size_t>(s.m * s.k));
    std::vector<int8_t> b(static_cast<size_t>(s.n * s.k));
    for (auto& v : a) v = static_cast<uint8_t>(rng());
    for (auto& v : b) v = static_cast<int8_t>(rng());
    const GemmQ8PackedB packed(gemm_q8_kernel(), b.data(), s.k, true, s.k, s.n);
    std::vector<int32_t> c(static_cast<size_t>(s.m * s.n));
    GemmQ8Args g;
    g.m = s.m, g.n = s.n, g.k = s.k;
    g.a = a.data(), g.lda = s.k;
    g.b = &packed;
    g.output = Q8Output::s32;
    g.c = c.data(), g.ldc = s.n;
    for (auto _ : st) {
        gemm_q8(g, pool);
        benchmark::DoNotOptimize(c.data());
    }
    set_macs(st, s);
}

const int registered = [] {
    const Shape3 shapes[] = {{2048, 2048, 2048}, {64, 4096, 4096}, {1, 4096, 4096}};
    for (const Shape3& s : shapes) {
        const std::string dims = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
        for (int t : {1, 2}) {
            const std::string tail = "/" + dims + "/threads:" + std::to_string(t);
            benchmark::RegisterBenchmark(("int8_gemm_q8/" + std::string(gemm_q8_kernel().name) + tail).c_str(), int8_gemm_bench, s, t)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
            for (const BitGemmKernel* k : bit_gemm_variants()) {
                if (k->isa == Isa::scalar && s.m > 64) continue;  // minutes per run at 2048^3
                for (bool ternary : {false, true}) {
                    for (bool per_call : {false, true}) {
                        if (per_call && k != &bit_gemm_kernel()) continue;
                        const std::string name =
                            std::string(ternary ? "ternary" : "binary") + (per_call ? "_pack_per_call/" : "/") + k->name + tail;
                        benchmark::RegisterBenchmark(name.c_str(), bit_gemm_bench, k, ternary, s, t, per_call)
                            ->Unit(benchmark::kMillisecond)
                            ->UseRealTime();
                    }
                }
            }
        }
    }
    return 0;
}();

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
