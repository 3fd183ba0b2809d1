// Causal multi-head scaled dot-product attention with grouped kv heads (GQA),
// on (B, T, H, D) activations so q/k/v come straight from a linear projection.
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/matmul_backend.h"
#include "nn/ops.h"

namespace tern::nn {

Var causal_attention(const Var& q, const Var& k, const Var& v, float scale) {
    if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || k.shape() != v.shape())
        throw Error("causal_attention", "need q (B, T, Hq, D), k and v (B, T, Hkv, D); got " +
                                            shape_to_string(q.shape()) + ", " + shape_to_string(k.shape()) + ", " +
                                            shape_to_string(v.shape()));
    const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), D = q.dim(3), Hkv = k.dim(2);
    if (k.dim(0) != B || k.dim(1) != T || k.dim(3) != D || Hkv < 1 || Hq % Hkv)
        throw Error("causal_attention", "kv shape " + shape_to_string(k.shape()) + " does not fit q " +
                                            shape_to_string(q.shape()));
    if (scale <= 0.0f) scale = 1.0f / std::sqrt(static_cast<float>(D));
    const int64_t group = Hq / Hkv;
    const int64_t qs = Hq * D, ks = Hkv * D;  // row strides of q and k/v
    Tensor att = Tensor::empty({B, Hq, T, T});  // softmax probabilities, zero above the diagonal
    Tensor y = Tensor::empty(q.shape());        // (B, T, Hq, D)
    const auto& ew = elementwise_kernel();
    float* pa = att.data<float>();
    float* py = y.data<float>();
    parallel_items(B * Hq, 4 * T * T * D, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / Hq, h = i % Hq;
            const float* qh = q.data() + b * T * qs + h * D;
            const float* kh = k.data() + b * T * ks + (h / group) * D;
            const float* vh = v.data() + b * T * ks + (h / group) * D;
            float* p = pa + i * T * T;  // (T, T)
            sgemm(false, true, T, T, D, scale, qh, qs, kh, ks, 0.0f, p, T);
            for (int64_t t = 0; t < T; ++t) {
                ew.softmax(p + t * T, t + 1, 1.0f);
                std::memset(p + t * T + t + 1, 0, sizeof(float) * (T - t - 1));
            }
            sgemm(false, false, T, D, T, 1.0f, p, T, vh, ks, 0.0f, py + b * T * qs + h * D, qs);
        }
    });
    return make_result(y, {q, k, v}, [q, k, v, att, B, T, Hq, Hkv, D, group, scale](const Tensor& gy) {
        float* gq = grad_ptr(q);
        float* gk = grad_ptr(k);
        float* gv = grad_ptr(v);
        const int64_t qs = Hq * D, ks = Hkv * D;
        const float* pa = att.data<float>();
        const float* g = gy.data<float>();
        // One task per (batch, kv head): the query heads sharing a kv head are
        // accumulated serially into its dk/dv, so no two tasks write the same rows.
        parallel_items(B * Hkv, 8 * group * T * T * D, [&](int64_t i0, int64_t i1) {
            std::vector<float> dp(T * T);  // (T, T) dL/dP, then dL/dS in place
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t b = i / Hkv, kvh = i % Hkv;
                const float* kh = k.data() + b * T * ks + kvh * D;
                const float* vh = v.data() + b * T * ks + kvh * D;
                for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
                    const float* p = pa + (b * Hq + h) * T * T;
                    const float* doh = g + b * T * qs + h * D;
                    const float* qh = q.data() + b * T * qs + h * D;
                    if (gv) sgemm(true, false, T, D, T, 1.0f, p, T, doh, qs, 1.0f, gv + b * T * ks + kvh * D, ks);
                    if (!gq && !gk) continue;
                    sgemm(false, true, T, T, D, 1.0f, doh, qs, vh, ks, 0.0f, dp.data(), T);
                    for (int64_t t = 0; t < T; ++t) {
                        float* dr = dp.data() + t * T;
                        const float* pr = p + t * T;
                        double dot = 0;
                        for (int64_t j = 0; j <= t; ++j) dot += static_cast<double>(dr[j]) * pr[j];
                        for (int64_t j = 0; j <= t; ++j) dr[j] = pr[j] * (dr[j] - static_cast<float>(dot));
                        for (int64_t j = t + 1; j < T; ++j) dr[j] = 0.0f;
                    }
                    if (gq) sgemm(false, false, T, D, T, scale, dp.data(), T, kh, ks, 1.0f, gq + b * T * qs + h * D, qs);
                    if (gk) sgemm(true, false, T, D, T, scale, dp.data(), T, qh, qs, 1.0f, gk + b * T * ks + kvh * D, ks);
                }
            }
        });
    });
}

}  // namespace tern::nn
