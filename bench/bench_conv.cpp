// The conv kernel family (kernels/conv) on the shapes the zoo models train
// with, every variant this CPU supports: GFLOP/s (2 per multiply-add) for the
// convolutions, output elements/s for pooling. Batches of 64 planes/images, as
// one training step of batch 64 runs them.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/conv/conv.h"

namespace {

using namespace tern;

std::vector<float> randn(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

struct DirectShape {
    const char* name;
    int64_t C, O, K, pad, H;  // square images, stride 1
};
const DirectShape kDirect[] = {
    {"lenet5_conv1", 1, 6, 5, 2, 28},
    {"lenet5_conv2", 6, 16, 5, 0, 14},
    {"mobilenet_stem", 1, 16, 3, 1, 28},
};

struct DwShape {
    const char* name;
    int64_t H;
    int stride;
};
const DwShape kDw[] = {{"28x28_s1", 28, 1}, {"28x28_s2", 28, 2}, {"14x14_s1", 14, 1}, {"7x7_s1", 7, 1}};

constexpr int64_t kBatch = 64;

void register_all() {
    for (const ConvKernels* k : conv_variants()) {
        const std::string isa = k->name;
        for (const DirectShape& s : kDirect) {
            const int64_t Hp = s.H + 2 * s.pad, OH = Hp - s.K + 1;
            const double flops = 2.0 * kBatch * s.O * s.C * s.K * s.K * OH * OH;
            benchmark::RegisterBenchmark((isa + "/direct_s1/" + s.name).c_str(), [k, s, Hp, OH, flops](benchmark::State& st) {
                const auto xp = randn(static_cast<size_t>(kBatch * s.C * Hp * Hp), 1);
                const auto w = randn(static_cast<size_t>(s.O * s.C * s.K * s.K), 2);
                std::vector<float> y(static_cast<size_t>(kBatch * s.O * OH * OH));
                for (auto _ : st)
                    for (int64_t n = 0; n < kBatch; ++n)
                        k->direct_s1({xp.data() + n * s.C * Hp * Hp, s.C, Hp, Hp, w.data(), s.O, s.K, s.K,
                                      y.data() + n * s.O * OH * OH, OH, OH, false});
                st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            });
            benchmark::RegisterBenchmark((isa + "/direct_s1_wgrad/" + s.name).c_str(), [k, s, Hp, OH, flops](benchmark::State& st) {
                const auto xp = randn(static_cast<size_t>(kBatch * s.C * Hp * Hp), 1);
                const auto dy = randn(static_cast<size_t>(kBatch * s.O * OH * OH), 2);
                std::vector<float> gw(static_cast<size_t>(s.O * s.C * s.K * s.K));
                for (auto _ : st)
                    k->direct_s1_wgrad({xp.data(), kBatch, s.C, Hp, Hp, dy.data(), s.O, OH, OH, gw.data(), s.K, s.K});
                st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            });
        }
        for (const DwShape& s : kDw) {
            const int64_t OH = (s.H + 2 - 3) / s.stride + 1;
            const Dw3x3Geom g{s.H, s.H, 1, 1, s.stride, OH, OH};
            const double flops = 2.0 * kBatch * 9 * OH * OH;
            benchmark::RegisterBenchmark((isa + "/dw3x3/" + s.name).c_str(), [k, g, flops](benchmark::State& st) {
                const auto x = randn(static_cast<size_t>(kBatch * g.h * g.w), 1), w9 = randn(9, 2);
                std::vector<float> y(static_cast<size_t>(kBatch * g.oh * g.ow));
                for (auto _ : st)
                    for (int64_t n = 0; n < kBatch; ++n)
                        k->dw3x3(g, x.data() + n * g.h * g.w, w9.data(), 0.0f, y.data() + n * g.oh * g.ow, false);
                st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            });
            benchmark::RegisterBenchmark((isa + "/dw3x3_wgrad/" + s.name).c_str(), [k, g, flops](benchmark::State& st) {
                const auto x = randn(static_cast<size_t>(kBatch * g.h * g.w), 1);
                const auto dy = randn(static_cast<size_t>(kBatch * g.oh * g.ow), 2);
                float gw9[9] = {};
                for (auto _ : st)
                    for (int64_t n = 0; n < kBatch; ++n)
                        k->dw3x3_wgrad(g, x.data() + n * g.h * g.w, dy.data() + n * g.oh * g.ow, gw9);
                benchmark::DoNotOptimize(gw9);
                st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            });
        }
        // Depthwise of other kernel sizes and strides: PP-OCR's 5x5 and its (2, 1) stride, 12x48 planes.
        struct DwAnyShape {
            const char* name;
            int64_t k;
            int sh, sw;
        };
        for (const DwAnyShape& s : {DwAnyShape{"5x5_s1_12x48", 5, 1, 1}, DwAnyShape{"3x3_s2x1_12x48", 3, 2, 1},
                                    DwAnyShape{"5x5_s2_12x48", 5, 2, 2}}) {
            const int64_t H = 12, W = 48, pad = s.k / 2, OH = (H + 2 * pad - s.k) / s.sh + 1, OW = (W + 2 * pad - s.k) / s.sw + 1;
            const DwGeom g{H, W, pad, pad, s.sh, s.sw, s.k, s.k, OH, OW};
            const double flops = 2.0 * kBatch * s.k * s.k * OH * OW;
            benchmark::RegisterBenchmark((isa + "/dw_any/" + s.name).c_str(), [k, g, flops](benchmark::State& st) {
                const auto x = randn(static_cast<size_t>(kBatch * g.h * g.w), 1), wk = randn(static_cast<size_t>(g.kh * g.kw), 2);
                std::vector<float> y(static_cast<size_t>(kBatch * g.oh * g.ow));
                for (auto _ : st)
                    for (int64_t n = 0; n < kBatch; ++n)
                        k->dw_any(g, x.data() + n * g.h * g.w, wk.data(), 0.0f, y.data() + n * g.oh * g.ow);
                st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            });
        }
        benchmark::RegisterBenchmark((isa + "/maxpool2x2/28x28").c_str(), [k](benchmark::State& st) {
            const int64_t H = 28, OH = 14, planes = kBatch * 6;
            const auto x = randn(static_cast<size_t>(planes * H * H), 1);
            std::vector<float> y(static_cast<size_t>(planes * OH * OH));
            std::vector<int32_t> code(y.size());
            for (auto _ : st)
                for (int64_t p = 0; p < planes; ++p)
                    k->maxpool2x2(x.data() + p * H * H, H, y.data() + p * OH * OH, code.data() + p * OH * OH, OH, OH);
            st.SetItemsProcessed(st.iterations() * planes * OH * OH);
        });
    }
}

const int kRegistered = (register_all(), 0);

}  // namespace

BENCHMARK_MAIN();
