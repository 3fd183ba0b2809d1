#pragma once
// Thin wrappers over AVX2 (8 lanes) and AVX-512 (16 lanes) fp32 vectors so the
// elementwise kernels are written once (elementwise_simd.inc) and compiled per
// ISA. Include only from files compiled with the matching flags.
#include <immintrin.h>

#include <cstdint>

namespace tern::simd {
// Internal linkage: each ISA file gets its own copy, so the linker can never
// hand an AVX-512 build of an inline function to the AVX2 path (ODR hazard).
namespace {

#if defined(__AVX512F__)
struct VecAvx512 {
    using T = __m512;
    static constexpr int kWidth = 16;
    static T zero() { return _mm512_setzero_ps(); }
    static T set1(float v) { return _mm512_set1_ps(v); }
    static T load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
    static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
    // Lanes past n read as `fill` and are never touched in memory.
    static T load_partial(const float* p, int64_t n, float fill = 0.0f) {
        return _mm512_mask_loadu_ps(set1(fill), mask(n), p);
    }
    static void store_partial(float* p, T v, int64_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
    static T add(T a, T b) { return _mm512_add_ps(a, b); }
    static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
    static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
    static T div(T a, T b) { return _mm512_div_ps(a, b); }
    static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
    static T max(T a, T b) { return _mm512_max_ps(a, b); }
    static T min(T a, T b) { return _mm512_min_ps(a, b); }
    static T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static T pow2i(T n) {  // 2^n for integral n in [-126, 127]
        const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
        return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
    }
    static float reduce_add(T v) { return _mm512_reduce_add_ps(v); }
    static float reduce_max(T v) { return _mm512_reduce_max_ps(v); }
};
#endif

#if defined(__AVX2__)
struct VecAvx2 {
    using T = __m256;
    static constexpr int kWidth = 8;
    static T zero() { return _mm256_setzero_ps(); }
    static T set1(float v) { return _mm256_set1_ps(v); }
    static T load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
    static __m256i mask(int64_t n) {
        const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx);
    }
    static T load_partial(const float* p, int64_t n, float fill = 0.0f) {
        const __m256i m = mask(n);
        return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
    }
    static void store_partial(float* p, T v, int64_t n) { _mm256_maskstore_ps(p, mask(n), v); }
    static T add(T a, T b) { return _mm256_add_ps(a, b); }
    static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
    static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
    static T div(T a, T b) { return _mm256_div_ps(a, b); }
    static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
    static T max(T a, T b) { return _mm256_max_ps(a, b); }
    static T min(T a, T b) { return _mm256_min_ps(a, b); }
    static T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static T pow2i(T n) {
        const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
    static float reduce_add(T v) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
    static float reduce_max(T v) {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};
#endif

// exp(x) with ~2 ulp relative error on [-87, 88]: x = n·ln2 + r, |r| ≤ ln2/2,
// exp(r) by a degree-6 polynomial, 2^n built in the exponent bits. Inputs are
// clamped, so very negative x gives ~1e-38 rather than 0 (harmless for softmax
// and SiLU, whose results are then below any tolerance).
template <class V>
inline typename V::T vexp(typename V::T x) {
    using T = typename V::T;
    x = V::min(V::max(x, V::set1(-87.0f)), V::set1(88.0f));
    const T n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    T r = V::fmadd(n, V::set1(-0.693359375f), x);      // ln2 split hi/lo so r is exact
    r = V::fmadd(n, V::set1(2.12194440e-4f), r);
    T p = V::set1(1.0f / 720);
    p = V::fmadd(p, r, V::set1(1.0f / 120));
    p = V::fmadd(p, r, V::set1(1.0f / 24));
    p = V::fmadd(p, r, V::set1(1.0f / 6));
    p = V::fmadd(p, r, V::set1(0.5f));
    p = V::fmadd(p, r, V::set1(1.0f));
    p = V::fmadd(p, r, V::set1(1.0f));
    return V::mul(p, V::pow2i(n));
}

}  // namespace
}  // namespace tern::simd
