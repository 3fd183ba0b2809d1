// Normalisation: batch norm (train/eval), layer norm, RMS norm.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {
// Rows are summed in float SIMD lanes by the kernels, at most this many values
// at a time, and the blocks in double: the error stays that of short sums.
constexpr int64_t kRowBlock = 4096;
}  // namespace

Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum, float eps) {
    if (x.rank() < 2) throw Error("batch_norm", "need (N, C, ...), got " + shape_to_string(x.shape()));
    const int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / (N * C);  // S: spatial size
    const int64_t count = N * S;
    if (gamma.defined() && gamma.numel() != C) throw Error("batch_norm", "gamma size differs from channels");
    if (beta.defined() && beta.numel() != C) throw Error("batch_norm", "beta size differs from channels");
    if (!training && (!running_mean.defined() || !running_var.defined()))
        throw Error("batch_norm", "eval mode needs running statistics");
    if (training && count < 2) throw Error("batch_norm", "training needs more than one value per channel");
    Tensor mean_t = Tensor::empty({C}), rstd_t = Tensor::empty({C});  // per channel
    float* mean = mean_t.data<float>();
    float* rstd = rstd_t.data<float>();
    const float* px = x.data();
    const ElementwiseKernels& ew = elementwise();
    if (training) {
        parallel_items(C, 6 * N * S, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                // One pass: sums shifted by one of the channel's values, which
                // lies a few standard deviations from the mean at most, so
                // sum((x-k)^2) - sum(x-k)^2/n cancels little.
                const float k = px[c * S];
                double s = 0, ss = 0;
                for (int64_t n = 0; n < N; ++n)
                    for (int64_t i = 0; i < S; i += kRowBlock) {
                        float bs, bss;
                        ew.sum_sumsq_shifted(px + (n * C + c) * S + i, std::min(kRowBlock, S - i), k, &bs, &bss);
                        s += bs;
                        ss += bss;
                    }
                const double d = s / static_cast<double>(count);
                const double m = k + d;
                const float mf = static_cast<float>(m);
                ss = std::max(0.0, ss - s * d);  // sum((x - m)^2)
                const double var = ss / static_cast<double>(count);
                mean[c] = mf;
                rstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
                if (running_mean.defined()) {
                    float* rm = running_mean.data<float>();
                    float* rv = running_var.data<float>();
                    const double unbiased = ss / static_cast<double>(count - 1);
                    rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * m);
                    rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * unbiased);
                }
            }
        });
    } else {
        for (int64_t c = 0; c < C; ++c) {
            mean[c] = running_mean.data<float>()[c];
            rstd[c] = 1.0f / std::sqrt(running_var.data<float>()[c] + eps);
        }
    }
    Tensor y = Tensor::empty(x.shape());
    float* py = y.data<float>();
    parallel_items(N * C, 2 * S, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t c = i % C;
            const float a = rstd[c] * (gamma.defined() ? gamma.data()[c] : 1.0f);
            const float b = (beta.defined() ? beta.data()[c] : 0.0f) - mean[c] * a;
            for (int64_t s = 0; s < S; ++s) py[i * S + s] = px[i * S + s] * a + b;
        }
    });
    std::vector<Var> parents{x};
    if (gamma.defined()) parents.push_back(gamma);
    if (beta.defined()) parents.push_back(beta);
    return make_result(y, parents, [x, gamma, beta, mean_t, rstd_t, training, N, C, S, count](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        float* gg = grad_ptr(gamma);
        float* gb = grad_ptr(beta);
        const ElementwiseKernels& ew = elementwise();
        const float* d = gy.data<float>();
        const float* px = x.data();
        const float* mean = mean_t.data<float>();
        const float* rstd = rstd_t.data<float>();
        parallel_items(C, 6 * N * S, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                // sum(dy) and sum(dy * xhat) over the channel's N*S values
                double sd = 0, sdxm = 0;  // sdxm: sum(dy * (x - mean))
                for (int64_t n = 0; n < N; ++n)
                    for (int64_t i = 0; i < S; i += kRowBlock) {
                        const int64_t j = (n * C + c) * S + i;
                        float bd, bdx;
                        ew.sum_dot_centered(d + j, px + j, std::min(kRowBlock, S - i), mean[c], &bd, &bdx);
                        sd += bd;
                        sdxm += bdx;
                    }
                const double sdx = sdxm * rstd[c];
                if (gg) gg[c] += static_cast<float>(sdx);
                if (gb) gb[c] += static_cast<float>(sd);
                if (!gx) continue;
                const float g = gamma.defined() ? gamma.data()[c] : 1.0f;
                const float k = g * rstd[c];
                // Training: the batch statistics depend on x too.
                const float m_d = training ? static_cast<float>(sd / count) : 0.0f;
                const float m_dx = training ? static_cast<float>(sdx / count) : 0.0f;
                const float mc = mean[c], rc = rstd[c];
                for (int64_t n = 0; n < N; ++n) {
                    const int64_t j = (n * C + c) * S;
                    const float* dj = d + j;
                    const float* xj = px + j;
                    float* out = gx.data + j;
                    if (gx.fresh)
                        for (int64_t i = 0; i < S; ++i) out[i] = k * (dj[i] - m_d - (xj[i] - mc) * rc * m_dx);
                    else
                        for (int64_t i = 0; i < S; ++i) out[i] += k * (dj[i] - m_d - (xj[i] - mc) * rc * m_dx);
                }
            }
        });
    });
}

Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps) {
    const int64_t C = x.dim(-1), rows = x.numel() / C;
    if (weight.numel() != C || (bias.defined() && bias.numel() != C))
        throw Error("layer_norm", "weight/bias size differs from the last dim " + std::to_string(C));
    Tensor y = Tensor::empty(x.shape());
    const auto& ew = elementwise();
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
    const auto& ew = elementwise();
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
