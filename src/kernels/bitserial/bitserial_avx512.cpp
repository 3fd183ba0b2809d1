// AVX-512 bit-serial products: VPOPCNTQ on 512 bits (8 words) at a time, a
// 4 x 4 tile of C per pass so each loaded word of A and B is used four
// times; tail words come in through masked (zero-filling) loads, which XOR
// and mask to nothing. B is walked in blocks that stay in L2.
#include <immintrin.h>

#include <algorithm>

#include "kernels/bitserial/bitserial.h"
#include "kernels/bitserial/tile_driver.h"

// VPOPCNTDQ is not part of tern's AVX-512 level (Zen 4 / Sapphire Rapids have
// it, Skylake-X does not): only the functions that use it are compiled for it,
// and bit_gemm_kernel_supported() checks the CPU.
#define TERN_VPOPCNT __attribute__((target("avx512f,avx512vpopcntdq")))

namespace tern {

namespace {

// Words of B per L2-resident block (256 KiB).
constexpr int64_t kBlockWords = (256 << 10) / 8;

template <int MR, int NR, bool Ternary>
TERN_VPOPCNT void tile(const BitGemmArgs& g, int64_t words, int64_t i, int64_t j) {
    __m512i acc[MR][NR];
    for (int r = 0; r < MR; ++r)
        for (int c = 0; c < NR; ++c) acc[r][c] = _mm512_setzero_si512();
    const uint64_t* a = g.a + i * words;
    const uint64_t* b = g.b + j * words;
    const uint64_t* bm = Ternary ? g.b_mask + j * words : nullptr;
    for (int64_t w = 0; w < words; w += 8) {
        const int64_t left = words - w;
        const __mmask8 k = left >= 8 ? __mmask8(0xff) : __mmask8((1u << left) - 1);
        __m512i av[MR];
        for (int r = 0; r < MR; ++r) av[r] = _mm512_maskz_loadu_epi64(k, a + r * words + w);
        for (int c = 0; c < NR; ++c) {
            const __m512i bv = _mm512_maskz_loadu_epi64(k, b + c * words + w);
            if constexpr (Ternary) {
                const __m512i mv = _mm512_maskz_loadu_epi64(k, bm + c * words + w);
                for (int r = 0; r < MR; ++r)
                    acc[r][c] = _mm512_add_epi64(acc[r][c], _mm512_popcnt_epi64(_mm512_and_si512(mv, _mm512_xor_si512(av[r], bv))));
            } else {
                for (int r = 0; r < MR; ++r)
                    acc[r][c] = _mm512_add_epi64(acc[r][c], _mm512_popcnt_epi64(_mm512_xor_si512(av[r], bv)));
            }
        }
    }
    for (int r = 0; r < MR; ++r) {
        for (int c = 0; c < NR; ++c) {
            const int64_t differ = _mm512_reduce_add_epi64(acc[r][c]);
            const int64_t base = Ternary ? g.b_nonzero[j + c] : g.k;
            g.c[(i + r) * g.n + j + c] = static_cast<int32_t>(base - 2 * differ);
        }
    }
}

template <bool Ternary>
TERN_VPOPCNT void bit_gemm(const BitGemmArgs& g, int64_t m0, int64_t m1) {
    const int64_t words = bit_words(g.k);
    if (words == 0) return bitserial_detail::fill_empty_k(g, Ternary, m0, m1);
    bitserial_detail::for_each_tile<4>(g, m0, m1, kBlockWords, [&]<int MR, int NR>(int64_t i, int64_t j) {
        tile<MR, NR, Ternary>(g, words, i, j);
    });
}

}  // namespace

TERN_VPOPCNT void bit_gemm_binary_avx512(const BitGemmArgs& g, int64_t m0, int64_t m1) { bit_gemm<false>(g, m0, m1); }
TERN_VPOPCNT void bit_gemm_ternary_avx512(const BitGemmArgs& g, int64_t m0, int64_t m1) { bit_gemm<true>(g, m0, m1); }

}  // namespace tern
