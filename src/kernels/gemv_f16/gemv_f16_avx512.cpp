// gemv_f16 AVX-512: panels of 32 rows of W, i.e. one 64-byte line of f16 per k
// step, widened by two vcvtph2ps into two zmm and FMA'd against MR broadcast x
// values. U consecutive k steps go to separate accumulators so MR*2*U >= 8
// independent FMA chains hide the FMA latency; the sum over U is taken once per
// panel. Decode is then limited by DRAM, not by the core.
#include <immintrin.h>

#include "kernels/gemm_common/vec_math_avx512.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern {
namespace {

using gemm::avx512::activate_ps;
using gemm::avx512::lane_mask;

constexpr int NR = 32, NV = 2;

template <int MR, int U>
void gemv_panels(const GemvF16Params& p, int64_t panel0, int64_t panel1) {
    for (int64_t pi = panel0; pi < panel1; ++pi) {
        const uint16_t* wp = p.w + pi * p.k * NR;  // (k, NR) f16
        __m512 acc[U][MR][NV];
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
            for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm512_setzero_ps();

        const auto step = [&](int u, int64_t kk) __attribute__((always_inline)) {
            const uint16_t* line = wp + kk * NR;
            // One line per k step, 4 KiB ahead: the thread's panels are one sequential
            // stream, and without this the hardware prefetcher alone falls short of
            // the DRAM bandwidth (as in quant_matmul's GEMV).
            _mm_prefetch(reinterpret_cast<const char*>(line) + 4096, _MM_HINT_T0);
            __m512 wv[NV];
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v)
                wv[v] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 16 * v)));
#pragma GCC unroll 4
            for (int r = 0; r < MR; ++r) {
                const __m512 xb = _mm512_set1_ps(p.x[r * p.ldx + kk]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) acc[u][r][v] = _mm512_fmadd_ps(xb, wv[v], acc[u][r][v]);
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
        for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                const __mmask16 mask = lane_mask(cols - 16 * v);
                if (!mask) break;
                __m512 s = acc[0][r][v];
#pragma GCC unroll 4
                for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][r][v]);
                if (p.bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask, p.bias + j0 + 16 * v));
                _mm512_mask_storeu_ps(p.y + r * p.ldy + j0 + 16 * v, mask, activate_ps(s, p.act));
            }
    }
}

}  // namespace

void gemv_f16_32col_avx512(const GemvF16Params& p, int64_t panel0, int64_t panel1) {
    switch (p.m) {
        case 1: return gemv_panels<1, 4>(p, panel0, panel1);
        case 2: return gemv_panels<2, 2>(p, panel0, panel1);
        case 3: return gemv_panels<3, 2>(p, panel0, panel1);
        default: return gemv_panels<4, 2>(p, panel0, panel1);
    }
}

void f16_to_f32_avx512(const uint16_t* src, int64_t count, float* dst) {
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
        _mm512_storeu_ps(dst + i + 16,
                         _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 16))));
    }
    for (; i < count; ++i) dst[i] = _cvtsh_ss(src[i]);
}

// vcvtneps2bf16 rounds to nearest even (NaN quiet, as fp32_to_bf16; f16 values
// are never f32 denormals, which it would flush); the two k rows of a pair are
// widened to 32-bit words and merged, row k in the low half.
void f16_to_bf16_pairs_32col_avx512(const uint16_t* src, int64_t kc, uint16_t* dst) {
    const auto bf16_words = [](const uint16_t* p) {
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
        return _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h));
    };
    for (int64_t kk = 0; kk < kc; kk += 2) {
        const uint16_t* lo = src + kk * NR;
#pragma GCC unroll 2
        for (int v = 0; v < 2; ++v) {
            const __m512i a = bf16_words(lo + 16 * v);
            const __m512i b = kk + 1 < kc ? bf16_words(lo + NR + 16 * v) : _mm512_setzero_si512();
            _mm512_storeu_si512(dst + (kk / 2) * NR * 2 + 32 * v, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
        }
    }
}

}  // namespace tern
