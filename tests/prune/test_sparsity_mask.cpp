// prune/sparsity_mask.h: exact counts per row and per matrix, the N:M property
// on every group, the lowest scores pruned, and deterministic ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/error.h"
#include "prune/sparsity_mask.h"

namespace tern::prune {
namespace {

std::vector<float> sparsity_mask_random_scores(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> s(static_cast<size_t>(n));
    for (float& v : s) v = u(rng);
    return s;
}

// Every pruned score of a group is <= every kept one.
void expect_lowest_pruned(const std::vector<float>& s, const std::vector<uint8_t>& mask, int64_t begin, int64_t end) {
    float max_pruned = -1, min_kept = 2;
    for (int64_t i = begin; i < end; ++i) {
        const float v = s[static_cast<size_t>(i)];
        if (mask[static_cast<size_t>(i)]) max_pruned = std::max(max_pruned, v);
        else min_kept = std::min(min_kept, v);
    }
    EXPECT_LE(max_pruned, min_kept);
}

TEST(SparsityMask, PerRowPrunesFloorOfSTimesColsInEveryRow) {
    const int64_t rows = 7, cols = 40;
    const std::vector<float> s = sparsity_mask_random_scores(rows * cols, 1);
    for (double sp : {0.0, 0.5, 0.6, 0.33}) {
        const std::vector<uint8_t> m = unstructured_mask(s, rows, cols, sp, MaskScope::per_row);
        for (int64_t r = 0; r < rows; ++r) {
            const auto n = std::count(m.begin() + r * cols, m.begin() + (r + 1) * cols, uint8_t{1});
            EXPECT_EQ(n, static_cast<int64_t>(sp * cols)) << "sparsity " << sp << " row " << r;
            expect_lowest_pruned(s, m, r * cols, (r + 1) * cols);
        }
    }
}

TEST(SparsityMask, PerMatrixPrunesTheLowestScoresOfTheWholeMatrix) {
    const int64_t rows = 9, cols = 13;
    const std::vector<float> s = sparsity_mask_random_scores(rows * cols, 2);
    const std::vector<uint8_t> m = unstructured_mask(s, rows, cols, 0.5, MaskScope::per_matrix);
    EXPECT_EQ(std::count(m.begin(), m.end(), uint8_t{1}), rows * cols / 2);
    expect_lowest_pruned(s, m, 0, rows * cols);
}

TEST(SparsityMask, NmKeepsExactlyNOfEveryMColumns) {
    const int64_t rows = 5, cols = 64;
    const std::vector<float> s = sparsity_mask_random_scores(rows * cols, 3);
    for (const NmPattern p : {NmPattern{2, 4}, NmPattern{4, 8}, NmPattern{1, 4}}) {
        const std::vector<uint8_t> m = nm_mask(s, rows, cols, p);
        for (int64_t g = 0; g < rows * cols; g += p.m) {
            EXPECT_EQ(std::count(m.begin() + g, m.begin() + g + p.m, uint8_t{0}), p.n) << p.n << ":" << p.m << " group " << g;
            expect_lowest_pruned(s, m, g, g + p.m);
        }
    }
}

TEST(SparsityMask, TiesPruneTheLowerIndexFirst) {
    const std::vector<float> s(16, 1.0f);
    const std::vector<uint8_t> row = unstructured_mask(s, 2, 8, 0.5, MaskScope::per_row);
    EXPECT_EQ(row, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}));
    const std::vector<uint8_t> nm = nm_mask(s, 2, 8, {2, 4});
    EXPECT_EQ(nm, (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}));
    const std::vector<uint8_t> whole = unstructured_mask(s, 2, 8, 0.25, MaskScope::per_matrix);
    EXPECT_EQ(whole, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(SparsityMask, RefusesBadSparsityPatternsAndShapes) {
    const std::vector<float> s(24, 1.0f);
    EXPECT_THROW(unstructured_mask(s, 2, 12, 1.0, MaskScope::per_row), UsageError);
    EXPECT_THROW(unstructured_mask(s, 2, 12, -0.1, MaskScope::per_row), UsageError);
    EXPECT_THROW(unstructured_mask(s, 2, 11, 0.5, MaskScope::per_row), InputError);
    EXPECT_NO_THROW(nm_mask(s, 3, 8, {4, 8}));
    try {
        nm_mask(s, 2, 12, {4, 8}, "blk.0.attn_q.weight");
        ADD_FAILURE() << "M = 8 does not divide 12";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
    }
    EXPECT_EQ(parse_nm_pattern("2:4").n, 2);
    EXPECT_EQ(parse_nm_pattern("4:8").m, 8);
    for (const char* bad : {"4:2", "2:2", "0:4", "2-4", "2:4x", ":4"}) EXPECT_THROW(parse_nm_pattern(bad), UsageError) << bad;
}

}  // namespace
}  // namespace tern::prune
