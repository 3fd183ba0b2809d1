// GEMM rows of `tern bench --kernels`: f32, f16 weights (exact, and the opt-in
// bf16 prefill), bf16 and u8s8 at 2048^3 and the LLM
// shapes of the kernel issue (M in {1,16,128,512}; KxN in {2048x2048,
// 2048x5632, 5632x2048, 2048x32000}), weights prepacked once as inference does.
// M = 1 rows are GEMVs: they rotate over copies of their weights totalling past
// any L3 and also report GB/s of weight bytes against the read probe.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cli/kernel_bench.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "hw/peak.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern::cli {
namespace {

struct Shape3 {
    int64_t m, n, k;
};

std::vector<Shape3> gemm_shapes(bool quick) {
    // Quick: one prefill-sized, one short-M and one GEMV shape, small enough that
    // the scalar reference kernels (TERN_ISA=scalar) finish in seconds too.
    if (quick) return {{128, 2048, 2048}, {16, 5632, 2048}, {1, 2048, 2048}};
    std::vector<Shape3> s{{2048, 2048, 2048}};
    for (int64_t m : {1, 16, 128, 512})
        for (auto [k, n] : {std::pair<int64_t, int64_t>{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}})
            s.push_back({m, n, k});
    return s;
}

// Copies of one packed weight for an M = 1 row: enough that together they pass
// gemv_rotate_bytes, so each call reads its weights from DRAM, not from an L3
// that holds a single 2048 x 2048 matrix (which read at 1.3x the probe).

template <class Packed, class Make>
std::vector<std::unique_ptr<Packed>> packed_copies(int64_t m, uint64_t weight_bytes, bool quick, Make&& make) {
    const uint64_t rotate = gemv_rotate_bytes(quick);
    const uint64_t copies = m == 1 ? std::max<uint64_t>(1, (rotate + weight_bytes - 1) / weight_bytes) : 1;
    std::vector<std::unique_ptr<Packed>> v;
    for (uint64_t i = 0; i < copies; ++i) v.push_back(make());
    return v;
}

// A row's GB/s and fraction: GEMV rows (M = 1) stream their weights, so they are
// judged against the read bandwidth; larger M against the compute peak.
KernelBenchRow gemm_row(std::string kernel, const std::string& isa, std::string dtype, const Shape3& s, int threads,
                        double sec, uint64_t weight_bytes, double compute_peak, double bandwidth_gbps) {
    const double g = 2.0 * static_cast<double>(s.m) * s.n * s.k / sec / 1e9;
    KernelBenchRow r{std::move(kernel), isa, std::move(dtype), s.m, s.n, s.k, threads, g, 0, 0};
    if (s.m == 1) {
        r.gbps = static_cast<double>(weight_bytes) / sec / 1e9;
        r.peak_fraction = bandwidth_gbps > 0 ? r.gbps / bandwidth_gbps : 0;
    } else {
        r.peak_fraction = compute_peak > 0 ? g / compute_peak : 0;
    }
    return r;
}

template <class T>
std::vector<T> filled(int64_t n, T value) {
    return std::vector<T>(static_cast<size_t>(n), value);
}

}  // namespace

