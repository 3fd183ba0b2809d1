#pragma once
// Loops over C that the SIMD files share. for_each_tile (the row-major AVX2
// kernel): B walked in blocks of rows that stay in L2 (`block_words` words
// each), C in tiles of up to MaxRows x 4 with the edge tiles smaller.
// `tile.template operator()<MR, NR>(i, j)` computes the MR x NR tile at (i, j).
#include <algorithm>
#include <cstdint>

#include "kernels/bitserial/bitserial.h"

namespace tern::bitserial_detail {

// K = 0: every dot product is its base (K for binary, the row's nonzero count for ternary).
inline void fill_empty_k(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t j0, int64_t j1) {
    for (int64_t i = m0; i < m1; ++i)
        for (int64_t j = j0; j < j1; ++j) g.c[i * g.n + j] = b.ternary() ? b.nonzero()[j] : static_cast<int32_t>(g.k);
}

template <int MaxRows, class Tile>
void for_each_tile(const BitGemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t block_words, Tile tile) {
    static_assert(MaxRows >= 1 && MaxRows <= 4);
    const int64_t words = bit_words(g.k);
    const int64_t block = std::max<int64_t>(4, (block_words / std::max<int64_t>(words, 1)) / 4 * 4);
    for (int64_t j0 = n0; j0 < n1; j0 += block) {
        const int64_t j1 = std::min(n1, j0 + block);
        const auto row_block = [&]<int MR>(int64_t i) {
            int64_t j = j0;
            for (; j + 4 <= j1; j += 4) tile.template operator()<MR, 4>(i, j);
            switch (j1 - j) {
                case 3: tile.template operator()<MR, 3>(i, j); break;
                case 2: tile.template operator()<MR, 2>(i, j); break;
                case 1: tile.template operator()<MR, 1>(i, j); break;
                default: break;
            }
        };
        int64_t i = m0;
        for (; i + MaxRows <= m1; i += MaxRows) row_block.template operator()<MaxRows>(i);
        const int64_t left = m1 - i;
        if constexpr (MaxRows > 3) if (left == 3) row_block.template operator()<3>(i);
        if constexpr (MaxRows > 2) if (left == 2) row_block.template operator()<2>(i);
        if constexpr (MaxRows > 1) if (left == 1) row_block.template operator()<1>(i);
    }
}

}  // namespace tern::bitserial_detail
