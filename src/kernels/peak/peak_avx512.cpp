#include <immintrin.h>

#include "kernels/peak/peak.h"

namespace tern {
namespace {

constexpr int kChains = 12;

double fma_f32_avx512(int64_t iterations, float* sink) {
    __m512 a[kChains];
    for (int j = 0; j < kChains; ++j) a[j] = _mm512_set1_ps(static_cast<float>(j));
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i)
        for (int j = 0; j < kChains; ++j) a[j] = _mm512_fmadd_ps(a[j], m, c);
    __m512 s = a[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, a[j]);
    *sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * kChains * static_cast<double>(iterations);
}

double dot_bf16_avx512(int64_t iterations, float* sink) {
    __m512 a[kChains];
    for (int j = 0; j < kChains; ++j) a[j] = _mm512_setzero_ps();
    const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80);  // 1.0 in bf16
    const __m512bh y = (__m512bh)_mm512_set1_epi16(0x3380);  // ~6e-8
    for (int64_t i = 0; i < iterations; ++i)
        for (int j = 0; j < kChains; ++j) a[j] = _mm512_dpbf16_ps(a[j], x, y);
    __m512 s = a[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, a[j]);
    *sink = _mm512_reduce_add_ps(s);
    return 2.0 * 32 * kChains * static_cast<double>(iterations);  // 32 bf16 products per instruction
}

double dot_u8s8_avx512(int64_t iterations, int32_t* sink) {
    __m512i a[kChains];
    for (int j = 0; j < kChains; ++j) a[j] = _mm512_setzero_si512();
    const __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(1);
    for (int64_t i = 0; i < iterations; ++i)
        for (int j = 0; j < kChains; ++j) a[j] = _mm512_dpbusd_epi32(a[j], x, y);
    __m512i s = a[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_epi32(s, a[j]);
    *sink = _mm512_reduce_add_epi32(s);
    return 2.0 * 64 * kChains * static_cast<double>(iterations);  // 64 u8*s8 products per instruction
}

}  // namespace

const PeakKernels kPeakAvx512 = {
    .name = "peak_avx512",
    .isa = Isa::avx512,
    .fma_f32 = fma_f32_avx512,
    .dot_bf16 = dot_bf16_avx512,
    .dot_u8s8 = dot_u8s8_avx512,
};

}  // namespace tern
