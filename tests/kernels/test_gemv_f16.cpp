// gemv_f16: the panel repack keeps every weight; every variant this CPU runs,
// through both the GEMV (any M, in groups of 4 rows) and the converting-GEMM path, against the f64
// reference on awkward sizes (1, 3, 17, 33, 255, 4097) and the TinyLlama shapes.
//
// Error budget. f16 -> f32 is exact and x is f32, so a variant differs from the
// f64 reference only by the rounding of its f32 multiply-adds, in whatever order
// it sums K: at most (K + 2) u sum_i |x_i w_i| (+ u |bias|) with u = 2^-24 for any
// order (Higham, Thm 3.1), plus a few ulps of the vector exp when an activation is
// fused. Two tests make that budget sharp:
//  - integer-valued data (w = a/8, x = b/4 with small integers a, b): every product
//    and partial sum is exact in f32, so every variant must equal the reference
//    bit for bit, whatever its order: no tolerance hides a dropped or doubled term;
//  - random normal data with bias and activations, checked against the bound.
// The opt-in bf16 prefill (gemm_f16_bf16) rounds x and W to bf16 first; its truth
// is gemm_f16_bf16_reference (the same rounding, then f64), and bf16 products are
// exact in f32, so the same budget applies to the rounded operands. The integer
// data are exact in bf16 too, so there it must match bit for bit as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern {
namespace {

constexpr double kU = 1.0 / 16777216.0;  // 2^-24

enum class Path { dispatch, gemv, gemm, bf16 };
const char* path_name(Path p) {
    return p == Path::gemv ? "gemv" : p == Path::gemm ? "gemm" : p == Path::bf16 ? "bf16" : "dispatch";
}

void gemv_f16_run(Path path, const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
         ThreadPool& pool) {
    switch (path) {
        case Path::dispatch: return matmul_f16(w, x, m, y, bias, act, pool);
        case Path::gemv: return gemv_f16(w, x, m, y, bias, act, pool);
        case Path::gemm: return gemm_f16(w, x, m, y, bias, act, pool);
        case Path::bf16: return gemm_f16_bf16(w, x, m, y, bias, act, pool);
    }
}

struct GemvF16Data {
    std::vector<uint16_t> w;  // (n, k) f16
    std::vector<float> x;     // (m, k)
    std::vector<float> bias;  // (n)
};

// exact: small integers scaled by powers of two (every f32 sum exact);
// otherwise N(0, 0.02) weights and N(0, 1) activations, like an LLM layer.
GemvF16Data gemv_f16_make_data(int64_t m, int64_t n, int64_t k, bool exact, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> small(-8, 8);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    GemvF16Data d;
    d.w.resize(static_cast<size_t>(n * k));
    d.x.resize(static_cast<size_t>(m * k));
    d.bias.resize(static_cast<size_t>(n));
    for (auto& v : d.w) v = fp32_to_fp16(exact ? static_cast<float>(small(rng)) / 8.0f : 0.02f * nd(rng));
    for (auto& v : d.x) v = exact ? static_cast<float>(small(rng)) / 4.0f : nd(rng);
    for (auto& v : d.bias) v = exact ? static_cast<float>(small(rng)) / 32.0f : 0.1f * nd(rng);
    return d;
}

// The truth on the checked columns (every col_stride-th and always the last,
// which sits in the ragged last panel): f64 reference and budget per element.
struct Expected {
    std::vector<int64_t> cols;
    std::vector<double> want, tol;  // (m, cols.size())
};

// bf16: the truth of the bf16 prefill (operands rounded to bf16 first).
Expected expect(const GemvF16Data& d, int64_t m, int64_t n, int64_t k, bool exact, const float* bias, Activation act,
                int col_stride = 1, bool bf16 = false) {
    const auto round = [bf16](float v) { return bf16 ? bf16_to_fp32(fp32_to_bf16(v)) : v; };
    Expected e;
    for (int64_t j = 0; j < n; j += col_stride) e.cols.push_back(j);
    if (e.cols.back() != n - 1) e.cols.push_back(n - 1);
    const size_t nc = e.cols.size();
    e.want.resize(static_cast<size_t>(m) * nc);
    e.tol.resize(e.want.size());
    std::vector<double> want(static_cast<size_t>(m));
    for (size_t c = 0; c < nc; ++c) {
        const int64_t j = e.cols[c];
        const uint16_t* wrow = d.w.data() + j * k;  // one (1, k) row of W
        if (bf16)
            gemm_f16_bf16_reference(wrow, 1, k, d.x.data(), m, bias ? bias + j : nullptr, act, want.data());
        else
            gemv_f16_reference(wrow, 1, k, d.x.data(), m, bias ? bias + j : nullptr, act, want.data());
        for (int64_t i = 0; i < m; ++i) {
            double mag = bias ? std::fabs(bias[j]) : 0.0;
            for (int64_t p = 0; p < k; ++p)
                mag += std::fabs(static_cast<double>(round(fp16_to_fp32(wrow[p]))) *
                                 round(d.x[static_cast<size_t>(i * k + p)]));
            const double ref = want[static_cast<size_t>(i)];
            e.want[static_cast<size_t>(i) * nc + c] = ref;
            e.tol[static_cast<size_t>(i) * nc + c] =
                exact && act == Activation::none ? 0.0
                                                 : (static_cast<double>(k) + 2.0) * kU * mag + 4e-6 * std::fabs(ref) + 1e-30;
        }
    }
    return e;
}

// Runs one variant on one path and checks y against `e`, and that nothing past
// m * n was written. `d` holds at least m rows of x.
void verify(const GemvF16Kernel& kern, Path path, ThreadPool& pool, int64_t m, int64_t n, int64_t k, const GemvF16Data& d,
            const float* bias, Activation act, const Expected& e) {
    SCOPED_TRACE(std::string(kern.name) + " " + path_name(path) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                 " k=" + std::to_string(k) + (bias ? " bias" : "") + " act=" + std::string(activation_name(act)) +
                 " threads=" + std::to_string(pool.size()));
    const GemvF16Weights w(kern, d.w.data(), k, n, k, &pool);
    std::vector<float> y(static_cast<size_t>(m * n + 16), 777.0f);
    gemv_f16_run(path, w, d.x.data(), m, y.data(), bias, act, pool);
    for (int64_t i = m * n; i < m * n + 16; ++i) ASSERT_EQ(y[static_cast<size_t>(i)], 777.0f) << "wrote past y";
    int bad = 0;
    const size_t nc = e.cols.size();
    for (int64_t i = 0; i < m; ++i)
        for (size_t c = 0; c < nc; ++c) {
            const int64_t j = e.cols[c];
            const double got = y[static_cast<size_t>(i * n + j)];
            const double want = e.want[static_cast<size_t>(i) * nc + c], tol = e.tol[static_cast<size_t>(i) * nc + c];
            if (!(std::fabs(got - want) <= tol) && ++bad <= 5)
                ADD_FAILURE() << "y[" << i << "," << j << "] = " << got << ", want " << want << " (tol " << tol << ")";
        }
    ASSERT_EQ(bad, 0);
}

TEST(GemvF16, RepackHoldsEveryWeightAndZeroPadsTheLastPanel) {
    ThreadPool pool(2);
    for (const GemvF16Kernel* kern : gemv_f16_variants()) {
        SCOPED_TRACE(kern->name);
        const int64_t n = 3 * kern->nr + 5, k = 131;
        const GemvF16Data d = gemv_f16_make_data(1, n, k, false, 5);
        const GemvF16Weights w(*kern, d.w.data(), k, n, k, &pool);
        ASSERT_EQ(w.panels(), 4);
        ASSERT_EQ(w.bytes(), static_cast<uint64_t>(4 * kern->nr * k * 2));
        for (int64_t p = 0; p < w.panels(); ++p)
            for (int64_t kk = 0; kk < k; ++kk)
                for (int c = 0; c < kern->nr; ++c) {
                    const int64_t row = p * kern->nr + c;
                    const uint16_t want = row < n ? d.w[static_cast<size_t>(row * k + kk)] : uint16_t{0};
                    ASSERT_EQ(w.panel(p)[kk * kern->nr + c], want) << "panel " << p << " k " << kk << " col " << c;
                }
    }
}

// The prefill partners of every variant: gemm_f32 (exact) and gemm_bf16 (the
// opt-in bf16 prefill) kernels with the variant's ISA and panel width.
TEST(GemvF16, EveryVariantHasGemmPartnersOfItsPanelWidth) {
    const auto check = [](const GemvF16Kernel& kern, const auto& g, int kg) {
        EXPECT_EQ(g.blocking.nr, kern.nr) << kern.name << " / " << g.name;
        EXPECT_EQ(g.blocking.kg, kg) << kern.name << " / " << g.name;
        EXPECT_EQ(g.isa, kern.isa) << kern.name << " / " << g.name;
    };
    for (const GemvF16Kernel& kern : gemv_f16_table()) {
        check(kern, gemv_f16_gemm_partner(kern), 1);
        check(kern, gemv_f16_bf16_partner(kern), 2);
    }
    // The dispatched pair is the one gemm_f32 itself runs at this ISA level.
    EXPECT_EQ(&gemv_f16_gemm_partner(gemv_f16_kernel()), &gemm_f32_kernel());
}

TEST(GemvF16, Bf16PairPackingOfEveryVariantMatchesScalarRounding) {
    // Every f16 bit pattern (NaNs, infinities, subnormals included) passes
    // through each variant's (kc, NR) -> (kc/2, NR, 2) packing; odd kc pads zero.
    for (const GemvF16Kernel* kern : gemv_f16_variants()) {
        SCOPED_TRACE(kern->name);
        const int nr = kern->nr;
        const int64_t kc = 65536 / nr + 1;  // odd for NR = 8, 16, 32
        std::vector<uint16_t> src(static_cast<size_t>(kc * nr));
        for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i);
        std::vector<uint16_t> dst(static_cast<size_t>((kc + 1) * nr), 0xdead);
        kern->to_bf16_pairs(src.data(), kc, dst.data());
        for (int64_t kk = 0; kk < kc + 1; ++kk)
            for (int c = 0; c < nr; ++c) {
                const uint16_t got = dst[static_cast<size_t>((kk / 2) * nr * 2 + c * 2 + kk % 2)];
                const uint16_t want = kk < kc ? fp32_to_bf16(fp16_to_fp32(src[static_cast<size_t>(kk * nr + c)])) : 0;
                ASSERT_EQ(got, want) << "k " << kk << " col " << c;
            }
    }
}

