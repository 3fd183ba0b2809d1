// gemv_f16 scalar code: the f64 reference (test truth, reads W in its source
// layout) and the portable GEMV / conversion behind the `scalar` dispatch level.
#include "core/half.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern {

void gemv_f16_reference(const uint16_t* w, int64_t n, int64_t k, const float* x, int64_t m, const float* bias,
                        Activation act, double* y) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; ++p)
                acc += static_cast<double>(fp16_to_fp32(w[j * k + p])) * static_cast<double>(x[i * k + p]);
            if (bias) acc += bias[j];
            y[i * n + j] = gemm::activate_ref(acc, act);
        }
}

void gemm_f16_bf16_reference(const uint16_t* w, int64_t n, int64_t k, const float* x, int64_t m, const float* bias,
                             Activation act, double* y) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; ++p) {
                const float wv = bf16_to_fp32(fp32_to_bf16(fp16_to_fp32(w[j * k + p])));
                const float xv = bf16_to_fp32(fp32_to_bf16(x[i * k + p]));
                acc += static_cast<double>(wv) * static_cast<double>(xv);
            }
            if (bias) acc += bias[j];
            y[i * n + j] = gemm::activate_ref(acc, act);
        }
}

void f16_to_bf16_pairs_8col_scalar(const uint16_t* src, int64_t kc, uint16_t* dst) {
    constexpr int NR = 8;
    for (int64_t kk = 0; kk < kc + (kc & 1); ++kk)
        for (int c = 0; c < NR; ++c)
            dst[(kk / 2) * NR * 2 + c * 2 + kk % 2] = kk < kc ? fp32_to_bf16(fp16_to_fp32(src[kk * NR + c])) : 0;
}

void f16_to_f32_scalar(const uint16_t* src, int64_t count, float* dst) {
    for (int64_t i = 0; i < count; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void gemv_f16_8col_scalar(const GemvF16Params& p, int64_t panel0, int64_t panel1) {
    constexpr int NR = 8;
    for (int64_t pi = panel0; pi < panel1; ++pi) {
        const uint16_t* wp = p.w + pi * p.k * NR;  // (k, NR)
        float acc[kGemvF16PassRows][NR] = {};
        for (int64_t kk = 0; kk < p.k; ++kk) {
            float wv[NR];
            for (int c = 0; c < NR; ++c) wv[c] = fp16_to_fp32(wp[kk * NR + c]);
            for (int r = 0; r < p.m; ++r) {
                const float xv = p.x[r * p.ldx + kk];
                for (int c = 0; c < NR; ++c) acc[r][c] += xv * wv[c];
            }
        }
        const int64_t j0 = pi * NR;
        const int cols = static_cast<int>(p.n - j0 < NR ? p.n - j0 : NR);
        for (int r = 0; r < p.m; ++r)
            for (int c = 0; c < cols; ++c) {
                const float v = p.bias ? acc[r][c] + p.bias[j0 + c] : acc[r][c];
                p.y[r * p.ldy + j0 + c] = gemm::activate(v, p.act);
            }
    }
}

}  // namespace tern
