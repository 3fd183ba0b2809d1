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

}  // namespace

void gemm_f32_ukr_12x32_avx512(int64_t kcp, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                               const GemmF32TileEpilogue& ep) {
    constexpr int MR = 12;
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();

#pragma GCC unroll 2
    for (int64_t p = 0; p < kcp; ++p) {
        const __m512 b0 = _mm512_load_ps(b);
        const __m512 b1 = _mm512_load_ps(b + 16);
        _mm_prefetch(reinterpret_cast<const char*>(b + 32 * 8), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
        }
        a += MR;
        b += 32;
    }

    const __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
    const float* bias1 = ep.bias ? ep.bias + 16 : nullptr;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        float* crow = c + r * ldc;
        _mm512_mask_storeu_ps(crow, m0, finish(acc0[r], crow, m0, ep, ep.bias));
        if (m1) _mm512_mask_storeu_ps(crow + 16, m1, finish(acc1[r], crow + 16, m1, ep, bias1));
    }
}

}  // namespace tern
