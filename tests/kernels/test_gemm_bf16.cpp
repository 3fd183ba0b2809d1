// gemm_bf16's own tests: argument checks. The shared GEMM cases (awkward
// shapes, transposes, epilogues, prepacked B, threads) run in
// test_gemm_common.cpp for every packed family.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "kernels/gemm_bf16/gemm_bf16.h"

namespace tern {
namespace {

TEST(GemmBf16, RejectsBadLeadingDimension) {
    std::vector<uint16_t> a(6), b(6);
    std::vector<float> c(4);
    GemmBf16Args g;
    g.m = 2, g.n = 2, g.k = 3;
    g.a = a.data(), g.lda = 2;  // < K
    g.b = b.data(), g.ldb = 2, g.c = c.data(), g.ldc = 2;
    EXPECT_THROW(gemm_bf16(g), InputError);
}

}  // namespace
}  // namespace tern
