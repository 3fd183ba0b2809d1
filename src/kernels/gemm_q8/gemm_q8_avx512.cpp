// gemm_q8 AVX-512 VNNI micro-kernel: a 12 x 32 s32 tile in 24 zmm accumulators.
// Per K quad: two 64-byte weight loads (16 columns x 4 K each), 12 broadcast
// 4-byte A groups, 24 `vpdpbusd` (u8 x s8, 64 multiply-adds each, no
// saturation). The epilogue vectorises gemm_q8.h's definition op for op so the
// results are bit-identical to the reference.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_common/vec_math_avx512.h"
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {
namespace {

using gemm::avx512::interleaved_k_loop;
using gemm::avx512::lane_mask;
using gemm::avx512::prefetch_c_tile;

// Finishes 16 columns of one row starting at column offset j0 of the tile.
inline void store16(__m512i acc, const GemmQ8TileEpilogue& ep, int j0, __mmask16 mask, void* c_row) {
    __m512i corr = _mm512_sub_epi32(
        acc, _mm512_mullo_epi32(_mm512_set1_epi32(ep.a_zero_point), _mm512_maskz_loadu_epi32(mask, ep.col_sums + j0)));
    if (ep.bias_s32) corr = _mm512_add_epi32(corr, _mm512_maskz_loadu_epi32(mask, ep.bias_s32 + j0));
    if (ep.mode == Q8Output::s32) {
        _mm512_mask_storeu_epi32(static_cast<int32_t*>(c_row) + j0, mask, corr);
        return;
    }
    const __m512 ab = _mm512_mul_ps(_mm512_set1_ps(ep.a_scale), _mm512_maskz_loadu_ps(mask, ep.b_scale + j0));
    if (ep.mode == Q8Output::dequant_f32) {
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(corr), ab);
        if (ep.bias_f32) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, ep.bias_f32 + j0));
        _mm512_mask_storeu_ps(static_cast<float*>(c_row) + j0, mask, v);
        return;
    }
    const __m512 scale = _mm512_div_ps(ab, _mm512_set1_ps(ep.out_scale));
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(corr), scale);
    v = _mm512_max_ps(v, _mm512_set1_ps(static_cast<float>(ep.qmin - ep.out_zero_point)));
    v = _mm512_min_ps(v, _mm512_set1_ps(static_cast<float>(ep.qmax - ep.out_zero_point)));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(ep.out_zero_point));
    _mm512_mask_cvtepi32_storeu_epi8(static_cast<int8_t*>(c_row) + j0, mask, q);
}

inline int32_t load_quad(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// MR rows x 32 columns; the MR loops unroll fully so the 2*MR accumulators stay
// in registers. S > 1 (the 1-row GEMV tile) interleaves S K quads into S
// accumulator sets, summed at the end: one row alone is a single dependency
// chain per vector, latency- rather than load-bound.
template <int MR, int S = 1>
void ukr(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows, int cols,
         const GemmQ8TileEpilogue& ep) {
    __m512i acc0[S][MR], acc1[S][MR];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) acc0[s][r] = acc1[s][r] = _mm512_setzero_si512();
    const size_t elem = ep.mode == Q8Output::requant_s8 ? 1 : 4;
    prefetch_c_tile<MR, 2>(static_cast<const char*>(c), rows, ldc * elem, 64 * elem / 4);

    auto step = [&](int s) {
        const __m512i b0 = _mm512_load_si512(b + 128 * s);
        const __m512i b1 = _mm512_load_si512(b + 128 * s + 64);
        _mm_prefetch(reinterpret_cast<const char*>(b + 128 * s + 128 * 32), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            const __m512i av = _mm512_set1_epi32(load_quad(a + 4 * (s * MR + r)));
            acc0[s][r] = _mm512_dpbusd_epi32(acc0[s][r], av, b0);
            acc1[s][r] = _mm512_dpbusd_epi32(acc1[s][r], av, b1);
        }
    };
    interleaved_k_loop<S, 4>(kcp, step, [&](int n) {
        a += 4 * MR * n;
        b += 128 * n;
    });
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s)
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            acc0[0][r] = _mm512_add_epi32(acc0[0][r], acc0[s][r]);
            acc1[0][r] = _mm512_add_epi32(acc1[0][r], acc1[s][r]);
        }

    const __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
        if (r >= rows) break;
        void* crow = static_cast<uint8_t*>(c) + r * ldc * elem;
        store16(acc0[0][r], ep, 0, m0, crow);
        if (m1) store16(acc1[0][r], ep, 16, m1, crow);
    }
}

}  // namespace

void gemm_q8_ukr_12x32_avx512vnni(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows,
                                  int cols, const GemmQ8TileEpilogue& ep) {
    ukr<12>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_q8_ukr_8x32_avx512vnni(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows,
                                 int cols, const GemmQ8TileEpilogue& ep) {
    ukr<8>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_q8_ukr_4x32_avx512vnni(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows,
                                 int cols, const GemmQ8TileEpilogue& ep) {
    ukr<4>(kcp, a, b, c, ldc, rows, cols, ep);
}

void gemm_q8_ukr_1x32_avx512vnni(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows,
                                 int cols, const GemmQ8TileEpilogue& ep) {
    ukr<1, 4>(kcp, a, b, c, ldc, rows, cols, ep);
}

}  // namespace tern
