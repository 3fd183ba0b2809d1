// Normalisation over the last dim: layer norm, RMS norm (batch norm: ops_batch_norm.cpp).
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"

namespace tern::nn {

Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps) {
    const int64_t C = x.dim(-1), rows = x.numel() / C;
    if (weight.numel() != C || (bias.defined() && bias.numel() != C))
        throw Error("layer_norm", "weight/bias size differs from the last dim " + std::to_string(C));
    Tensor y = Tensor::empty(x.shape());
    const auto& ew = elementwise_kernel();
    const float* px = x.data();
    float* py = y.data<float>();
    const float* pb = bias.defined() ? bias.data() : nullptr;
    parallel_items(rows, 8 * C, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) ew.layernorm(px + r * C, weight.data(), pb, py + r * C, C, eps);
    });
    std::vector<Var> parents{x, weight};
    if (bias.defined()) parents.push_back(bias);
    return make_result(y, parents, [x, weight, bias, rows, C, eps](const Tensor& gy) {
        float* gx = grad_ptr(x);
        float* gw = grad_ptr(weight);
        float* gb = grad_ptr(bias);
        const float* d = gy.data<float>();
        const float* px = x.data();
        const float* w = weight.data();
        // Row statistics recomputed here rather than stored by the forward kernel.
        std::vector<float> mean(rows), rstd(rows);
        parallel_items(rows, 8 * C, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* xr = px + r * C;
                double s = 0, ss = 0;
                for (int64_t c = 0; c < C; ++c) s += xr[c];
                const double m = s / C;
                for (int64_t c = 0; c < C; ++c) ss += (xr[c] - m) * (xr[c] - m);
                mean[r] = static_cast<float>(m);
                rstd[r] = static_cast<float>(1.0 / std::sqrt(ss / C + eps));
                if (!gx) continue;
                double a = 0, b = 0;  // mean(dxhat), mean(dxhat * xhat)
                for (int64_t c = 0; c < C; ++c) {
                    const float dxh = d[r * C + c] * w[c];
                    a += dxh;
                    b += dxh * (xr[c] - mean[r]) * rstd[r];
                }
                const float ma = static_cast<float>(a / C), mb = static_cast<float>(b / C);
                for (int64_t c = 0; c < C; ++c) {
                    const float xhat = (xr[c] - mean[r]) * rstd[r];
                    gx[r * C + c] += rstd[r] * (d[r * C + c] * w[c] - ma - xhat * mb);
                }
            }
        });
        // Parameter gradients reduce over rows: split by column for a fixed order.
        parallel_items(C, 4 * rows, [&](int64_t c0, int64_t c1) {
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = c0; c < c1; ++c) {
                    const float dv = d[r * C + c];
                    if (gw) gw[c] += dv * (px[r * C + c] - mean[r]) * rstd[r];
                    if (gb) gb[c] += dv;
                }
        });
    });
}

Var rms_norm(const Var& x, const Var& weight, float eps) {
    const int64_t C = x.dim(-1), rows = x.numel() / C;
    if (weight.numel() != C) throw Error("rms_norm", "weight size differs from the last dim " + std::to_string(C));
    Tensor y = Tensor::empty(x.shape());
    const auto& ew = elementwise_kernel();
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(rows, 8 * C, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) ew.rmsnorm(px + r * C, weight.data(), py + r * C, C, eps);
    });
    return make_result(y, {x, weight}, [x, weight, rows, C, eps](const Tensor& gy) {
        float* gx = grad_ptr(x);
        float* gw = grad_ptr(weight);
        const float* d = gy.data<float>();
        const float* px = x.data();
        const float* w = weight.data();
        std::vector<float> rstd(rows);
        parallel_items(rows, 8 * C, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* xr = px + r * C;
                double ss = 0;
                for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
                const double rs = 1.0 / std::sqrt(ss / C + eps);
                rstd[r] = static_cast<float>(rs);
                if (!gx) continue;
                double dot = 0;  // sum(dy * w * x)
                for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(d[r * C + c]) * w[c] * xr[c];
                const float k = static_cast<float>(rs * rs * rs * dot / C);
                for (int64_t c = 0; c < C; ++c) gx[r * C + c] += rstd[r] * d[r * C + c] * w[c] - xr[c] * k;
            }
        });
        if (gw)
            parallel_items(C, 4 * rows, [&](int64_t c0, int64_t c1) {
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t c = c0; c < c1; ++c) gw[c] += d[r * C + c] * px[r * C + c] * rstd[r];
            });
    });
}

}  // namespace tern::nn
