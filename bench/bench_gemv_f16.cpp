// f16-weight matmul speed (gemv_f16), against what tern did before: gemm_f32 on
// weights widened to f32 at load.
//   gemv/…     decode, M = 1 and 4: GB/s of weight bytes (f16: 2 per weight) and
//              `roofline` = GBps / read bandwidth probed right after the run at the same thread
//              count. Calls rotate over copies of W totalling > 320 MB, so every
//              call streams its weights from DRAM, as decode does.
//   f32_gemv/… the same shapes through gemm_f32 on prepacked f32 weights (the old
//              f16 path): GBps counts its 4-byte weights, so compare times.
//   gemm/…     prefill, M = 4 … 512 at K 2048, N 5632: GFLOP/s and `peak` (=
//              GFLOPs / measured FMA peak) for gemm_f16 (panels converted on the
//              fly), gemv_f16 (M <= 64: where the GEMV/GEMM switch belongs) and
//              f16_bf16 (the opt-in bf16 prefill, `peak` against the bf16
//              dot-product peak) and f32 (gemm_f32 on prepacked f32 weights); M <= 64 rotates W
//              copies like decode, larger M reuses one copy.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemv_f16/gemv_f16.h"

#include "bench_roofs.h"

namespace {

using namespace tern;

constexpr uint64_t kRotateBytes = uint64_t{320} << 20;

using benchutil::Roofs;
using benchutil::roofs;
using benchutil::report_stream;

// W (n, k): N(0, 0.02) f16 bits, 64 distinct rows repeated (speed does not
// depend on the values), and the same rows widened to f32.
struct Source {
    std::vector<uint16_t> h;
    std::vector<float> f;
};
Source source(int64_t n, int64_t k) {
    std::mt19937_64 rng(7);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    Source s;
    s.h.resize(static_cast<size_t>(n * k));
    s.f.resize(s.h.size());
    const int64_t distinct = std::min<int64_t>(n, 64);
    for (int64_t i = 0; i < distinct * k; ++i) s.h[static_cast<size_t>(i)] = fp32_to_fp16(nd(rng));
    for (int64_t i = distinct * k; i < n * k; ++i) s.h[static_cast<size_t>(i)] = s.h[static_cast<size_t>(i % (distinct * k))];
    for (size_t i = 0; i < s.h.size(); ++i) s.f[i] = fp16_to_fp32(s.h[i]);
    return s;
}

// Copies of one shape's weights in both forms; `rotate` makes enough of them
// to exceed kRotateBytes each. One shape is kept at a time.
struct WeightSet {
    std::vector<std::unique_ptr<GemvF16Weights>> h;
    std::vector<std::unique_ptr<GemmF32PackedB>> f;
};
WeightSet& weight_set(int64_t n, int64_t k, bool rotate) {
    static std::string key;
    static WeightSet ws;
    const std::string want = std::to_string(n) + "x" + std::to_string(k) + (rotate ? "r" : "");
    if (key == want) return ws;
    ws = WeightSet{};
    key = want;
    const Source s = source(n, k);
    const uint64_t f16_bytes = static_cast<uint64_t>(n * k) * 2;
    const int h_copies = rotate ? static_cast<int>(kRotateBytes / f16_bytes + 1) : 1;
    const int f_copies = rotate ? static_cast<int>(kRotateBytes / (2 * f16_bytes) + 1) : 1;
    for (int c = 0; c < h_copies; ++c)
        ws.h.push_back(std::make_unique<GemvF16Weights>(gemv_f16_kernel(), s.h.data(), k, n, k, &default_pool()));
    for (int c = 0; c < f_copies; ++c)
        ws.f.push_back(std::make_unique<GemmF32PackedB>(gemm_f32_kernel(), s.f.data(), k, true, k, n));
    return ws;
}

enum class Impl { f16_dispatch, f16_gemv, f16_gemm, f16_bf16, f32 };

// One call of `impl` on copy `i` of the weights.
void call(Impl impl, WeightSet& ws, size_t i, const float* x, int64_t m, float* y, ThreadPool& pool) {
    if (impl == Impl::f32) {
        const GemmF32PackedB& b = *ws.f[i % ws.f.size()];
        GemmF32Args a;
        a.m = m, a.n = b.n(), a.k = b.k();
        a.a = x, a.lda = b.k();
        a.packed_b = &b;
        a.c = y, a.ldc = b.n();
        gemm_f32(b.kernel(), a, pool);
        return;
    }
    const GemvF16Weights& w = *ws.h[i % ws.h.size()];
    if (impl == Impl::f16_dispatch) matmul_f16(w, x, m, y, nullptr, Activation::none, pool);
    if (impl == Impl::f16_gemv) gemv_f16(w, x, m, y, nullptr, Activation::none, pool);
    if (impl == Impl::f16_gemm) gemm_f16(w, x, m, y, nullptr, Activation::none, pool);
    if (impl == Impl::f16_bf16) gemm_f16_bf16(w, x, m, y, nullptr, Activation::none, pool);
}

void gemv(benchmark::State& st, Impl impl, int64_t m, int64_t k, int64_t n, int threads) {
    roofs();  // the start-up probes run once, before any timing
    WeightSet& ws = weight_set(n, k, true);
    ThreadPool pool(threads);
    std::vector<float> x(static_cast<size_t>(m * k), 0.5f), y(static_cast<size_t>(m * n));
    size_t i = 0;
    for (auto _ : st) {
        call(impl, ws, i++, x.data(), m, y.data(), pool);
        benchmark::DoNotOptimize(y.data());
    }
    const double bytes_per_weight = impl == Impl::f32 ? 4.0 : 2.0;
    const double gb = bytes_per_weight * static_cast<double>(n * k) / 1e9 * static_cast<double>(st.iterations());
    report_stream(st, gb, threads);
}

void gemm(benchmark::State& st, Impl impl, int64_t m, int64_t k, int64_t n, int threads) {
    const Roofs& rf = roofs();
    // Small M is bandwidth-bound like decode: stream W from DRAM there too.
    WeightSet& ws = weight_set(n, k, m <= 64);
    ThreadPool pool(threads);
    std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    for (auto& v : x) v = nd(rng);
    size_t i = 0;
    for (auto _ : st) {
        call(impl, ws, i++, x.data(), m, y.data(), pool);
        benchmark::DoNotOptimize(y.data());
    }
    const double gf = 2.0 * static_cast<double>(m * n * k) / 1e9 * static_cast<double>(st.iterations());
    st.counters["GFLOPs"] = benchmark::Counter(gf, benchmark::Counter::kIsRate);
    // The bf16 prefill against the bf16 dot-product peak, the others against FMA's.
    const double peak = impl == Impl::f16_bf16 ? rf.peaks[threads].bf16_gflops : rf.peaks[threads].f32_gflops;
    st.counters["peak"] = benchmark::Counter(gf / peak, benchmark::Counter::kIsRate);
    st.counters["peak_GFLOPs"] = peak;
}

const char* impl_name(Impl impl) {
    switch (impl) {
        case Impl::f16_dispatch: return "f16";
        case Impl::f16_gemv: return "f16_gemv";
        case Impl::f16_gemm: return "f16_gemm";
        case Impl::f16_bf16: return "f16_bf16";
        case Impl::f32: return "f32";
    }
    return "?";
}

void register_all() {
    struct Shape {
        int64_t k, n;
    };
    const Shape shapes[] = {{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}};
    for (const Shape& s : shapes)
        for (int64_t m : {1, 4})
            for (Impl impl : {Impl::f16_dispatch, Impl::f32})
                for (int th : {1, 2}) {
                    const std::string name = std::string(impl == Impl::f32 ? "f32_gemv" : "gemv") + "/m" +
                                             std::to_string(m) + "_k" + std::to_string(s.k) + "_n" +
                                             std::to_string(s.n) + "/t" + std::to_string(th);
                    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { gemv(st, impl, m, s.k, s.n, th); })
                        ->UseRealTime()->MinTime(0.3);
                }
    for (int64_t m : {4, 8, 16, 32, 64, 128, 512})
        for (Impl impl : {Impl::f16_gemm, Impl::f16_gemv, Impl::f16_bf16, Impl::f32}) {
            if (impl == Impl::f16_gemv && m > 512) continue;
            for (int th : {1, 2}) {
                const std::string name = std::string("gemm/") + impl_name(impl) + "/m" + std::to_string(m) +
                                         "_k2048_n5632/t" + std::to_string(th);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { gemm(st, impl, m, 2048, 5632, th); })
                    ->UseRealTime()->MinTime(m >= 128 ? 0.5 : 0.3);
            }
        }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    const Roofs& r = roofs();
    std::printf("kernels: %s + %s; read bandwidth %.1f GB/s (1 thread), %.1f GB/s (2); FMA peak %.0f GFLOP/s (1), %.0f (2)\n",
                gemv_f16_kernel().name, gemm_f32_kernel().name, r.bw[1], r.bw[2], r.peaks[1].f32_gflops, r.peaks[2].f32_gflops);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
