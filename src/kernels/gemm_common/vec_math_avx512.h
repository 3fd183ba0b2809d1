#pragma once
// AVX-512 exp and the fused activations. Include only from *_avx512.cpp files
// (they are the only ones compiled with AVX-512 enabled).
#include <immintrin.h>

#include <cstdint>

// GCC 12's AVX-512 intrinsics seed results with _mm512_undefined_ps() and then
// warn about it wherever they inline (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/gemm_common/activation.h"

namespace tern::gemm::avx512 {

// e^x, relative error ~2 ulp on [-87, 88]; saturates to 0 / +inf outside.
inline __m512 exp_ps(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n ln2 in two steps (Cody-Waite) so r keeps full precision.
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);  // p * 2^n, handles under/overflow
}

inline __m512 activate_ps(__m512 x, Activation act) {
    switch (act) {
        case Activation::none: return x;
        case Activation::relu: return _mm512_max_ps(x, _mm512_setzero_ps());
        case Activation::gelu_tanh: {
            const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
            const __m512 u = _mm512_mul_ps(_mm512_set1_ps(kGeluC0), _mm512_fmadd_ps(_mm512_set1_ps(kGeluC1), x3, x));
            const __m512 e = exp_ps(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)));
            return _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
        }
        case Activation::silu: {
            const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x));
            return _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
        }
    }
    return x;
}

// The K loop of a micro-kernel whose accumulators come in S interleaved sets (S > 1
// for the 1-row GEMV tile, otherwise one dependency chain per vector): step(s) runs
// one K step into set s, s steps past the current panel positions; advance(n)
// moves the panel pointers n steps on. kcp counts K elements, KG per step; a
// remainder of fewer than S steps goes to set 0.
template <int S, int KG, class Step, class Advance>
inline __attribute__((always_inline)) void interleaved_k_loop(int64_t kcp, Step&& step, Advance&& advance) {
    int64_t p = 0;
#pragma GCC unroll 2
    for (; p + KG * S <= kcp; p += KG * S) {
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) step(s);
        advance(S);
    }
    for (; p < kcp; p += KG) {
        step(0);
        advance(1);
    }
}

// Lane mask for the first `cols` (0..16) lanes.
inline __mmask16 lane_mask(int cols) {
    return cols >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (cols > 0 ? cols : 0)) - 1u);
}

// Prefetches a micro-kernel's C tile (MR rows of NV vectors, `row_stride` and
// `vec_stride` in elements) into L2 before the K loop. C is read (beta) and
// written once per K block and by then has usually left L2, so without this the
// epilogue stalls on 2*MR misses; L1 would be too near (the K loop's A and B
// panels evict it).
template <int MR, int NV, class T>
inline void prefetch_c_tile(const T* c, int rows, int64_t row_stride, int64_t vec_stride = 16) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;  // rows past M do not exist: no pointer past the end of C
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
            _mm_prefetch(reinterpret_cast<const char*>(c + r * row_stride + v * vec_stride), _MM_HINT_T1);
    }
}

}  // namespace tern::gemm::avx512