// Integer-valued data: bit-exact against the reference on every path.
TEST(GemvF16, ExactOnIntegerDataAtAwkwardSizes) {
    ThreadPool pool(2);
    const int64_t sizes[] = {1, 3, 17, 33, 255, 4097};
    for (int64_t m : {1, 2, 3, 4, 5, 17})
        for (int64_t n : sizes)
            for (int64_t k : sizes) {
                if (n * k > 255 * 4097 || (m > 4 && n * k > 33 * 4097)) continue;  // keeps the suite quick
                const GemvF16Data d = gemv_f16_make_data(m, n, k, /*exact=*/true, static_cast<uint64_t>(m * 1000003 + n * 1009 + k));
                const float* bias = n % 2 == 1 ? d.bias.data() : nullptr;
                const Expected e = expect(d, m, n, k, /*exact=*/true, bias, Activation::none);
                for (const GemvF16Kernel* kern : gemv_f16_variants())
                    for (Path path : {Path::dispatch, Path::gemv, Path::gemm, Path::bf16}) {
                        if (m <= kern->gemv_max_rows && path == Path::dispatch) continue;  // == gemv
                        verify(*kern, path, pool, m, n, k, d, bias, Activation::none, e);
                        if (HasFatalFailure()) return;
                    }
            }
}