void add_gemm_rows(std::vector<KernelBenchRow>& rows, const ComputePeaks& peaks, double bandwidth_gbps, bool quick) {
    const int threads = default_pool().size();
    const std::string isa(isa_name(active_isa()));
    const double budget = quick ? 0.05 : 0.3;
    for (const Shape3& s : gemm_shapes(quick)) {
        const uint64_t kn = static_cast<uint64_t>(s.k * s.n);
        size_t next = 0;
        // Times one call on the next copy of the weights (one copy unless M = 1).
        auto time_rotating = [&](size_t copies, auto&& call) {
            next = 0;
            return median_seconds([&] {
                call(next);
                next = (next + 1) % copies;
            }, budget);
        };
        {
            const auto a = filled<float>(s.m * s.k, 0.5f), b = filled<float>(s.k * s.n, 0.25f);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_f32_kernel();
            const auto packed = packed_copies<GemmF32PackedB>(s.m, kn * 4, quick, [&] {
                return std::make_unique<GemmF32PackedB>(kern, b.data(), s.k, /*trans_b=*/true, s.k, s.n);
            });
            GemmF32Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.c = c.data(), args.ldc = s.n;
            const double sec = time_rotating(packed.size(), [&](size_t i) {
                args.packed_b = packed[i].get();
                gemm_f32(args);
            });
            rows.push_back(gemm_row(kern.name, isa, "f32", s, threads, sec, kn * 4, peaks.f32_gflops, bandwidth_gbps));
        }
        {
            // f16 weights, f32 activations (gemv_f16: what ops::Linear runs for f16 files).
            const auto a = filled<float>(s.m * s.k, 0.5f);
            const auto b = filled<uint16_t>(s.k * s.n, 0x3400);  // 0.25
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto w = packed_copies<GemvF16Weights>(s.m, kn * 2, quick, [&] {
                return std::make_unique<GemvF16Weights>(gemv_f16_kernel(), b.data(), s.k, s.n, s.k, &default_pool());
            });
            const double sec = time_rotating(w.size(), [&](size_t i) {
                matmul_f16(*w[i], a.data(), s.m, c.data(), nullptr, Activation::none, default_pool());
            });
            rows.push_back(gemm_row(w[0]->kernel().name, isa, "f16", s, threads, sec, kn * 2, peaks.f32_gflops,
                                    bandwidth_gbps));
            if (s.m > 1 && peaks.bf16_gflops > 0) {
                // The opt-in bf16 prefill on the same panels (--fpmath bf16), against the bf16 peak.
                const double sec_bf16 = median_seconds(
                    [&] { gemm_f16_bf16(*w[0], a.data(), s.m, c.data(), nullptr, Activation::none, default_pool()); },
                    budget);
                const double gb = 2.0 * static_cast<double>(s.m) * s.n * s.k / sec_bf16 / 1e9;
                rows.push_back({"gemm_f16_bf16", isa, "f16_bf16", s.m, s.n, s.k, threads, gb, 0, gb / peaks.bf16_gflops});
            }
        }
        if (peaks.bf16_gflops > 0) {
            const auto a = filled<uint16_t>(s.m * s.k, 0x3f00), b = filled<uint16_t>(s.k * s.n, 0x3e80);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_bf16_kernel();
            const auto packed = packed_copies<GemmBf16PackedB>(s.m, kn * 2, quick, [&] {
                return std::make_unique<GemmBf16PackedB>(kern, b.data(), s.k, true, s.k, s.n);
            });
            GemmBf16Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.c = c.data(), args.ldc = s.n;
            const double sec = time_rotating(packed.size(), [&](size_t i) {
                args.packed_b = packed[i].get();
                gemm_bf16(args);
            });
            rows.push_back(gemm_row(kern.name, isa, "bf16", s, threads, sec, kn * 2, peaks.bf16_gflops, bandwidth_gbps));
        }
        {
            const auto a = filled<uint8_t>(s.m * s.k, 3);
            const auto b = filled<int8_t>(s.k * s.n, -2);
            const auto scale = filled<float>(s.n, 0.01f);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_q8_kernel();
            const auto packed = packed_copies<GemmQ8PackedB>(s.m, kn, quick, [&] {
                return std::make_unique<GemmQ8PackedB>(kern, b.data(), s.k, true, s.k, s.n);
            });
            GemmQ8Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.a_zero_point = 128, args.a_scale = 0.02f;
            args.b_scale = scale.data(), args.output = Q8Output::dequant_f32;
            args.c = c.data(), args.ldc = s.n;
            const double sec = time_rotating(packed.size(), [&](size_t i) {
                args.b = packed[i].get();
                gemm_q8(args);
            });
            rows.push_back(gemm_row(kern.name, isa, "u8s8", s, threads, sec, kn, peaks.int8_gops, bandwidth_gbps));
        }
    }
}

}  // namespace tern::cli
