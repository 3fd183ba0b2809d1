// gemm_f32: every kernel this CPU supports against the double-accumulating
// reference, on awkward shapes, all transpose combinations, alpha/beta, bias and
// activations, one and two threads, raw and prepacked B.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <memory>

#include "core/error.h"

#include "core/thread_pool.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "gemm_test_util.h"

namespace tern {
namespace {

using gemm_test::layout_of;

struct Case {
    gemm_test::Shape3 s;
    bool ta, tb;
    float alpha, beta;
    bool bias;
    Activation act;
    bool prepack;
};

// Runs one case on `kernel` and checks every element against the reference with
// the budget |err| <= (K + 8) * u * S * 1.5 + 4e-6 * |ref|, where S is the sum of
// magnitudes that fed the element (|alpha| sum|a||b| + |beta c| + |bias|) and u = 2^-24:
// the worst-case bound of a K-term fp32 dot product, plus the activation's few ulps.
void check_case(const GemmF32Kernel& kernel, ThreadPool& pool, const Case& cs, uint32_t seed) {
    const auto [m, n, k] = cs.s;
    const auto la = layout_of(m, k, cs.ta), lb = layout_of(k, n, cs.tb);
    const int64_t ldc = n + 5;
    const auto a = gemm_test::random_floats(static_cast<size_t>(la.stored_rows * la.ld), seed);
    const auto b = gemm_test::random_floats(static_cast<size_t>(lb.stored_rows * lb.ld), seed + 1);
    const auto c0 = gemm_test::random_floats(static_cast<size_t>(m * ldc), seed + 2);
    const auto bias = gemm_test::random_floats(static_cast<size_t>(n), seed + 3);
    std::vector<float> c = c0, c_ref = c0;

    GemmF32Args g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data(), g.lda = la.ld, g.trans_a = cs.ta;
    g.b = b.data(), g.ldb = lb.ld, g.trans_b = cs.tb;
    g.ldc = ldc, g.alpha = cs.alpha, g.beta = cs.beta;
    g.bias = cs.bias ? bias.data() : nullptr, g.act = cs.act;
    std::unique_ptr<GemmF32PackedB> packed;
    if (cs.prepack) {
        packed = std::make_unique<GemmF32PackedB>(kernel, b.data(), lb.ld, cs.tb, k, n);
        g.packed_b = packed.get();
    }
    g.c = c.data();
    gemm_f32(kernel, g, pool);
    g.c = c_ref.data();
    gemm_f32_reference(g);

    int bad = 0;
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < ldc; ++j) {
            const size_t idx = static_cast<size_t>(i * ldc + j);
            if (j >= n) {  // padding between rows must be untouched
                ASSERT_EQ(c[idx], c0[idx]) << kernel.name << " wrote past N at " << i << "," << j;
                continue;
            }
            double s = 0.0;
            for (int64_t p = 0; p < k; ++p) {
                const double av = cs.ta ? a[p * la.ld + i] : a[i * la.ld + p];
                const double bv = cs.tb ? b[j * lb.ld + p] : b[p * lb.ld + j];
                s += std::fabs(av * bv);
            }
            s = std::fabs(cs.alpha) * s + std::fabs(cs.beta * c0[idx]) + (cs.bias ? std::fabs(bias[j]) : 0.0);
            const double budget = (k + 8) * 5.96e-8 * s * 1.5 + 4e-6 * std::fabs(c_ref[idx]) + 1e-30;
            const double err = std::fabs(static_cast<double>(c[idx]) - c_ref[idx]);
            if (!(err <= budget) && bad++ < 3)
                ADD_FAILURE() << kernel.name << " m=" << m << " n=" << n << " k=" << k << " ta=" << cs.ta
                              << " tb=" << cs.tb << " act=" << activation_name(cs.act) << " at (" << i << "," << j
                              << "): got " << c[idx] << " want " << c_ref[idx] << " budget " << budget;
        }
    }
}

TEST(GemmF32, TableHasOneKernelPerIsaAndActiveIsSupported) {
    EXPECT_GE(gemm_f32_kernels().size(), 3u);
    EXPECT_TRUE(isa_supported(gemm_f32_kernel().isa));
    EXPECT_LE(gemm_f32_kernel().isa, active_isa());
    EXPECT_FALSE(gemm_f32_supported_kernels().empty());
}

TEST(GemmF32, AwkwardShapesAllTransposes) {
    ThreadPool pool(1);
    uint32_t seed = 1;
    for (const GemmF32Kernel* kernel : gemm_f32_supported_kernels()) {
        for (const auto& s : gemm_test::awkward_shapes()) {
            for (int t = 0; t < 4; ++t) {
                check_case(*kernel, pool, {s, (t & 1) != 0, (t & 2) != 0, 1.0f, 0.0f, false, Activation::none, false},
                           seed++);
            }
        }
    }
}