// The converting GEMM's chunking: several row blocks (M > MC) of unequal size,
// many column strips, a ragged last panel, and M so long that A is packed in
// two passes (K = 4097: ~1020 rows per 16 MiB pass); bit-exact, 1 and 2 threads.
TEST(GemvF16, GemmChunksRowBlocksStripsAndPasses) {
    ThreadPool pool1(1), pool2(2);
    for (auto [m, n, k] : {std::array<int64_t, 3>{400, 255, 520}, {193, 1000, 33}, {1030, 17, 4097}}) {
        const GemvF16Data d = gemv_f16_make_data(m, n, k, /*exact=*/true, static_cast<uint64_t>(m * 7 + n * 5 + k));
        const Expected e = expect(d, m, n, k, /*exact=*/true, d.bias.data(), Activation::none, n > 100 ? 3 : 1);
        for (ThreadPool* pool : {&pool1, &pool2})
            for (const GemvF16Kernel* kern : gemv_f16_variants()) {
                verify(*kern, Path::gemm, *pool, m, n, k, d, d.bias.data(), Activation::none, e);
                if (HasFatalFailure()) return;
            }
    }
}

TEST(GemvF16, RandomDataWithinBudgetWithBiasAndActivations) {
    ThreadPool pool1(1), pool2(2);
    for (auto [m, n, k] : {std::array<int64_t, 3>{1, 33, 4097}, {3, 255, 17}, {4, 4097, 33}, {2, 17, 255},
                           {17, 33, 255}, {150, 70, 520}}) {
        const GemvF16Data d = gemv_f16_make_data(m, n, k, /*exact=*/false, static_cast<uint64_t>(m * 1000003 + n * 1009 + k));
        for (Activation act : {Activation::none, Activation::relu, Activation::silu, Activation::gelu_tanh}) {
            const Expected e = expect(d, m, n, k, /*exact=*/false, d.bias.data(), act);
            const Expected e_bf16 = expect(d, m, n, k, /*exact=*/false, d.bias.data(), act, 1, /*bf16=*/true);
            for (ThreadPool* pool : {&pool1, &pool2})
                for (const GemvF16Kernel* kern : gemv_f16_variants())
                    for (Path path : {Path::gemv, Path::gemm, Path::bf16}) {
                        verify(*kern, path, *pool, m, n, k, d, d.bias.data(), act, path == Path::bf16 ? e_bf16 : e);
                        if (HasFatalFailure()) return;
                    }
        }
    }
}

