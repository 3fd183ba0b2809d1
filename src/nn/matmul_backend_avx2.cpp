// AVX2+FMA register tile for nn/'s interim sgemm (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "nn/matmul_backend.h"

namespace tern::nn {

void gemm_micro_6x16_avx2(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, float alpha, int mr,
                          int nr) {
    __m256 acc[kGemmMR][2];
    for (int i = 0; i < kGemmMR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
        const __m256 b0 = _mm256_load_ps(b);
        const __m256 b1 = _mm256_load_ps(b + 8);
        for (int i = 0; i < kGemmMR; ++i) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += kGemmMR;
        b += kGemmNR;
    }
    const __m256 va = _mm256_set1_ps(alpha);
    if (mr == kGemmMR && nr == kGemmNR) {
        for (int i = 0; i < kGemmMR; ++i) {
            float* c = C + i * ldc;
            _mm256_storeu_ps(c, _mm256_fmadd_ps(va, acc[i][0], _mm256_loadu_ps(c)));
            _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_loadu_ps(c + 8)));
        }
        return;
    }
    alignas(32) float tile[kGemmMR][kGemmNR];  // edge tile: only mr x nr is written back
    for (int i = 0; i < kGemmMR; ++i) {
        _mm256_store_ps(tile[i], acc[i][0]);
        _mm256_store_ps(tile[i] + 8, acc[i][1]);
    }
    for (int i = 0; i < mr; ++i)
        for (int j = 0; j < nr; ++j) C[i * ldc + j] += alpha * tile[i][j];
}

}  // namespace tern::nn