TEST(GemmF32, AlphaBetaBiasActivations) {
    ThreadPool pool(1);
    uint32_t seed = 100;
    const Activation acts[] = {Activation::none, Activation::relu, Activation::gelu_tanh, Activation::silu};
    for (const GemmF32Kernel* kernel : gemm_f32_supported_kernels()) {
        // K = 4200 spans several K blocks of every variant: beta must apply on the first block only.
        for (const auto& s : {gemm_test::Shape3{7, 33, 300}, gemm_test::Shape3{33, 45, 17}, gemm_test::Shape3{1, 5, 1},
                              gemm_test::Shape3{14, 40, 4200}}) {
            for (Activation act : acts) {
                check_case(*kernel, pool, {s, false, true, 0.75f, -1.5f, true, act, false}, seed++);
                check_case(*kernel, pool, {s, true, false, -2.0f, 1.0f, false, act, false}, seed++);
            }
        }
    }
}

TEST(GemmF32, PrepackedBAndTwoThreads) {
    ThreadPool pool(2);
    uint32_t seed = 200;
    for (const GemmF32Kernel* kernel : gemm_f32_supported_kernels()) {
        for (const auto& s : {gemm_test::Shape3{200, 300, 64}, gemm_test::Shape3{40, 1100, 300},
                              gemm_test::Shape3{1, 2100, 260}, gemm_test::Shape3{9, 7, 5}, gemm_test::Shape3{13, 70, 4200}}) {
            for (bool prepack : {false, true}) {
                check_case(*kernel, pool, {s, false, false, 1.0f, 0.5f, true, Activation::silu, prepack}, seed++);
                check_case(*kernel, pool, {s, true, true, 1.0f, 0.0f, false, Activation::none, prepack}, seed++);
            }
        }
    }
}

TEST(GemmF32, ZeroKAppliesEpilogueOnly) {
    ThreadPool pool(1);
    for (const GemmF32Kernel* kernel : gemm_f32_supported_kernels())
        check_case(*kernel, pool, {{5, 19, 0}, false, false, 1.0f, 2.0f, true, Activation::relu, false}, 7);
}

TEST(GemmF32, RejectsBadLeadingDimension) {
    std::vector<float> a(6), b(6), c(4);
    GemmF32Args g;
    g.m = 2, g.n = 2, g.k = 3;
    g.a = a.data(), g.lda = 2;  // < K
    g.b = b.data(), g.ldb = 2, g.c = c.data(), g.ldc = 2;
    EXPECT_THROW(gemm_f32(g), InputError);
}

// Short M picks a shorter micro-tile (M = 16 would pad to 24 rows with 12-row
// tiles, M = 1 to 12); long M keeps the main one; M = 1 takes a 1-row tile if there is one. The awkward shapes above
// (M = 1, 3, 7, 13, 17) run through the short tiles and check them against the reference.
TEST(GemmF32, ShortMChoosesShorterTile) {
    using Fn = GemmF32MicroKernel;
    const std::array<gemm::ShortTile<Fn>, 2> tiles{{{8, gemm_f32_ukr_4x8_scalar}, {4, gemm_f32_ukr_4x8_scalar}}};
    auto mr_for = [&](int64_t m) {
        gemm::Blocking bl{12, 32, 1, 48, 1024, 4096};
        Fn fn = nullptr;
        gemm::choose_row_tile(m, tiles, &bl, &fn);
        return bl.mr;
    };
    EXPECT_EQ(mr_for(1), 4);
    EXPECT_EQ(mr_for(4), 4);
    EXPECT_EQ(mr_for(8), 8);
    EXPECT_EQ(mr_for(16), 8);
    EXPECT_EQ(mr_for(17), 4);   // 5 x 4 rows beat 2 x 12
    EXPECT_EQ(mr_for(12), 12);
    EXPECT_EQ(mr_for(128), 12);  // 132 vs 128 padded rows: under 5 %, keep 12
    EXPECT_EQ(mr_for(512), 12);
    gemm::Blocking odd{12, 32, 1, 36, 1024, 4096};  // MC not a multiple of 8: only 4 fits
    Fn fn = nullptr;
    gemm::choose_row_tile(16, tiles, &odd, &fn);
    EXPECT_EQ(odd.mr, 4);

    // With a 1-row (GEMV) tile in the table, M = 1 takes it and nothing else does.
    const std::array<gemm::ShortTile<Fn>, 3> with_row{
        {{8, gemm_f32_ukr_4x8_scalar}, {4, gemm_f32_ukr_4x8_scalar}, {1, gemm_f32_ukr_4x8_scalar}}};
    for (int64_t m : {1, 2, 3, 16}) {
        gemm::Blocking bl{12, 32, 1, 48, 1024, 4096};
        Fn f = nullptr;
        gemm::choose_row_tile(m, with_row, &bl, &f);
        EXPECT_EQ(bl.mr, m == 1 ? 1 : (m == 16 ? 8 : 4)) << "m " << m;
    }
}

}  // namespace
}  // namespace tern