// TinyLlama's matrices (K x N = 2048 x 2048 attention, 2048 x 5632 gate/up,
// 5632 x 2048 down) at decode (1, 4) and prefill (16, 128) batch sizes; the
// reference checks every 7th column at decode, every 29th at prefill (and the last).
TEST(GemvF16, LlmShapes) {
    ThreadPool pool(2);
    for (auto [k, n] : {std::array<int64_t, 2>{2048, 2048}, {2048, 5632}, {5632, 2048}}) {
        const GemvF16Data d = gemv_f16_make_data(128, n, k, /*exact=*/false, static_cast<uint64_t>(n + k));
        for (int64_t m : {1, 4, 16, 128}) {
            const Expected e = expect(d, m, n, k, /*exact=*/false, nullptr, Activation::none, m >= 16 ? 29 : 7);
            const Expected e_bf16 =
                m >= 16 ? expect(d, m, n, k, /*exact=*/false, nullptr, Activation::none, 29, /*bf16=*/true) : Expected{};
            for (const GemvF16Kernel* kern : gemv_f16_variants())
                for (Path path : {Path::gemv, Path::gemm, Path::bf16}) {
                    // The GEMV where dispatch would take it (always at decode), the GEMMs from M = 16.
                    if (path == Path::gemv && m > kGemvF16PassRows && m > kern->gemv_max_rows) continue;
                    if (path != Path::gemv && m <= kGemvF16PassRows) continue;
                    verify(*kern, path, pool, m, n, k, d, nullptr, Activation::none, path == Path::bf16 ? e_bf16 : e);
                    if (HasFatalFailure()) return;
                }
        }
    }
}

}  // namespace
}  // namespace tern
