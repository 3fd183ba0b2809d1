// gemv_f16 AVX2 + F16C: panels of 16 rows of W (32 bytes of f16 per k step),
// widened by two vcvtph2ps into two ymm and FMA'd against MR broadcast x
// values. With 16 ymm registers the k unroll U shrinks as MR grows so the
// MR*2*U accumulators, two weight vectors and a broadcast still fit.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_common/vec_math_avx2.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern {
namespace {

using gemm::avx2::activate_ps;

constexpr int NR = 16, NV = 2;

template <int MR, int U>
void gemv_panels(const GemvF16Params& p, int64_t panel0, int64_t panel1) {
    for (int64_t pi = panel0; pi < panel1; ++pi) {
        const uint16_t* wp = p.w + pi * p.k * NR;  // (k, NR) f16
        __m256 acc[U][MR][NV];
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
            for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm256_setzero_ps();

        const auto step = [&](int u, int64_t kk) __attribute__((always_inline)) {
            const uint16_t* line = wp + kk * NR;
            // 4 KiB ahead of the sequential panel stream (see gemv_f16_avx512.cpp); a
            // 32-byte step prefetches each 64-byte line twice, which costs little.
            _mm_prefetch(reinterpret_cast<const char*>(line) + 4096, _MM_HINT_T0);
            __m256 wv[NV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v)
                wv[v] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(line + 8 * v)));
#pragma GCC unroll 4
            for (int r = 0; r < MR; ++r) {
                const __m256 xb = _mm256_broadcast_ss(p.x + r * p.ldx + kk);
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm256_fmadd_ps(xb, wv[v], acc[u][r][v]);
            }
        };
        int64_t kk = 0;
        for (; kk + U <= p.k; kk += U)
#pragma GCC unroll 4
            for (int u = 0; u < U; ++u) step(u, kk + u);
        for (; kk < p.k; ++kk) step(0, kk);

        const int64_t j0 = pi * NR;
        const int cols = static_cast<int>(p.n - j0 < NR ? p.n - j0 : NR);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
            alignas(32) float out[NR];
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                __m256 s = acc[0][r][v];
#pragma GCC unroll 4
                for (int u = 1; u < U; ++u) s = _mm256_add_ps(s, acc[u][r][v]);
                if (p.bias) {
                    alignas(32) float b[8] = {};
                    const int live = cols - 8 * v;
                    if (live >= 8)
                        std::memcpy(b, p.bias + j0 + 8 * v, sizeof b);
                    else if (live > 0)
                        std::memcpy(b, p.bias + j0 + 8 * v, sizeof(float) * static_cast<size_t>(live));
                    s = _mm256_add_ps(s, _mm256_load_ps(b));
                }
                _mm256_store_ps(out + 8 * v, activate_ps(s, p.act));
            }
            // Whole panel in one store; the last panel writes only its live columns.
            std::memcpy(p.y + r * p.ldy + j0, out, sizeof(float) * static_cast<size_t>(cols));
        }
    }
}

}  // namespace

void gemv_f16_16col_avx2(const GemvF16Params& p, int64_t panel0, int64_t panel1) {
    switch (p.m) {
        case 1: return gemv_panels<1, 4>(p, panel0, panel1);
        case 2: return gemv_panels<2, 2>(p, panel0, panel1);
        case 3: return gemv_panels<3, 1>(p, panel0, panel1);
        default: return gemv_panels<4, 1>(p, panel0, panel1);
    }
}

void f16_to_f32_avx2(const uint16_t* src, int64_t count, float* dst) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8))));
    }
    for (; i < count; ++i) dst[i] = _cvtsh_ss(src[i]);
}

// AVX2 has no bf16 conversion: round f32 bits to nearest even in integer code,
// NaN kept quiet (fp32_to_bf16's rule), two k rows into one 32-bit pair word.
namespace {
inline __m256i to_bf16_bits(__m256 v) {
    const __m256i x = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    const __m256i is_nan =
        _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet_nan, is_nan);
}
}  // namespace

void f16_to_bf16_pairs_16col_avx2(const uint16_t* src, int64_t kc, uint16_t* dst) {
    for (int64_t kk = 0; kk < kc; kk += 2) {
        const uint16_t* lo = src + kk * NR;
        for (int v = 0; v < 2; ++v) {
            const __m256i a = to_bf16_bits(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + 8 * v))));
            const __m256i b = kk + 1 < kc ? to_bf16_bits(_mm256_cvtph_ps(
                                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + NR + 8 * v))))
                                          : _mm256_setzero_si256();
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (kk / 2) * NR * 2 + 16 * v),
                                _mm256_or_si256(a, _mm256_slli_epi32(b, 16)));
        }
    }
}

}  // namespace tern
