// gemm_bf16 scalar code: the reference (test truth) and the portable micro-kernel.
#include "core/half.h"
#include "kernels/gemm_bf16/gemm_bf16.h"

namespace tern {

void gemm_bf16_reference(const GemmBf16Args& g) {
    for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j = 0; j < g.n; ++j) {
            double acc = 0.0;
            for (int64_t p = 0; p < g.k; ++p) {
                const double av = bf16_to_fp32(g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p]);
                const double bv = bf16_to_fp32(g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j]);
                acc += av * bv;
            }
            float* c = g.c + i * g.ldc + j;
            double v = static_cast<double>(g.alpha) * acc;
            if (g.beta != 0.0f) v += static_cast<double>(g.beta) * *c;
            if (g.bias) v += g.bias[j];
            *c = static_cast<float>(gemm::activate_ref(v, g.act));
        }
    }
}

void gemm_bf16_ukr_4x8_scalar(int64_t kcp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                              int cols, const GemmF32TileEpilogue& ep) {
    constexpr int MR = 4, NR = 8;
    float acc[MR][NR] = {};
    for (int64_t p = 0; p < kcp; p += 2) {
        for (int r = 0; r < MR; ++r) {
            const float a0 = bf16_to_fp32(a[2 * r]), a1 = bf16_to_fp32(a[2 * r + 1]);
            for (int j = 0; j < NR; ++j) acc[r][j] += a0 * bf16_to_fp32(b[2 * j]) + a1 * bf16_to_fp32(b[2 * j + 1]);
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    for (int r = 0; r < rows; ++r) {
        float* crow = c + r * ldc;
        for (int j = 0; j < cols; ++j) {
            float v = ep.alpha * acc[r][j];
            if (ep.beta != 0.0f) v += ep.beta * crow[j];
            if (ep.bias) v += ep.bias[j];
            crow[j] = gemm::activate(v, ep.act);
        }
    }
}

}  // namespace tern
