// gemm_f32 AVX-512 micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators.
// Per K step: two 16-float loads of B and 12 broadcasts of A (folded into the
// FMAs as {1to16} memory operands), 24 FMAs -- enough independent chains to
// hide the 4-cycle FMA latency at one 512-bit FMA per cycle (Zen 4).
#include <immintrin.h>

#include "kernels/gemm_common/vec_math_avx512.h"
#include "kernels/gemm_f32/gemm_f32.h"

namespace tern {
namespace {

using namespace gemm::avx512;

inline __m512 finish(__m512 acc, const float* c, __mmask16 mask, const GemmF32TileEpilogue& ep, const float* bias) {
    __m512 v = _mm512_mul_ps(acc, _mm512_set1_ps(ep.alpha));
    if (ep.beta != 0.0f) v = _mm512_fmadd_ps(_mm512_set1_ps(ep.beta), _mm512_maskz_loadu_ps(mask, c), v);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias));
    return activate_ps(v, ep.act);
}

// MR rows x NV 16-float vectors of columns; all loops over MR/NV unroll fully
// so the MR*NV accumulators live in registers. S > 1 (the 1-row GEMV tile)
// interleaves S K steps into S accumulator sets, summed at the end: one row
// alone is a single FMA chain per vector, latency- rather than load-bound.
template <int MR, int NV, int S = 1>
void ukr(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
         const GemmF32TileEpilogue& ep) {
    __m512 acc[S][MR][NV];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[s][r][v] = _mm512_setzero_ps();
    prefetch_c_tile<MR, NV>(c, rows, ldc);

    auto step = [&](int s) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * (NV * s + v));
        _mm_prefetch(reinterpret_cast<const char*>(b + 16 * NV * (s + 32)), _MM_HINT_T0);
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
            const __m512 av = _mm512_set1_ps(a[s * MR + r]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[s][r][v] = _mm512_fmadd_ps(av, bv[v], acc[s][r][v]);
        }
    };
    interleaved_k_loop<S, 1>(kcp, step, [&](int n) {
        a += MR * n;
        b += 16 * NV * n;
    });
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s)
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[0][r][v] = _mm512_add_ps(acc[0][r][v], acc[s][r][v]);

    __mmask16 mask[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) mask[v] = lane_mask(cols - 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        float* crow = c + r * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            if (!mask[v]) break;
            _mm512_mask_storeu_ps(crow + 16 * v, mask[v],
                                  finish(acc[0][r][v], crow + 16 * v, mask[v], ep, ep.bias ? ep.bias + 16 * v : nullptr));
        }
    }
}

}  // namespace

void gemm_f32_ukr_12x32_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                               const GemmF32TileEpilogue& ep) {
    ukr<12, 2>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_8x32_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                              const GemmF32TileEpilogue& ep) {
    ukr<8, 2>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_4x32_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                              const GemmF32TileEpilogue& ep) {
    ukr<4, 2>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_6x64_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                              const GemmF32TileEpilogue& ep) {
    ukr<6, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_f32_ukr_1x32_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                              const GemmF32TileEpilogue& ep) {
    ukr<1, 2, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

}  // namespace tern
