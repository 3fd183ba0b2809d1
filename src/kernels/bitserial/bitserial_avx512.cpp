// AVX-512 bit-serial products on B packed in panels of 8 columns (BitPackedB):
// one 512-bit load holds word w of 8 columns, A's word w is broadcast against
// it, and VPOPCNTQ leaves each column's count in its own 64-bit lane. So the
// accumulators are outputs (a 6 x 32 tile: 6 rows x 4 panels, 24 registers)
// and need no horizontal sums; per 512 MACs of one output lane group the
// inner loop spends an XOR (a VPTERNLOGQ for ternary: mask AND (a XOR sign)),
// a VPOPCNTQ and a VPADDQ. A panel group (4 panels, K/64 x 256 bytes) stays
// in L1 while a block of row tiles passes under it.
#include <immintrin.h>

#include <algorithm>

#include "kernels/bitserial/bitserial.h"
#include "kernels/bitserial/tile_driver.h"

// VPOPCNTDQ is not part of tern's AVX-512 level (Zen 4 / Sapphire Rapids have
// it, Skylake-X does not): only the functions that use it are compiled for it,
// and bit_gemm_kernel_supported() checks the CPU.
#define TERN_VPOPCNT __attribute__((target("avx512f,avx512vpopcntdq,prfchw")))

namespace tern {

namespace {

constexpr int kLanes = 8;   // columns per panel (the table's `panel`)
constexpr int kRows = 6;    // rows per tile (the table's `rows`)
constexpr int kPanels = 4;  // panels per tile: 6 x 4 accumulators + 4 B words + A's broadcast fit 32 registers
// A rows per block: 16 KiB of words, so a block (60 rows at K = 2048) stays
// in L1 beside the panel group it runs under, and each group, once loaded
// from L2, serves every tile of the block.
constexpr int64_t kRowBlockWords = (16 << 10) / 8;

// m AND (a XOR s) in one VPTERNLOGQ, operands (m, a, s): 0xF0 & (0xCC ^ 0xAA).
constexpr int kMaskedXor = 0x60;

template <int MR, int NP, bool Ternary>
TERN_VPOPCNT void tile(const BitGemmArgs& g, const BitPackedB& b, int64_t i, int64_t p) {
    const int64_t words = b.words(), stride = words * kLanes;
    const uint64_t* a = g.a + i * words;
    const uint64_t* bs = b.sign() + p * stride;
    const uint64_t* bm = Ternary ? b.mask() + p * stride : nullptr;
    // C's lines for this tile are fetched for writing now, while the tile
    // computes: at 2048^3 C (16 MiB) does not stay in cache, and storing into
    // missing lines at the end stalled the next tile.
    for (int r = 0; r < MR; ++r) {
        const int32_t* row = g.c + (i + r) * g.n;
        const int64_t first = p * kLanes, last = std::min(g.n, (p + NP) * kLanes) - 1;
        for (int64_t col = first; col <= last; col += 16) __builtin_prefetch(row + col, 1, 3);
        __builtin_prefetch(row + last, 1, 3);
    }
    __m512i acc[MR][NP];
    for (int r = 0; r < MR; ++r)
        for (int c = 0; c < NP; ++c) acc[r][c] = _mm512_setzero_si512();
    for (int64_t w = 0; w < words; ++w) {
        __m512i bv[NP], mv[NP];
        for (int c = 0; c < NP; ++c) {
            bv[c] = _mm512_load_si512(bs + c * stride + w * kLanes);
            if constexpr (Ternary) mv[c] = _mm512_load_si512(bm + c * stride + w * kLanes);
        }
        for (int r = 0; r < MR; ++r) {
            const __m512i av = _mm512_set1_epi64(static_cast<long long>(a[r * words + w]));
            for (int c = 0; c < NP; ++c) {
                __m512i x;
                if constexpr (Ternary) {
                    x = _mm512_ternarylogic_epi64(mv[c], av, bv[c], kMaskedXor);
                } else {
                    x = _mm512_xor_si512(av, bv[c]);
                }
                acc[r][c] = _mm512_add_epi64(acc[r][c], _mm512_popcnt_epi64(x));
            }
        }
    }
    // dot = base - 2 * differ in int32, masked stores drop the columns past n.
    // Two panels at a time: one VPERMT2D takes the low dwords of both (the
    // counts fit 32 bits) into 16 columns, one sub and one 64-byte store.
    const __m512i low_dwords = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int c = 0; c < NP; c += 2) {
        const int64_t col = (p + c) * kLanes;
        if (c + 1 < NP) {
            const __mmask16 keep = static_cast<__mmask16>((1u << std::min<int64_t>(2 * kLanes, g.n - col)) - 1);
            const __m512i base = Ternary ? _mm512_loadu_si512(b.nonzero() + col) : _mm512_set1_epi32(static_cast<int32_t>(g.k));
            for (int r = 0; r < MR; ++r) {
                const __m512i differ = _mm512_permutex2var_epi32(acc[r][c], low_dwords, acc[r][c + 1]);
                _mm512_mask_storeu_epi32(g.c + (i + r) * g.n + col, keep,
                                         _mm512_sub_epi32(base, _mm512_add_epi32(differ, differ)));
            }
        } else {
            const __mmask8 keep = static_cast<__mmask8>((1u << std::min<int64_t>(kLanes, g.n - col)) - 1);
            const __m512i base = Ternary ? _mm512_maskz_cvtepi32_epi64(0xff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.nonzero() + col)))
                                         : _mm512_set1_epi64(g.k);
            for (int r = 0; r < MR; ++r) {
                const __m512i dot = _mm512_sub_epi64(base, _mm512_add_epi64(acc[r][c], acc[r][c]));
                _mm512_mask_cvtepi64_storeu_epi32(g.c + (i + r) * g.n + col, keep, dot);
            }
        }
    }
}

