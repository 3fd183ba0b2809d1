// AVX2 bit-serial products: AVX2 has no vector popcount, so each byte's count
// comes from two 16-entry table lookups (VPSHUFB on the low and high nibble),
// summed into 64-bit lanes by VPSADBW (Mula, Kurz and Lemire's method). A 2 x 4
// tile of C per pass; tail words are copied into a zeroed 4-word buffer.
// B stays row-major (packed with panel = 1).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/bitserial/bitserial.h"
#include "kernels/bitserial/tile_driver.h"

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

// Not inlined into the entry below: inlined, GCC 12 compiled the tile loop
// 5-9% slower than main's (same tile code).
template <bool Ternary>
__attribute__((noinline)) void bit_gemm(const BitGemmArgs& g, int64_t m0, int64_t m1, int64_t j0, int64_t j1) {
    const int64_t words = bit_words(g.k);
    bitserial_detail::for_each_tile<2>(g, m0, m1, j0, j1, kBlockWords, [&]<int MR, int NR>(int64_t i, int64_t j) {
        tile<MR, NR, Ternary>(g, words, i, j);
    });
}

// The AVX2 row packs B with panel = 1: the packed planes are row-major and panels are columns.
template <bool Ternary>
void bit_gemm(const BitGemmArgs& args, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    BitGemmArgs g = args;
    g.b = b.sign(), g.b_mask = b.mask(), g.b_nonzero = b.nonzero();
    const int64_t j1 = std::min(p1, g.n);
    if (g.k == 0) return bitserial_detail::fill_empty_k(g, b, m0, m1, p0, j1);
    bit_gemm<Ternary>(g, m0, m1, p0, j1);
}

}  // namespace

void bit_gemm_binary_avx2(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    bit_gemm<false>(g, b, m0, m1, p0, p1);
}
void bit_gemm_ternary_avx2(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    bit_gemm<true>(g, b, m0, m1, p0, p1);
}

}  // namespace tern
