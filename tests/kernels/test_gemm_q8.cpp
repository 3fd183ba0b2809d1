// gemm_q8's own tests: operands at the extremes of u8 x s8 (where vpmaddubsw
// would saturate) and argument checks. The shared GEMM cases (awkward shapes,
// every output, epilogues, threads) run bit-exact in test_gemm_common.cpp.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gemm_test_traits.h"
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {
namespace {

using gemm_test::Q8Traits;
using gemm_test::Shape3;

TEST(GemmQ8, ExtremeValuesZeroPointsAndClamp) {
    ThreadPool pool(1);
    uint32_t seed = 500;
    for (const GemmQ8Kernel* kernel : gemm_q8_variants()) {
        for (const auto& s : {Shape3{13, 45, 1001}, Shape3{3, 33, 2}}) {
            // All-255 activations against all -128 weights, then near the top of both.
            Q8Traits::check(*kernel, pool,
                            {s, false, false, {.a_zp = 0, .a_lo = 255, .a_hi = 255, .b_lo = -128, .b_hi = -128}}, seed++);
            Q8Traits::check(*kernel, pool,
                            {s, false, true, {.a_zp = 255, .bias = true, .a_lo = 250, .a_hi = 255, .b_lo = 120, .b_hi = 127}},
                            seed++);
            for (const auto& e : Q8Traits::epilogues()) Q8Traits::check(*kernel, pool, {s, false, seed % 2 == 0, e}, seed++);
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
