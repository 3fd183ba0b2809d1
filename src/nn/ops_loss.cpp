// Losses: cross-entropy (ignore_index), MSE, Hinton KD (KL with temperature).
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {
// Row-wise softmax of x * inv_t into p (double accumulation for the sum).
void softmax_rows(const float* x, float* p, int64_t rows, int64_t C, float inv_t) {
    parallel_items(rows, 4 * C, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* xr = x + r * C;
            float* pr = p + r * C;
            float m = -INFINITY;
            for (int64_t c = 0; c < C; ++c) m = std::fmax(m, xr[c] * inv_t);
            double s = 0;
            for (int64_t c = 0; c < C; ++c) {
                pr[c] = std::exp(xr[c] * inv_t - m);
                s += pr[c];
            }
            const float inv = static_cast<float>(1.0 / s);
            for (int64_t c = 0; c < C; ++c) pr[c] *= inv;
        }
    });
}
}  // namespace

Var cross_entropy(const Var& logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
    if (logits.rank() != 2) throw Error("cross_entropy", "logits must be (N, C), got " + shape_to_string(logits.shape()));
    const int64_t N = logits.dim(0), C = logits.dim(1);
    if (static_cast<int64_t>(targets.size()) != N)
        throw Error("cross_entropy", format("%zu targets for %lld rows", targets.size(), static_cast<long long>(N)));
    Tensor probs = Tensor::empty({N, C});  // (N, C)
    softmax_rows(logits.data(), probs.data<float>(), N, C, 1.0f);
    double total = 0;
    int64_t count = 0;
    const float* x = logits.data();
    for (int64_t r = 0; r < N; ++r) {
        const int64_t t = targets[r];
        if (t == ignore_index) continue;
        if (t < 0 || t >= C) throw Error("cross_entropy", format("target %lld outside [0, %lld)",
                                                                 static_cast<long long>(t), static_cast<long long>(C)));
        // log p_t = x_t - logsumexp(x), recomputed in double for accuracy.
        const float* xr = x + r * C;
        float m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = std::fmax(m, xr[c]);
        double s = 0;
        for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(xr[c] - m));
        total += -(xr[t] - m - std::log(s));
        ++count;
    }
    Tensor y = Tensor::empty({1});
    // No counted targets: 0/0 = NaN, as PyTorch.
    y.data<float>()[0] = static_cast<float>(total / static_cast<double>(count));
    return make_result(y, {logits}, [logits, probs, targets, ignore_index, N, C, count](const Tensor& gy) {
        float* gx = grad_ptr(logits);
        const float* p = probs.data<float>();
        const float scale = gy.data<float>()[0] / static_cast<float>(count);
        for (int64_t r = 0; r < N; ++r) {
            if (targets[r] == ignore_index) continue;
            for (int64_t c = 0; c < C; ++c) gx[r * C + c] += scale * p[r * C + c];
            gx[r * C + targets[r]] -= scale;
        }
    });
}

Var mse_loss(const Var& pred, const Var& target) {
    if (pred.shape() != target.shape())
        throw Error("mse_loss", shape_to_string(pred.shape()) + " vs " + shape_to_string(target.shape()));
    const int64_t n = pred.numel();
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(pred.data()[i]) - target.data()[i];
        s += d * d;
    }
    Tensor y = Tensor::empty({1});
    y.data<float>()[0] = static_cast<float>(s / static_cast<double>(n));
    return make_result(y, {pred, target}, [pred, target, n](const Tensor& gy) {
        const float k = 2.0f * gy.data<float>()[0] / static_cast<float>(n);
        float* gp = grad_ptr(pred);
        float* gt = grad_ptr(target);
        for (int64_t i = 0; i < n; ++i) {
            const float d = pred.data()[i] - target.data()[i];
            if (gp) gp[i] += k * d;
            if (gt) gt[i] -= k * d;
        }
    });
}

Var kd_kl_div(const Var& student_logits, const Var& teacher_logits, float temperature) {
    if (student_logits.shape() != teacher_logits.shape() || student_logits.rank() < 1)
        throw Error("kd_kl_div", "student " + shape_to_string(student_logits.shape()) + " vs teacher " +
                                     shape_to_string(teacher_logits.shape()));
    if (!(temperature > 0)) throw Error("kd_kl_div", "temperature must be positive");
    const int64_t C = student_logits.dim(-1), rows = student_logits.numel() / C;
    const float inv_t = 1.0f / temperature;
    Tensor ps = Tensor::empty({rows, C});  // softmax(student / T)
    Tensor pt = Tensor::empty({rows, C});  // softmax(teacher / T)
    softmax_rows(student_logits.data(), ps.data<float>(), rows, C, inv_t);
    softmax_rows(teacher_logits.data(), pt.data<float>(), rows, C, inv_t);
    double total = 0;
    const float* s = student_logits.data();
    for (int64_t r = 0; r < rows; ++r) {
        const float* sr = s + r * C;
        float m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = std::fmax(m, sr[c] * inv_t);
        double z = 0;
        for (int64_t c = 0; c < C; ++c) z += std::exp(static_cast<double>(sr[c] * inv_t - m));
        const double lse = m + std::log(z);
        for (int64_t c = 0; c < C; ++c) {
            const double q = pt.data<float>()[r * C + c];
            if (q > 0) total += q * (std::log(q) - (sr[c] * inv_t - lse));  // 0 log 0 = 0
        }
    }
    const float t2 = temperature * temperature;
    Tensor y = Tensor::empty({1});
    y.data<float>()[0] = static_cast<float>(total / static_cast<double>(rows) * t2);
    // d/ds = T^2 * (ps - pt) / T / rows
    return make_result(y, {student_logits}, [student_logits, ps, pt, rows, C, temperature](const Tensor& gy) {
        float* gs = grad_ptr(student_logits);
        const float k = gy.data<float>()[0] * temperature / static_cast<float>(rows);
        const float* a = ps.data<float>();
        const float* b = pt.data<float>();
        for (int64_t i = 0; i < rows * C; ++i) gs[i] += k * (a[i] - b[i]);
    });
}

}  // namespace tern::nn
