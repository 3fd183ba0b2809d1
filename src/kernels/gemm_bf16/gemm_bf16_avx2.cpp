// gemm_bf16 AVX2 fallback: reads the same K-pair panels as the AVX-512 BF16
// kernel and widens them to fp32 in registers (a bf16 is the top half of an
// fp32: the low element of a pair is `x << 16`, the high one `x & 0xffff0000`),
// then uses plain FMA. A 4 x 16 tile: 8 accumulators + 4 widened B + 2 A.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_common/vec_math_avx2.h"

namespace tern {
namespace {

inline __m256 finish(__m256 acc, const float* c, const float* bias, const GemmF32TileEpilogue& ep) {
    __m256 v = _mm256_mul_ps(acc, _mm256_set1_ps(ep.alpha));
    if (ep.beta != 0.0f) v = _mm256_fmadd_ps(_mm256_set1_ps(ep.beta), _mm256_loadu_ps(c), v);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    return gemm::avx2::activate_ps(v, ep.act);
}

inline __m256 low_half(__m256i pairs) { return _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)); }
inline __m256 high_half(__m256i pairs) {
    return _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}


// MR rows; S > 1 (the 1-row GEMV tile, M = 1: decode of bf16 checkpoints)
// interleaves S K pairs into S accumulator sets, summed at the end, so one row
// is not bound by the FMA latency of its two chains.
template <int MR, int S = 1>
void ukr(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows, int cols,
         const GemmF32TileEpilogue& ep) {
    constexpr int NR = 16;
    for (int r = 0; r < rows; ++r) {  // C's lines arrive during the K loop (see gemm_f32_avx2.cpp)
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + cols - 1), _MM_HINT_T0);
    }
    __m256 acc0[S][MR], acc1[S][MR];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) acc0[s][r] = acc1[s][r] = _mm256_setzero_ps();
    const auto step = [&](int s, const uint16_t* ap, const uint16_t* bp) {  // one K pair
        const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bp));
        const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bp + 16));
        const __m256 b0l = low_half(b0), b0h = high_half(b0), b1l = low_half(b1), b1h = high_half(b1);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
            int32_t pair;
            std::memcpy(&pair, ap + 2 * r, 4);
            const __m256i apair = _mm256_set1_epi32(pair);
            const __m256 al = low_half(apair), ah = high_half(apair);
            acc0[s][r] = _mm256_fmadd_ps(al, b0l, acc0[s][r]);
            acc1[s][r] = _mm256_fmadd_ps(al, b1l, acc1[s][r]);
            acc0[s][r] = _mm256_fmadd_ps(ah, b0h, acc0[s][r]);
            acc1[s][r] = _mm256_fmadd_ps(ah, b1h, acc1[s][r]);
        }
    };
    int64_t p = 0;
    for (; p + 2 * S <= kcp; p += 2 * S) {
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) step(s, a + 2 * MR * s, b + 2 * NR * s);
        a += 2 * MR * S;
        b += 2 * NR * S;
    }
    for (; p < kcp; p += 2, a += 2 * MR, b += 2 * NR) step(0, a, b);
    gemm::avx2::fold_accumulator_sets(acc0, acc1);
    alignas(32) float tile[NR] = {}, bias_tile[NR] = {};
    if (ep.bias)
        for (int j = 0; j < cols; ++j) bias_tile[j] = ep.bias[j];
    const float* bias = ep.bias ? bias_tile : nullptr;
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        float* crow = c + r * ldc;
        if (cols == NR) {
            _mm256_storeu_ps(crow, finish(acc0[0][r], crow, bias, ep));
            _mm256_storeu_ps(crow + 8, finish(acc1[0][r], crow + 8, bias ? bias + 8 : nullptr, ep));
            continue;
        }
        // Edge tile: go through full-width scratch so nothing past N is touched.
        for (int j = 0; j < cols; ++j) tile[j] = crow[j];
        _mm256_store_ps(tile, finish(acc0[0][r], tile, bias, ep));
        _mm256_store_ps(tile + 8, finish(acc1[0][r], tile + 8, bias ? bias + 8 : nullptr, ep));
        for (int j = 0; j < cols; ++j) crow[j] = tile[j];
    }
}

}  // namespace

void gemm_bf16_ukr_4x16_avx2(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                             int cols, const GemmF32TileEpilogue& ep) {
    ukr<4>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_bf16_ukr_1x16_avx2(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                             int cols, const GemmF32TileEpilogue& ep) {
    ukr<1, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

}  // namespace tern
