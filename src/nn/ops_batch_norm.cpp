// Batch norm (train/eval) on (N, C, ...) tensors.
//
// Every pass walks the tensor in memory order, one (n, c) row of S values per
// task: per-row sums are kept and reduced per channel in image order, so the
// statistics do not depend on the thread count, and no pass strides across
// whole images (a channel-major walk misses cache on every row of a small
// feature map).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"
#include "nn/parallel.h"

namespace tern::nn {

namespace {

// Rows are summed in float SIMD lanes by the kernels, at most this many values
// at a time, and the blocks in double: the error stays that of short sums.
constexpr int64_t kRowBlock = 4096;

// Two sums per channel, (C) each: row_fn(row, offset, len, &x, &y) sums one
// block of row `row` (= n * C + c); rows run in parallel, channels then add
// their N rows in image order.
template <class RowFn>
void channel_sums(int64_t N, int64_t C, int64_t S, RowFn row_fn, std::vector<double>& a, std::vector<double>& b) {
    std::vector<double> ra(static_cast<size_t>(N * C)), rb(static_cast<size_t>(N * C));
    parallel_items(N * C, 3 * S, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            double sa = 0, sb = 0;
            for (int64_t i = 0; i < S; i += kRowBlock) {
                float x, y;
                row_fn(r, i, std::min(kRowBlock, S - i), &x, &y);
                sa += x;
                sb += y;
            }
            ra[r] = sa;
            rb[r] = sb;
        }
    });
    a.assign(static_cast<size_t>(C), 0.0);
    b.assign(static_cast<size_t>(C), 0.0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
            a[c] += ra[n * C + c];
            b[c] += rb[n * C + c];
        }
}

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
    const ElementwiseKernels& ew = elementwise_kernel();
    if (training) {
        // One pass: sums shifted by one of the channel's values (its first),
        // which lies a few standard deviations from the mean at most, so
        // sum((x-k)^2) - sum(x-k)^2/n cancels little.
        std::vector<double> s, ss;
        channel_sums(
            N, C, S,
            [&](int64_t r, int64_t i, int64_t len, float* a, float* b) {
                ew.sum_sumsq_shifted(px + r * S + i, len, px[(r % C) * S], a, b);
            },
            s, ss);
        for (int64_t c = 0; c < C; ++c) {
            const double d = s[c] / static_cast<double>(count);
            const double m = px[c * S] + d;
            const double sq = std::max(0.0, ss[c] - s[c] * d);  // sum((x - m)^2)
            mean[c] = static_cast<float>(m);
            rstd[c] = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(count) + eps));
            if (running_mean.defined()) {
                float* rm = running_mean.data<float>();
                float* rv = running_var.data<float>();
                const double unbiased = sq / static_cast<double>(count - 1);
                rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * m);
                rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * unbiased);
            }
        }
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
        const ElementwiseKernels& ew = elementwise_kernel();
        const float* d = gy.data<float>();
        const float* px = x.data();
        const float* mean = mean_t.data<float>();
        const float* rstd = rstd_t.data<float>();
        // sum(dy) and sum(dy * (x - mean)) per channel
        std::vector<double> sd, sdxm;
        channel_sums(
            N, C, S,
            [&](int64_t r, int64_t i, int64_t len, float* a, float* b) {
                ew.sum_dot_centered(d + r * S + i, px + r * S + i, len, mean[r % C], a, b);
            },
            sd, sdxm);
        // Per channel: gx = k * (dy - m_d - xhat * m_dx); in training the
        // batch statistics depend on x too (m_d, m_dx), in eval they do not.
        std::vector<float> k(static_cast<size_t>(C)), m_d(static_cast<size_t>(C)), m_dx(static_cast<size_t>(C));
        for (int64_t c = 0; c < C; ++c) {
            const double sdx = sdxm[c] * rstd[c];  // sum(dy * xhat)
            if (gg) gg[c] += static_cast<float>(sdx);
            if (gb) gb[c] += static_cast<float>(sd[c]);
            k[c] = (gamma.defined() ? gamma.data()[c] : 1.0f) * rstd[c];
            m_d[c] = training ? static_cast<float>(sd[c] / count) : 0.0f;
            m_dx[c] = training ? static_cast<float>(sdx / count) : 0.0f;
        }
        if (!gx) return;
        parallel_items(N * C, 4 * S, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const int64_t c = r % C;
                const float kc = k[c], md = m_d[c], mdx = m_dx[c], mc = mean[c], rc = rstd[c];
                const float* dj = d + r * S;
                const float* xj = px + r * S;
                float* out = gx.data + r * S;
                if (gx.fresh)
                    for (int64_t i = 0; i < S; ++i) out[i] = kc * (dj[i] - md - (xj[i] - mc) * rc * mdx);
                else
                    for (int64_t i = 0; i < S; ++i) out[i] += kc * (dj[i] - md - (xj[i] - mc) * rc * mdx);
            }
        });
    });
}

}  // namespace tern::nn
