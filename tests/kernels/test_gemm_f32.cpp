// gemm_f32's own tests: argument checks and the short-M tile choice. The shared
// GEMM cases (awkward shapes, transposes, epilogues, prepacked B, threads) run
// in test_gemm_common.cpp for every packed family.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "core/error.h"
#include "kernels/gemm_f32/gemm_f32.h"

namespace tern {
namespace {

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
