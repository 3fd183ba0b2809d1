// GEMM rows of `tern bench --kernels`: f32, f16 weights (exact, and the opt-in
// bf16 prefill), bf16 and u8s8 at 2048^3 and the LLM
// shapes of the kernel issue (M in {1,16,128,512}; KxN in {2048x2048,
// 2048x5632, 5632x2048, 2048x32000}), weights prepacked once as inference does.
#include <memory>
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
    // Quick: one prefill-sized and one short-M shape, small enough that the scalar
    // reference kernels (TERN_ISA=scalar) finish in seconds too.
    if (quick) return {{128, 2048, 2048}, {16, 5632, 2048}};
    std::vector<Shape3> s{{2048, 2048, 2048}};
    for (int64_t m : {1, 16, 128, 512})
        for (auto [k, n] : {std::pair<int64_t, int64_t>{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}})
            s.push_back({m, n, k});
    return s;
}

template <class T>
std::vector<T> filled(int64_t n, T value) {
    return std::vector<T>(static_cast<size_t>(n), value);
}

}  // namespace

void add_gemm_rows(std::vector<KernelBenchRow>& rows, const ComputePeaks& peaks, bool quick) {
    const int threads = default_pool().size();
    const std::string isa(isa_name(active_isa()));
    const double budget = quick ? 0.05 : 0.3;
    for (const Shape3& s : gemm_shapes(quick)) {
        const double ops = 2.0 * static_cast<double>(s.m) * s.n * s.k;
        {
            const auto a = filled<float>(s.m * s.k, 0.5f), b = filled<float>(s.k * s.n, 0.25f);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_f32_kernel();
            GemmF32PackedB packed(kern, b.data(), s.k, /*trans_b=*/true, s.k, s.n);
            GemmF32Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.packed_b = &packed, args.c = c.data(), args.ldc = s.n;
            const double sec = median_seconds([&] { gemm_f32(args); }, budget);
            const double g = ops / sec / 1e9;
            rows.push_back({kern.name, isa, "f32", s.m, s.n, s.k, threads, g, 0, g / peaks.f32_gflops});
        }
        {
            // f16 weights, f32 activations (gemv_f16: what ops::Linear runs for f16 files).
            const auto a = filled<float>(s.m * s.k, 0.5f);
            const auto b = filled<uint16_t>(s.k * s.n, 0x3400);  // 0.25
            auto c = filled<float>(s.m * s.n, 0.0f);
            const GemvF16Weights w(gemv_f16_kernel(), b.data(), s.k, s.n, s.k, &default_pool());
            const double sec = median_seconds(
                [&] { matmul_f16(w, a.data(), s.m, c.data(), nullptr, Activation::none, default_pool()); }, budget);
            const double g = ops / sec / 1e9;
            rows.push_back({w.kernel().name, isa, "f16", s.m, s.n, s.k, threads, g, 0, g / peaks.f32_gflops});
            if (s.m > 1 && peaks.bf16_gflops > 0) {
                // The opt-in bf16 prefill on the same panels (--fpmath bf16), against the bf16 peak.
                const double sec_bf16 = median_seconds(
                    [&] { gemm_f16_bf16(w, a.data(), s.m, c.data(), nullptr, Activation::none, default_pool()); },
                    budget);
                const double gb = ops / sec_bf16 / 1e9;
                rows.push_back({"gemm_f16_bf16", isa, "f16_bf16", s.m, s.n, s.k, threads, gb, 0, gb / peaks.bf16_gflops});
            }
        }
        if (peaks.bf16_gflops > 0) {
            const auto a = filled<uint16_t>(s.m * s.k, 0x3f00), b = filled<uint16_t>(s.k * s.n, 0x3e80);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_bf16_kernel();
            GemmBf16PackedB packed(kern, b.data(), s.k, true, s.k, s.n);
            GemmBf16Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.packed_b = &packed, args.c = c.data(), args.ldc = s.n;
            const double sec = median_seconds([&] { gemm_bf16(args); }, budget);
            const double g = ops / sec / 1e9;
            rows.push_back({kern.name, isa, "bf16", s.m, s.n, s.k, threads, g, 0, g / peaks.bf16_gflops});
        }
        {
            const auto a = filled<uint8_t>(s.m * s.k, 3);
            const auto b = filled<int8_t>(s.k * s.n, -2);
            const auto scale = filled<float>(s.n, 0.01f);
            auto c = filled<float>(s.m * s.n, 0.0f);
            const auto& kern = gemm_q8_kernel();
            GemmQ8PackedB packed(kern, b.data(), s.k, true, s.k, s.n);
            GemmQ8Args args;
            args.m = s.m, args.n = s.n, args.k = s.k;
            args.a = a.data(), args.lda = s.k, args.a_zero_point = 128, args.a_scale = 0.02f;
            args.b = &packed, args.b_scale = scale.data(), args.output = Q8Output::dequant_f32;
            args.c = c.data(), args.ldc = s.n;
            const double sec = median_seconds([&] { gemm_q8(args); }, budget);
            const double g = ops / sec / 1e9;
            const double peak = peaks.int8_gops > 0 ? peaks.int8_gops : 0;
            rows.push_back({kern.name, isa, "u8s8", s.m, s.n, s.k, threads, g, 0, peak > 0 ? g / peak : 0});
        }
    }
}

}  // namespace tern::cli
