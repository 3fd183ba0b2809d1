#pragma once
// AVX2 exp and the fused activations. Include only from *_avx2.cpp files.
#include <immintrin.h>

#include "kernels/gemm_common/activation.h"

namespace tern::gemm::avx2 {

// A GEMV tile's S interleaved accumulator sets (MR rows x 2 vectors each) folded
// into set 0.
template <int S, int MR>
inline void fold_accumulator_sets(__m256 (&acc0)[S][MR], __m256 (&acc1)[S][MR]) {
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s)
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            acc0[0][r] = _mm256_add_ps(acc0[0][r], acc0[s][r]);
            acc1[0][r] = _mm256_add_ps(acc1[0][r], acc1[s][r]);
        }
}

// e^x, relative error ~2 ulp on [-87, 88]; flushes to 0 below, +inf above.
inline __m256 exp_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.7f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n split in two factors so n = 128 (x near 88.7) does not overflow the exponent field.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    const __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_andnot_ps(under, y);
}

inline __m256 activate_ps(__m256 x, Activation act) {
    switch (act) {
        case Activation::none: return x;
        case Activation::relu: return _mm256_max_ps(x, _mm256_setzero_ps());
        case Activation::gelu_tanh: {
            const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
            const __m256 u = _mm256_mul_ps(_mm256_set1_ps(kGeluC0), _mm256_fmadd_ps(_mm256_set1_ps(kGeluC1), x3, x));
            const __m256 e = exp_ps(_mm256_mul_ps(u, _mm256_set1_ps(-2.0f)));
            return _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
        }
        case Activation::silu: {
            const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x));
            return _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
        }
    }
    return x;
}

}  // namespace tern::gemm::avx2
