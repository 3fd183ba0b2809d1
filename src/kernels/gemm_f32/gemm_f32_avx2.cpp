// gemm_f32 AVX2 micro-kernels: MR rows x 16 columns in 2·MR ymm accumulators.
// The main 6 x 16 tile is the largest that leaves registers for two B vectors
// and a broadcast; 4 x 16 and 1 x 16 serve short M (gemm::choose_row_tile).
// Partial tiles go through a stack tile so stores never pass the matrix edge.
// The tile's C lines are prefetched on entry: its K loop (KC = 512 steps,
// ~3000 cycles) hides their miss, which the stores at the end otherwise wait on
// (C is far outside L2 at LLM and 2048^3 shapes; bench/RESULTS_gemm.md).
#include <immintrin.h>

#include "kernels/gemm_common/vec_math_avx2.h"
#include "kernels/gemm_f32/gemm_f32.h"

namespace tern {
namespace {

inline __m256 finish(__m256 acc, const float* c, const float* bias, const GemmF32TileEpilogue& ep) {
    __m256 v = _mm256_mul_ps(acc, _mm256_set1_ps(ep.alpha));
    if (ep.beta != 0.0f) v = _mm256_fmadd_ps(_mm256_set1_ps(ep.beta), _mm256_loadu_ps(c), v);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    return gemm::avx2::activate_ps(v, ep.act);
}

// S > 1 (the 1-row GEMV tile) interleaves S K steps into S accumulator sets,
// summed at the end: one row alone is two FMA chains, bound by the FMA latency
// (4 cycles) rather than by loading B.
template <int MR, int S = 1>
void ukr(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
         const GemmF32TileEpilogue& ep) {
    constexpr int NR = 16;
    for (int r = 0; r < rows; ++r) {  // 16 floats span two lines unless C is 64-byte aligned
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + cols - 1), _MM_HINT_T0);
    }
    __m256 acc0[S][MR], acc1[S][MR];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) acc0[s][r] = acc1[s][r] = _mm256_setzero_ps();
    const auto step = [&](int s, const float* ap, const float* bp) {
        const __m256 b0 = _mm256_load_ps(bp);
        const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            const __m256 av = _mm256_broadcast_ss(ap + r);
            acc0[s][r] = _mm256_fmadd_ps(av, b0, acc0[s][r]);
            acc1[s][r] = _mm256_fmadd_ps(av, b1, acc1[s][r]);
        }
    };
    int64_t p = 0;
    for (; p + S <= kcp; p += S) {
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) step(s, a + s * MR, b + s * NR);
        a += S * MR;
        b += S * NR;
    }
    for (; p < kcp; ++p, a += MR, b += NR) step(0, a, b);
    gemm::avx2::fold_accumulator_sets(acc0, acc1);
    // Loops over r stay fully unrolled so the accumulators never need an address.
    if (cols == NR) {
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            if (r >= rows) break;
            float* crow = c + r * ldc;
            _mm256_storeu_ps(crow, finish(acc0[0][r], crow, ep.bias, ep));
            _mm256_storeu_ps(crow + 8, finish(acc1[0][r], crow + 8, ep.bias ? ep.bias + 8 : nullptr, ep));
        }
        return;
    }
    // Edge tile: copy the live part of C and bias into full-width scratch.
    alignas(32) float tile[NR] = {}, bias_tile[NR] = {};
    if (ep.bias)
        for (int j = 0; j < cols; ++j) bias_tile[j] = ep.bias[j];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        float* crow = c + r * ldc;
        for (int j = 0; j < cols; ++j) tile[j] = crow[j];
        _mm256_store_ps(tile, finish(acc0[0][r], tile, ep.bias ? bias_tile : nullptr, ep));
        _mm256_store_ps(tile + 8, finish(acc1[0][r], tile + 8, ep.bias ? bias_tile + 8 : nullptr, ep));
        for (int j = 0; j < cols; ++j) crow[j] = tile[j];
    }
}

}  // namespace

void gemm_f32_ukr_6x16_avx2(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                            const GemmF32TileEpilogue& ep) {
    ukr<6>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_4x16_avx2(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                            const GemmF32TileEpilogue& ep) {
    ukr<4>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_1x16_avx2(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                            const GemmF32TileEpilogue& ep) {
    ukr<1, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

}  // namespace tern
