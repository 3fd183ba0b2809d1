#include <immintrin.h>

#include "kernels/peak/peak.h"

namespace tern {
namespace {

double fma_f32_avx2(int64_t iterations, float* sink) {
    // 10 independent accumulators cover FMA latency x throughput (4 x 2).
    __m256 a[10];
    for (int j = 0; j < 10; ++j) a[j] = _mm256_set1_ps(static_cast<float>(j));
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i)
        for (int j = 0; j < 10; ++j) a[j] = _mm256_fmadd_ps(a[j], m, c);
    __m256 s = a[0];
    for (int j = 1; j < 10; ++j) s = _mm256_add_ps(s, a[j]);
    *sink = _mm256_cvtss_f32(s);
    return 2.0 * 8 * 10 * static_cast<double>(iterations);
}

// Without VNNI the fastest u8 x s8 sequence is vpmaddubsw (32 products summed in
// pairs into i16) plus an i16 add: the ceiling of every AVX2 int8 kernel, which
// also has to widen its sums to i32 now and then. The i16 accumulators wrap
// here; only the instruction rate matters. 10 chains cover latency x
// throughput (3-5 x 2).
double dot_u8s8_avx2(int64_t iterations, int32_t* sink) {
    __m256i a[10];
    for (int j = 0; j < 10; ++j) a[j] = _mm256_setzero_si256();
    const __m256i x = _mm256_set1_epi8(1), y = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < iterations; ++i)
        for (int j = 0; j < 10; ++j) a[j] = _mm256_add_epi16(a[j], _mm256_maddubs_epi16(x, y));
    __m256i s = a[0];
    for (int j = 1; j < 10; ++j) s = _mm256_add_epi16(s, a[j]);
    *sink = _mm256_extract_epi16(s, 0);
    return 2.0 * 32 * 10 * static_cast<double>(iterations);  // 32 u8*s8 products per vpmaddubsw
}

}  // namespace

const PeakKernels kPeakAvx2 = {
    .name = "peak_avx2",
    .isa = Isa::avx2,
    .fma_f32 = fma_f32_avx2,
    .dot_bf16 = nullptr,
    .dot_u8s8 = dot_u8s8_avx2,
};

}  // namespace tern
