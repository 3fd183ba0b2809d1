// gemm_q8 scalar code: the reference (the definition of the math, reading the
// unpacked weights) and the portable micro-kernel.
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {

namespace gemm {

void q8_store_row(const int32_t* acc, int cols, const GemmQ8TileEpilogue& ep, void* c_row) {
    for (int j = 0; j < cols; ++j) {
        const int32_t corr = q8_corrected(acc[j], ep.col_sums[j], ep.bias_s32 ? ep.bias_s32[j] : 0, ep.a_zero_point);
        switch (ep.mode) {
            case Q8Output::s32: static_cast<int32_t*>(c_row)[j] = corr; break;
            case Q8Output::requant_s8:
                static_cast<int8_t*>(c_row)[j] = q8_requantize(corr, ep.a_scale, ep.b_scale[j], ep.out_scale,
                                                               ep.out_zero_point, ep.qmin, ep.qmax);
                break;
            case Q8Output::dequant_f32:
                static_cast<float*>(c_row)[j] =
                    q8_dequantize(corr, ep.a_scale, ep.b_scale[j], ep.bias_f32 ? ep.bias_f32 + j : nullptr);
                break;
        }
    }
}

}  // namespace gemm

void gemm_q8_reference(const GemmQ8Args& g, const int8_t* b, int64_t ldb, bool trans_b) {
    for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j = 0; j < g.n; ++j) {
            int64_t acc = 0;  // exact; the kernels' s32 agrees whenever K * 255 * 128 < 2^31
            int64_t col_sum = 0;
            for (int64_t p = 0; p < g.k; ++p) {
                const int32_t bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += static_cast<int32_t>(g.a[i * g.lda + p]) * bv;
                col_sum += bv;
            }
            const int32_t corr = gemm::q8_corrected(static_cast<int32_t>(acc), static_cast<int32_t>(col_sum),
                                                    g.bias_s32 ? g.bias_s32[j] : 0, g.a_zero_point);
            switch (g.output) {
                case Q8Output::s32: static_cast<int32_t*>(g.c)[i * g.ldc + j] = corr; break;
                case Q8Output::requant_s8:
                    static_cast<int8_t*>(g.c)[i * g.ldc + j] = gemm::q8_requantize(
                        corr, g.a_scale, g.b_scale[j], g.out_scale, g.out_zero_point, g.qmin, g.qmax);
                    break;
                case Q8Output::dequant_f32:
                    static_cast<float*>(g.c)[i * g.ldc + j] =
                        gemm::q8_dequantize(corr, g.a_scale, g.b_scale[j], g.bias_f32 ? g.bias_f32 + j : nullptr);
                    break;
            }
        }
    }
}

void gemm_q8_ukr_4x8_scalar(int64_t kcp, const uint8_t* a, const int8_t* b, void* c, int64_t ldc, int rows, int cols,
                            const GemmQ8TileEpilogue& ep) {
    constexpr int MR = 4, NR = 8;
    int32_t acc[MR][NR] = {};
    for (int64_t p = 0; p < kcp; p += 4) {
        for (int r = 0; r < MR; ++r)
            for (int j = 0; j < NR; ++j)
                for (int q = 0; q < 4; ++q) acc[r][j] += static_cast<int32_t>(a[4 * r + q]) * b[4 * j + q];
        a += 4 * MR;
        b += 4 * NR;
    }
    const size_t elem = ep.mode == Q8Output::requant_s8 ? 1 : 4;
    for (int r = 0; r < rows; ++r) gemm::q8_store_row(acc[r], cols, ep, static_cast<uint8_t*>(c) + r * ldc * elem);
}

}  // namespace tern