// The last rows of a block, fewer than a whole tile.
template <int MR, int NP, bool Ternary>
TERN_VPOPCNT void short_tile(const BitGemmArgs& g, const BitPackedB& b, int64_t i, int64_t p, int64_t left) {
    if constexpr (MR > 0) {
        if (left == MR) return tile<MR, NP, Ternary>(g, b, i, p);
        short_tile<MR - 1, NP, Ternary>(g, b, i, p, left);
    }
}

// Rows [i0, i1) under panels [p, p + NP): whole MR-row tiles, then one shorter.
template <int MR, int NP, bool Ternary>
TERN_VPOPCNT void row_tiles(const BitGemmArgs& g, const BitPackedB& b, int64_t i0, int64_t i1, int64_t p) {
    int64_t i = i0;
    for (; i + MR <= i1; i += MR) tile<MR, NP, Ternary>(g, b, i, p);
    short_tile<MR - 1, NP, Ternary>(g, b, i, p, i1 - i);
}

template <int MR, int NP, bool Ternary>
TERN_VPOPCNT void panel_group(const BitGemmArgs& g, const BitPackedB& b, int64_t i0, int64_t i1, int64_t p, int64_t np) {
    if constexpr (NP > 0) {
        if (np == NP) return row_tiles<MR, NP, Ternary>(g, b, i0, i1, p);
        panel_group<MR, NP - 1, Ternary>(g, b, i0, i1, p, np);
    }
}

template <bool Ternary>
TERN_VPOPCNT void bit_gemm(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    constexpr int MR = kRows, NP = kPanels;
    const int64_t words = b.words();
    if (words == 0) return bitserial_detail::fill_empty_k(g, b, m0, m1, p0 * kLanes, std::min(g.n, p1 * kLanes));
    const int64_t row_block = std::max<int64_t>(MR, kRowBlockWords / words / MR * MR);
    for (int64_t i0 = m0; i0 < m1; i0 += row_block) {
        const int64_t i1 = std::min(m1, i0 + row_block);
        for (int64_t p = p0; p < p1; p += NP) panel_group<MR, NP, Ternary>(g, b, i0, i1, p, std::min<int64_t>(NP, p1 - p));
    }
}

}  // namespace

TERN_VPOPCNT void bit_gemm_binary_avx512(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0,
                                         int64_t p1) {
    bit_gemm<false>(g, b, m0, m1, p0, p1);
}
TERN_VPOPCNT void bit_gemm_ternary_avx512(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0,
                                          int64_t p1) {
    bit_gemm<true>(g, b, m0, m1, p0, p1);
}

}  // namespace tern
