// gemm_q8: every kernel this CPU supports must match the reference bit for bit
// (s32, requantized s8 and dequantized fp32 outputs) on awkward shapes, with
// zero points, biases, clamps, one and two threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gemm_test_util.h"
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {
namespace {

struct Case {
    gemm_test::Shape3 s;
    bool tb;
    Q8Output out;
    int32_t a_zp;
    bool bias;
    int32_t qmin = -128, qmax = 127;
    int32_t a_lo = 0, a_hi = 255, b_lo = -128, b_hi = 127;
};

void check_case(const GemmQ8Kernel& kernel, ThreadPool& pool, const Case& cs, uint32_t seed) {
    const auto [m, n, k] = cs.s;
    const int64_t lda = k + 3, ldc = n + 5;
    const auto lb = gemm_test::layout_of(k, n, cs.tb);
    const auto a = gemm_test::random_ints<uint8_t>(static_cast<size_t>(m * lda), seed, cs.a_lo, cs.a_hi);
    const auto b = gemm_test::random_ints<int8_t>(static_cast<size_t>(lb.stored_rows * lb.ld), seed + 1, cs.b_lo, cs.b_hi);
    const auto bias_s32 = gemm_test::random_ints<int32_t>(static_cast<size_t>(n), seed + 2, -5000, 5000);
    const auto bias_f32 = gemm_test::random_floats(static_cast<size_t>(n), seed + 3);
    const auto b_scale = gemm_test::random_floats(static_cast<size_t>(n), seed + 4, 1e-3f, 2e-2f);
    const size_t elem = cs.out == Q8Output::requant_s8 ? 1 : 4;
    std::vector<uint8_t> c(static_cast<size_t>(m * ldc) * elem, 0xA5), c_ref = c;

    GemmQ8PackedB packed(kernel, b.data(), lb.ld, cs.tb, k, n);
    GemmQ8Args g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data(), g.lda = lda, g.a_zero_point = cs.a_zp, g.a_scale = 0.05f;
    g.b = &packed, g.b_scale = b_scale.data();
    g.output = cs.out, g.ldc = ldc;
    g.bias_s32 = cs.bias ? bias_s32.data() : nullptr;
    g.bias_f32 = cs.bias && cs.out == Q8Output::dequant_f32 ? bias_f32.data() : nullptr;
    // out_scale puts one standard deviation of corr (~74*74*sqrt(K) for uniform
    // operands) at ~40 int8 steps: values spread over the range and the tails clamp.
    g.out_scale = 0.05f * 0.0105f * 5500.0f * std::sqrt(static_cast<float>(std::max<int64_t>(k, 1))) / 40.0f;
    g.out_zero_point = 3, g.qmin = cs.qmin, g.qmax = cs.qmax;
    g.c = c.data();
    gemm_q8(g, pool);
    g.c = c_ref.data();
    gemm_q8_reference(g, b.data(), lb.ld, cs.tb);
    // Byte comparison covers the padding between rows too (must stay 0xA5).
    if (std::memcmp(c.data(), c_ref.data(), c.size()) != 0) {
        size_t first = 0;
        while (c[first] == c_ref[first]) ++first;
        ADD_FAILURE() << kernel.name << " m=" << m << " n=" << n << " k=" << k << " tb=" << cs.tb
                      << " mode=" << static_cast<int>(cs.out) << ": first differing byte " << first << " (row "
                      << first / elem / ldc << ", col " << first / elem % ldc << ")";
    }
}

TEST(GemmQ8, TableAndDispatch) {
    EXPECT_GE(gemm_q8_kernels().size(), 3u);
    EXPECT_TRUE(isa_supported(gemm_q8_kernel().isa));
    EXPECT_LE(gemm_q8_kernel().isa, active_isa());
}

TEST(GemmQ8, BitExactAllOutputsAwkwardShapes) {
    ThreadPool pool(1);
    uint32_t seed = 1;
    for (const GemmQ8Kernel* kernel : gemm_q8_supported_kernels()) {
        for (const auto& s : gemm_test::awkward_shapes()) {
            for (Q8Output out : {Q8Output::s32, Q8Output::requant_s8, Q8Output::dequant_f32}) {
                check_case(*kernel, pool, {s, (seed & 1) != 0, out, 128, (seed & 2) != 0}, seed);
                ++seed;
            }
        }
    }
}

TEST(GemmQ8, ExtremeValuesZeroPointsAndClamp) {
    ThreadPool pool(1);
    uint32_t seed = 500;
    for (const GemmQ8Kernel* kernel : gemm_q8_supported_kernels()) {
        for (const auto& s : {gemm_test::Shape3{13, 45, 1001}, gemm_test::Shape3{3, 33, 2}}) {
            // All-255 activations against all -128 weights: where vpmaddubsw would saturate.
            check_case(*kernel, pool, {s, false, Q8Output::s32, 0, false, -128, 127, 255, 255, -128, -128}, seed++);
            check_case(*kernel, pool, {s, true, Q8Output::s32, 255, true, -128, 127, 250, 255, 120, 127}, seed++);
            check_case(*kernel, pool, {s, false, Q8Output::requant_s8, 7, true, 3, 127}, seed++);  // fused ReLU
            check_case(*kernel, pool, {s, true, Q8Output::requant_s8, 0, false, -20, 20}, seed++);
        }
    }
}

TEST(GemmQ8, TwoThreads) {
    ThreadPool pool(2);
    uint32_t seed = 900;
    for (const GemmQ8Kernel* kernel : gemm_q8_supported_kernels()) {
        for (const auto& s : {gemm_test::Shape3{100, 300, 200}, gemm_test::Shape3{1, 2100, 260}}) {
            for (Q8Output out : {Q8Output::s32, Q8Output::requant_s8, Q8Output::dequant_f32})
                check_case(*kernel, pool, {s, true, out, 100, true}, seed++);
        }
    }
}

TEST(GemmQ8, RejectsUnpackedOrBadZeroPoint) {
    GemmQ8Args g;
    g.m = g.n = g.k = 1;
    EXPECT_THROW(gemm_q8(g), InputError);
    const int8_t w = 1;
    GemmQ8PackedB packed(gemm_q8_kernel(), &w, 1, false, 1, 1);
    uint8_t a = 1;
    int32_t c = 0;
    g.b = &packed, g.a = &a, g.lda = 1, g.c = &c, g.ldc = 1, g.a_zero_point = 300;
    EXPECT_THROW(gemm_q8(g), InputError);
}

}  // namespace
}  // namespace tern
