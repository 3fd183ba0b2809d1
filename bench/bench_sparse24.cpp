// 2:4 int8 weights at prefill (kernels/sparse/sparse24_gemm.h), TinyLlama's FFN
// shapes K x N = 2048 x 5632 and 5632 x 2048, 2 threads:
//   densify/<variant>: the panel expansion alone over a whole matrix, GB/s of
//     dense panel bytes written (the weight stays in L2/L3: its own ceiling);
//   matmul/<path>/<K>x<N>/<M>: y = x W^T for M activation rows already
//     quantized, on the 2:4 kernel (`sparse`, a dot product per row), the
//     batched path (`batched`, densify a panel then gemm_q8's micro-kernel over
//     all M rows) and dense int8 on the same codes (`w8a8`, gemm_q8 on the
//     prepacked dense copy). Weights rotate over copies totalling 320 MiB, so
//     every call reads its weights from DRAM as a prefill chunk does. The M where
//     `batched` overtakes `sparse` is ops::kSparse24GemmMinRows.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/sparse/sparse.h"
#include "kernels/sparse/sparse24_gemm.h"
#include "kernels/w8a8/w8a8_matmul.h"

namespace {

using namespace tern;

constexpr uint64_t kS24RotateBytes = uint64_t{320} << 20;
constexpr int kS24Threads = 2;

std::vector<float> s24b_weights(int64_t n, int64_t k) {
    std::mt19937_64 rng(3);
    std::normal_distribution<float> d(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
    for (int64_t g = 0; g < n * k / 4; ++g) {
        const int a = static_cast<int>(rng() % 4), b = static_cast<int>((a + 1 + rng() % 3) % 4);
        w[static_cast<size_t>(4 * g + a)] = d(rng);
        w[static_cast<size_t>(4 * g + b)] = d(rng);
    }
    return w;
}

// Copies of one shape's weights in both forms, kept across benchmarks of that shape.
struct S24Set {
    int64_t n = 0, k = 0;
    std::vector<std::unique_ptr<Sparse24S8>> sparse;
    std::vector<std::unique_ptr<W8A8Matrix>> dense;
};

S24Set& s24_set(int64_t n, int64_t k) {
    static S24Set set;
    if (set.n == n && set.k == k) return set;
    set = S24Set{};
    set.n = n, set.k = k;
    const auto w = s24b_weights(n, k);
    const Sparse24S8 first = pack_sparse24_s8(w.data(), n, k);
    const std::vector<float> d = unpack_dense(first);
    std::vector<int8_t> codes(d.size());
    for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
            const size_t i = static_cast<size_t>(r * k + c);
            codes[i] = static_cast<int8_t>(std::lrint(d[i] / first.scale[static_cast<size_t>(r)]));
        }
    const std::vector<float> scales(first.scale.begin(), first.scale.end());
    for (uint64_t b = 0; b < kS24RotateBytes; b += first.bytes()) set.sparse.push_back(std::make_unique<Sparse24S8>(first));
    for (uint64_t b = 0; b < kS24RotateBytes; b += static_cast<uint64_t>(n * k))
        set.dense.push_back(std::make_unique<W8A8Matrix>(gemm_q8_kernel(), codes.data(), scales, 0.0f, n, k));
    return set;
}

void densify(benchmark::State& st, const SparseKernels* kern) {
    const int64_t n = 2048, k = 5632;
    const auto w = s24b_weights(n, k);
    const Sparse24S8 s = pack_sparse24_s8(w.data(), n, k);
    const int nr = gemm_q8_kernel().blocking.nr;
    WeightVec<int8_t> panel(static_cast<size_t>(k * nr));
    for (auto _ : st) {
        for (int64_t r0 = 0; r0 < n; r0 += nr) kern->s24_densify(s, r0, nr, nr, panel.data());
        benchmark::DoNotOptimize(panel.data());
    }
    st.counters["dense_GBps"] =
        benchmark::Counter(static_cast<double>(n * k) / 1e9 * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

enum class S24Path { sparse, batched, w8a8 };

void matmul(benchmark::State& st, S24Path path, int64_t k, int64_t n, int64_t m) {
    S24Set& set = s24_set(n, k);
    ThreadPool pool(kS24Threads);
    Sparse24GemmScratch scratch;
    std::mt19937 rng(1);
    std::vector<uint8_t> xu(static_cast<size_t>(m * k));
    for (auto& v : xu) v = static_cast<uint8_t>(rng() % 255 + 1);
    std::vector<float> xs(static_cast<size_t>(m), 0.01f), y(static_cast<size_t>(m * n));
    size_t i = 0;
    for (auto _ : st) {
        switch (path) {
            case S24Path::sparse: {
                const Sparse24S8& w = *set.sparse[i % set.sparse.size()];
                for (int64_t r0 = 0; r0 < m; r0 += kSparseMaxRows)
                    sparse_matmul_offset(w, xu.data() + r0 * k, xs.data() + r0, std::min(kSparseMaxRows, m - r0),
                                         y.data() + r0 * n, pool);
                break;
            }
            case S24Path::batched:
                sparse24_gemm_q8(*set.sparse[i % set.sparse.size()], xu.data(), xs.data(), m, y.data(), scratch, pool);
                break;
            case S24Path::w8a8: {
                const W8A8Matrix& w = *set.dense[i % set.dense.size()];
                GemmQ8Args g;
                g.m = m, g.n = n, g.k = k;
                g.a = xu.data(), g.lda = k, g.a_zero_point = kW8A8ZeroPoint;
                g.b = &w.packed(), g.b_scale = w.row_scales();
                g.output = Q8Output::dequant_f32;
                g.c = y.data(), g.ldc = n;
                gemm_q8(g, pool);
                break;
            }
        }
        benchmark::DoNotOptimize(y.data());
        ++i;
    }
    st.counters["tok_per_s"] = benchmark::Counter(static_cast<double>(m) * static_cast<double>(st.iterations()),
                                                  benchmark::Counter::kIsRate);
    st.counters["GOPs"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) / 1e9 * static_cast<double>(st.iterations()),
                                             benchmark::Counter::kIsRate);
}

const bool s24_registered = [] {
    for (const SparseKernels* kern : sparse_variants())
        benchmark::RegisterBenchmark((std::string("densify/") + kern->name).c_str(), densify, kern)->Unit(benchmark::kMicrosecond);
    const std::pair<S24Path, const char*> paths[] = {
        {S24Path::sparse, "sparse"}, {S24Path::batched, "batched"}, {S24Path::w8a8, "w8a8"}};
    for (auto [k, n] : {std::pair<int64_t, int64_t>{2048, 5632}, {5632, 2048}})
        for (int64_t m : {1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128})
            for (auto [path, name] : paths)
                benchmark::RegisterBenchmark(
                    (std::string("matmul/") + name + "/" + std::to_string(k) + "x" + std::to_string(n) + "/" + std::to_string(m))
                        .c_str(),
                    matmul, path, k, n, m)
                    ->Unit(benchmark::kMicrosecond)
                    ->MinTime(0.2);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
