// AVX2 bit-serial products: AVX2 has no vector popcount, so each byte's count
// comes from two 16-entry table lookups (VPSHUFB on the low and high nibble),
// summed into 64-bit lanes by VPSADBW (Mula, Kurz and Lemire's method). A 2 x 4
// tile of C per pass; tail words are copied into a zeroed 4-word buffer.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/bitserial/bitserial.h"

namespace tern {

namespace {

constexpr int64_t kBlockWords = (256 << 10) / 8;

inline __m256i byte_popcounts(__m256i v, __m256i lut, __m256i low4) {
    const __m256i lo = _mm256_and_si256(v, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

// Four words at p, or the `left` (< 4) there followed by zeros.
inline __m256i load_words(const uint64_t* p, int64_t left) {
    if (left >= 4) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    alignas(32) uint64_t tmp[4] = {0, 0, 0, 0};
    std::memcpy(tmp, p, static_cast<size_t>(left) * 8);
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
}

inline int64_t lanes_sum(__m256i v) {
    alignas(32) int64_t t[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), v);
    return t[0] + t[1] + t[2] + t[3];
}

template <int MR, int NR, bool Ternary>
void tile(const BitGemmArgs& g, int64_t words, int64_t i, int64_t j) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3,
                                         2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    __m256i acc[MR][NR];
    for (int r = 0; r < MR; ++r)
        for (int c = 0; c < NR; ++c) acc[r][c] = zero;
    const uint64_t* a = g.a + i * words;
    const uint64_t* b = g.b + j * words;
    const uint64_t* bm = Ternary ? g.b_mask + j * words : nullptr;
    for (int64_t w = 0; w < words; w += 4) {
        const int64_t left = words - w;
        __m256i av[MR];
        for (int r = 0; r < MR; ++r) av[r] = load_words(a + r * words + w, left);
        for (int c = 0; c < NR; ++c) {
            const __m256i bv = load_words(b + c * words + w, left);
            const __m256i mv = Ternary ? load_words(bm + c * words + w, left) : zero;
            for (int r = 0; r < MR; ++r) {
                __m256i x = _mm256_xor_si256(av[r], bv);
                if constexpr (Ternary) x = _mm256_and_si256(x, mv);
                acc[r][c] = _mm256_add_epi64(acc[r][c], _mm256_sad_epu8(byte_popcounts(x, lut, low4), zero));
            }
        }
    }
    for (int r = 0; r < MR; ++r) {
        for (int c = 0; c < NR; ++c) {
            const int64_t base = Ternary ? g.b_nonzero[j + c] : g.k;
            g.c[(i + r) * g.n + j + c] = static_cast<int32_t>(base - 2 * lanes_sum(acc[r][c]));
        }
    }
}

template <int MR, bool Ternary>
void row_block(const BitGemmArgs& g, int64_t words, int64_t i, int64_t j0, int64_t j1) {
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) tile<MR, 4, Ternary>(g, words, i, j);
    switch (j1 - j) {
        case 3: tile<MR, 3, Ternary>(g, words, i, j); break;
        case 2: tile<MR, 2, Ternary>(g, words, i, j); break;
        case 1: tile<MR, 1, Ternary>(g, words, i, j); break;
        default: break;
    }
}

template <bool Ternary>
void bit_gemm(const BitGemmArgs& g, int64_t m0, int64_t m1) {
    const int64_t words = bit_words(g.k);
    if (words == 0) {
        for (int64_t i = m0; i < m1; ++i)
            for (int64_t j = 0; j < g.n; ++j) g.c[i * g.n + j] = Ternary ? g.b_nonzero[j] : static_cast<int32_t>(g.k);
        return;
    }
    const int64_t block = std::max<int64_t>(4, (kBlockWords / words) / 4 * 4);
    for (int64_t j0 = 0; j0 < g.n; j0 += block) {
        const int64_t j1 = std::min(g.n, j0 + block);
        int64_t i = m0;
        for (; i + 2 <= m1; i += 2) row_block<2, Ternary>(g, words, i, j0, j1);
        if (i < m1) row_block<1, Ternary>(g, words, i, j0, j1);
    }
}

}  // namespace

void bit_gemm_binary_avx2(const BitGemmArgs& g, int64_t m0, int64_t m1) { bit_gemm<false>(g, m0, m1); }
void bit_gemm_ternary_avx2(const BitGemmArgs& g, int64_t m0, int64_t m1) { bit_gemm<true>(g, m0, m1); }

}  // namespace tern
