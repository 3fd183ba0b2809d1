// gemm_q8 AVX2 fallback, exact: `vpmaddubsw` would saturate (255*127*2 > 32767),
// so both operands are widened to 16 bits and multiplied with `vpmaddwd`, whose
// s16 x s16 pair sums cannot overflow s32. The K-quad panels give each column
// two partial sums (K 0-1 and 2-3) that are folded with `vphaddd` at the end.
// A 6 x 8 tile: 12 accumulators (6 rows x 2 column halves).
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {
namespace {

// gemm::q8_store_row's requant_s8 case for 8 full columns, step for step in
// vector form (so byte-identical to the reference): wrapping corr = acc -
// a_zp * col_sum + bias, scale = (a_scale * b_scale) / out_scale, clamp, round
// half to even (ROUND_PS under the default mode is nearbyint), + zero point.
// The scalar epilogue (a switch and a libm nearbyint per value) was a third of
// PP-OCR cls's int8 time.
inline void q8_requant_row8_avx2(__m256i sums, const GemmQ8TileEpilogue& ep, int8_t* out) {
    const __m256i col_sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ep.col_sums));
    __m256i corr = _mm256_sub_epi32(sums, _mm256_mullo_epi32(_mm256_set1_epi32(ep.a_zero_point), col_sums));
    if (ep.bias_s32) corr = _mm256_add_epi32(corr, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ep.bias_s32)));
    const __m256 scale = _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(ep.a_scale), _mm256_loadu_ps(ep.b_scale)),
                                       _mm256_set1_ps(ep.out_scale));
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(corr), scale);
    v = _mm256_max_ps(v, _mm256_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point)));
    v = _mm256_min_ps(v, _mm256_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point)));
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(ep.out_zero_point));
    // Values lie in [qmin, qmax] within int8: the saturating packs only narrow.
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(w16, w16));
}

}  // namespace

void gemm_q8_ukr_6x8_avx2(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows, int cols,
                          const GemmQ8TileEpilogue& ep) {
    constexpr int MR = 6;
    __m256i acc_lo[MR], acc_hi[MR];  // columns 0-3 / 4-7, two partial sums each
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) acc_lo[r] = acc_hi[r] = _mm256_setzero_si256();
    for (int64_t p = 0; p < kcp; p += 4) {
        const __m256i braw = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));  // 8 columns x 4 K
        const __m256i b_lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(braw));
        const __m256i b_hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(braw, 1));
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            int32_t quad;
            std::memcpy(&quad, a + 4 * r, 4);
            const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32(quad));  // a0..a3 repeated, 16-bit
            acc_lo[r] = _mm256_add_epi32(acc_lo[r], _mm256_madd_epi16(av, b_lo));
            acc_hi[r] = _mm256_add_epi32(acc_hi[r], _mm256_madd_epi16(av, b_hi));
        }
        a += 4 * MR;
        b += 32;
    }
    const size_t elem = ep.mode == Q8Output::requant_s8 ? 1 : 4;
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        // hadd within 128-bit lanes gives columns (0 1 4 5 | 2 3 6 7); restore the order.
        const __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc_lo[r], acc_hi[r]), 0xd8);
        if (cols == 8 && ep.mode == Q8Output::requant_s8) {
            q8_requant_row8_avx2(sums, ep, static_cast<int8_t*>(c) + r * ldc);
            continue;
        }
        alignas(32) int32_t row[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(row), sums);
        gemm::q8_store_row(row, cols, ep, static_cast<uint8_t*>(c) + r * ldc * elem);
    }
}

}  // namespace tern
