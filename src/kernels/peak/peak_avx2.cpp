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

}  // namespace

const PeakKernels kPeakAvx2 = {"peak_avx2", Isa::avx2, fma_f32_avx2, nullptr, nullptr};

}  // namespace tern
