// gemm_bf16 AVX-512 BF16 micro-kernel: a 12 x 32 fp32 tile in 24 zmm
// accumulators. Per K pair: two 64-byte B loads (16 columns x 2 K each), 12
// broadcast A pairs, 24 `vdpbf16ps` (each 32 multiply-adds).
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_common/vec_math_avx512.h"

namespace tern {
namespace {

using namespace gemm::avx512;

inline __m512 finish(__m512 acc, const float* c, __mmask16 mask, const GemmF32TileEpilogue& ep, const float* bias) {
    __m512 v = _mm512_mul_ps(acc, _mm512_set1_ps(ep.alpha));
    if (ep.beta != 0.0f) v = _mm512_fmadd_ps(_mm512_set1_ps(ep.beta), _mm512_maskz_loadu_ps(mask, c), v);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias));
    return activate_ps(v, ep.act);
}

inline int32_t load_pair(const uint16_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// MR rows x 32 columns; the MR loops unroll fully so the 2*MR accumulators stay
// in registers. S > 1 (the 1-row GEMV tile) interleaves S K pairs into S
// accumulator sets, summed at the end: one row alone is a single dependency
// chain per vector, latency- rather than load-bound.
template <int MR, int S = 1>
void ukr(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows, int cols,
         const GemmF32TileEpilogue& ep) {
    __m512 acc0[S][MR], acc1[S][MR];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) acc0[s][r] = acc1[s][r] = _mm512_setzero_ps();
    prefetch_c_tile<MR, 2>(c, rows, ldc);

    auto step = [&](int s) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + 64 * s);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + 64 * s + 32);
        _mm_prefetch(reinterpret_cast<const char*>(b + 64 * s + 64 * 32), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(load_pair(a + 2 * (s * MR + r)));
            acc0[s][r] = _mm512_dpbf16_ps(acc0[s][r], av, b0);
            acc1[s][r] = _mm512_dpbf16_ps(acc1[s][r], av, b1);
        }
    };
    interleaved_k_loop<S, 2>(kcp, step, [&](int n) {
        a += 2 * MR * n;
        b += 64 * n;
    });
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s)
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            acc0[0][r] = _mm512_add_ps(acc0[0][r], acc0[s][r]);
            acc1[0][r] = _mm512_add_ps(acc1[0][r], acc1[s][r]);
        }

    const __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
    const float* bias1 = ep.bias ? ep.bias + 16 : nullptr;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        float* crow = c + r * ldc;
        _mm512_mask_storeu_ps(crow, m0, finish(acc0[0][r], crow, m0, ep, ep.bias));
        if (m1) _mm512_mask_storeu_ps(crow + 16, m1, finish(acc1[0][r], crow + 16, m1, ep, bias1));
    }
}

}  // namespace

void gemm_bf16_ukr_12x32_avx512bf16(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                                    int cols, const GemmF32TileEpilogue& ep) {
    ukr<12>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_bf16_ukr_8x32_avx512bf16(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                                   int cols, const GemmF32TileEpilogue& ep) {
    ukr<8>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_bf16_ukr_4x32_avx512bf16(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                                   int cols, const GemmF32TileEpilogue& ep) {
    ukr<4>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_bf16_ukr_1x32_avx512bf16(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                                   int cols, const GemmF32TileEpilogue& ep) {
    ukr<1, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

}  // namespace tern
