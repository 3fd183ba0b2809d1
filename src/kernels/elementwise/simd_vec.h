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
    static T load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static void store_f16(uint16_t* p, T v) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
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
    // (Σa, Σb, Σc, Σd): halves added, then VecAvx2's hadd tree.
    static __m128 reduce_add4(T a, T b, T c, T d) {
        const auto half = [](T v) { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)); };
        const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
        return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    }

    // Lane masks (compare results) and selects.
    using M = __mmask16;
    static M gt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
    static M ge(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
    static M is_nan(T a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
    static M not_nan(T a) { return _mm512_cmp_ps_mask(a, a, _CMP_ORD_Q); }
    static M mask_or(M a, M b) { return static_cast<M>(a | b); }
    static M mask_and(M a, M b) { return static_cast<M>(a & b); }
    static T select(M m, T a, T b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
    // Even / odd elements of the 2W-float sequence (a, b): stride-2 access.
    static T even(T a, T b) {
        return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
    }
    static T odd(T a, T b) {
        return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
    }
    // Rounds the (integral) lanes to int32 and stores the first n.
    static void store_i32_partial(int32_t* p, T v, int64_t n) { _mm512_mask_storeu_epi32(p, mask(n), _mm512_cvtps_epi32(v)); }
    static T keep_first(T v, int64_t n) { return _mm512_maskz_mov_ps(mask(n), v); }  // lanes >= n zeroed
    // Lanes [lo, hi) from p, the rest zero; only those lanes are read (masked
    // lanes never touch memory), so p may point before or past valid data.
    using LM = __mmask16;  // a load mask, computed once and reused
    static M lm_as_m(LM m) { return m; }
    static LM range_mask(int64_t lo, int64_t hi) {
        lo = lo < 0 ? 0 : lo;
        hi = hi > kWidth ? kWidth : hi;
        return hi <= lo ? LM{0} : static_cast<LM>(mask(hi) & ~mask(lo));
    }
    static T load_masked(const float* p, LM m) { return _mm512_maskz_loadu_ps(m, p); }
    static T load_range(const float* p, int64_t lo, int64_t hi) { return load_masked(p, range_mask(lo, hi)); }
};
#endif

#if defined(__AVX2__)
struct VecAvx2 {
    using T = __m256;
    static constexpr int kWidth = 8;
    static T zero() { return _mm256_setzero_ps(); }
    static T set1(float v) { return _mm256_set1_ps(v); }
    static T load(const float* p) { return _mm256_loadu_ps(p); }
    static T load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static void store_f16(uint16_t* p, T v) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
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
    // (Σa, Σb, Σc, Σd): two hadd levels leave (a b c d) per 128-bit half, one add
    // folds the halves (4 instructions for 4 sums).
    static __m128 reduce_add4(T a, T b, T c, T d) {
        const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
        return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    }
    static float reduce_max(T v) {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }

    // Lane masks (all-ones lanes) and selects.
    using M = __m256;
    static M gt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static M ge(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
    static M is_nan(T a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
    static M not_nan(T a) { return _mm256_cmp_ps(a, a, _CMP_ORD_Q); }
    static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
    static M mask_and(M a, M b) { return _mm256_and_ps(a, b); }
    static T select(M m, T a, T b) { return _mm256_blendv_ps(b, a, m); }  // m ? a : b
    // Even / odd elements of the 16-float sequence (a, b): the in-lane shuffle
    // gives (a0 a2 b0 b2 | a4 a6 b4 b6), the 64-bit permute restores the order.
    static T even(T a, T b) {
        const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    static T odd(T a, T b) {
        const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    static void store_i32_partial(int32_t* p, T v, int64_t n) { _mm256_maskstore_epi32(p, mask(n), _mm256_cvtps_epi32(v)); }
    static T keep_first(T v, int64_t n) { return _mm256_and_ps(v, _mm256_castsi256_ps(mask(n))); }  // lanes >= n zeroed
    // Lanes [lo, hi) from p, the rest zero; masked lanes never touch memory.
    using LM = __m256i;  // a load mask, computed once and reused
    static LM range_mask(int64_t lo, int64_t hi) { return _mm256_andnot_si256(mask(lo), mask(hi)); }
    static M lm_as_m(LM m) { return _mm256_castsi256_ps(m); }
    static T load_masked(const float* p, LM m) { return _mm256_maskload_ps(p, m); }
    static T load_range(const float* p, int64_t lo, int64_t hi) { return load_masked(p, range_mask(lo, hi)); }
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
