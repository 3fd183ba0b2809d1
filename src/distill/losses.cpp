#include "distill/losses.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "nn/ops.h"

namespace tern::distill {

using nn::Var;

namespace {

void check_same_shape(const char* what, const Var& s, const Var& t) {
    if (s.shape() != t.shape() || s.rank() < 1)
        throw Error(what, "student " + shape_to_string(s.shape()) + " vs teacher " + shape_to_string(t.shape()));
}

void check_temperature(const char* what, float temperature) {
    if (!(temperature > 0) || !std::isfinite(temperature)) throw Error(what, "temperature must be positive");
}

// log softmax(x / T) of each row of length C, in double for the KL sums.
void log_softmax_rows(const float* x, double* out, int64_t rows, int64_t C, float temperature) {
    const double inv_t = 1.0 / static_cast<double>(temperature);
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * C;
        double* o = out + r * C;
        double m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = std::fmax(m, xr[c] * inv_t);
        double z = 0;
        for (int64_t c = 0; c < C; ++c) z += std::exp(xr[c] * inv_t - m);
        const double lse = m + std::log(z);
        for (int64_t c = 0; c < C; ++c) o[c] = xr[c] * inv_t - lse;
    }
}

}  // namespace

Var soft_target_kd(const Var& student_logits, const Var& teacher_logits, float temperature) {
    check_same_shape("soft_target_kd", student_logits, teacher_logits);
    check_temperature("soft_target_kd", temperature);
    return nn::kd_kl_div(student_logits, teacher_logits.detach(), temperature);
}

Var kd_loss(const Var& student_logits, const Var& teacher_logits, const std::vector<int64_t>& labels, float temperature,
            float alpha) {
    if (!(alpha >= 0 && alpha <= 1)) throw Error("kd_loss", "alpha must be in [0, 1]");
    // The unused term is skipped, so alpha 0 is exactly plain training.
    if (alpha == 0) return nn::cross_entropy(student_logits, labels);
    Var kd = soft_target_kd(student_logits, teacher_logits, temperature);
    if (alpha == 1) return kd;
    return nn::add(nn::mul_scalar(kd, alpha), nn::mul_scalar(nn::cross_entropy(student_logits, labels), 1 - alpha));
}

Var hint_loss(const Var& regressed_student, const Var& teacher_feature) {
    check_same_shape("hint_loss", regressed_student, teacher_feature);
    return nn::mse_loss(regressed_student, teacher_feature.detach());
}

Var attention_map(const Var& feature) {
    if (feature.rank() != 4) throw Error("attention_map", "needs (N, C, H, W), got " + shape_to_string(feature.shape()));
    const int64_t N = feature.dim(0), C = feature.dim(1), HW = feature.dim(2) * feature.dim(3);
    Tensor a = Tensor::empty({N, HW});
    std::vector<float> norms(static_cast<size_t>(N));
    const float* f = feature.data();
    float* ap = a.data<float>();
    for (int64_t n = 0; n < N; ++n) {
        float* row = ap + n * HW;
        for (int64_t i = 0; i < HW; ++i) row[i] = 0;
        for (int64_t c = 0; c < C; ++c) {
            const float* fc = f + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; ++i) row[i] += fc[i] * fc[i];
        }
        double ss = 0;
        for (int64_t i = 0; i < HW; ++i) ss += static_cast<double>(row[i]) * row[i];
        const float norm = std::fmax(static_cast<float>(std::sqrt(ss)), 1e-12f);
        norms[static_cast<size_t>(n)] = norm;
        for (int64_t i = 0; i < HW; ++i) row[i] /= norm;
    }
    // a = q / |q| with q = sum_c f^2: dq = (da - a (a . da)) / |q| (zero-norm rows: da / eps, as torch),
    // df = 2 f dq.
    return nn::make_result(a, {feature}, [feature, a, norms, N, C, HW](const Tensor& ga) {
        float* gf = nn::grad_ptr(feature);
        if (!gf) return;
        const float* fp = feature.data();
        const float* av = a.data<float>();
        const float* g = ga.data<float>();
        std::vector<float> dq(static_cast<size_t>(HW));
        for (int64_t n = 0; n < N; ++n) {
            const float* ar = av + n * HW;
            const float* gr = g + n * HW;
            const float norm = norms[static_cast<size_t>(n)];
            double dot = 0;
            for (int64_t i = 0; i < HW; ++i) dot += static_cast<double>(ar[i]) * gr[i];
            const bool clamped = norm <= 1e-12f;
            for (int64_t i = 0; i < HW; ++i)
                dq[static_cast<size_t>(i)] = (gr[i] - (clamped ? 0.0f : ar[i] * static_cast<float>(dot))) / norm;
            for (int64_t c = 0; c < C; ++c) {
                const float* fc = fp + (n * C + c) * HW;
                float* gc = gf + (n * C + c) * HW;
                for (int64_t i = 0; i < HW; ++i) gc[i] += 2 * fc[i] * dq[static_cast<size_t>(i)];
            }
        }
    });
}

Var attention_transfer(const Var& student_feature, const Var& teacher_feature) {
    const Shape& s = student_feature.shape();
    const Shape& t = teacher_feature.shape();
    if (s.size() != 4 || t.size() != 4 || s[0] != t[0] || s[2] != t[2] || s[3] != t[3])
        throw Error("attention_transfer", "student " + shape_to_string(s) + " and teacher " + shape_to_string(t) +
                                              " need the same N, H and W");
    Var at;
    {
        nn::NoGradGuard no_grad;
        at = attention_map(teacher_feature.detach());
    }
    Var d = nn::sub(attention_map(student_feature), at);
    return nn::mean(nn::mul(d, d));
}

Var forward_kl(const Var& student_logits, const Var& teacher_logits, float temperature) {
    check_same_shape("forward_kl", student_logits, teacher_logits);
    check_temperature("forward_kl", temperature);
    // kd_kl_div is T^2-scaled; the LM loss is the plain per-token KL.
    Var kl = nn::kd_kl_div(student_logits, teacher_logits.detach(), temperature);
    return temperature == 1.0f ? kl : nn::mul_scalar(kl, 1.0f / (temperature * temperature));
}

Var reverse_kl(const Var& student_logits, const Var& teacher_logits, float temperature) {
    check_same_shape("reverse_kl", student_logits, teacher_logits);
    check_temperature("reverse_kl", temperature);
    const int64_t V = student_logits.dim(-1), rows = student_logits.numel() / V;
    std::vector<double> ls(static_cast<size_t>(rows * V)), lt(static_cast<size_t>(rows * V));
    log_softmax_rows(student_logits.data(), ls.data(), rows, V, temperature);
    log_softmax_rows(teacher_logits.data(), lt.data(), rows, V, temperature);
    // KL(ps || pt) = sum ps (ls - lt); d/dz = ps (d - KL_row) / T with d = ls - lt.
    Tensor grad = Tensor::empty({rows, V});
    float* gp = grad.data<float>();
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) {
        double kl = 0;
        for (int64_t v = 0; v < V; ++v) {
            const size_t i = static_cast<size_t>(r * V + v);
            kl += std::exp(ls[i]) * (ls[i] - lt[i]);
        }
        for (int64_t v = 0; v < V; ++v) {
            const size_t i = static_cast<size_t>(r * V + v);
            gp[i] = static_cast<float>(std::exp(ls[i]) * ((ls[i] - lt[i]) - kl) / temperature / static_cast<double>(rows));
        }
        total += kl;
    }
    Tensor y = Tensor::empty({1});
    y.data<float>()[0] = static_cast<float>(total / static_cast<double>(rows));
    return nn::make_result(y, {student_logits}, [student_logits, grad, rows, V](const Tensor& gy) {
        float* gs = nn::grad_ptr(student_logits);
        if (!gs) return;
        const float k = gy.data<float>()[0];
        const float* g = grad.data<float>();
        for (int64_t i = 0; i < rows * V; ++i) gs[i] += k * g[i];
    });
}

Var topk_forward_kl(const Var& student_logits, const std::vector<int32_t>& indices, const std::vector<float>& values,
                    int64_t k, float temperature) {
    check_temperature("topk_forward_kl", temperature);
    if (student_logits.rank() < 1 || k < 1) throw Error("topk_forward_kl", "needs logits and k >= 1");
    const int64_t V = student_logits.dim(-1), rows = student_logits.numel() / V;
    if (static_cast<int64_t>(indices.size()) != rows * k || static_cast<int64_t>(values.size()) != rows * k)
        throw Error("topk_forward_kl", format("%lld rows x k %lld need %lld indices and values, got %zu and %zu",
                                              (long long)rows, (long long)k, (long long)(rows * k), indices.size(),
                                              values.size()));
    std::vector<double> ls(static_cast<size_t>(rows * V));
    log_softmax_rows(student_logits.data(), ls.data(), rows, V, temperature);
    Tensor grad = Tensor::empty({rows, V});
    float* gp = grad.data<float>();
    std::vector<double> pt(static_cast<size_t>(k));
    double total = 0;
    const double inv_t = 1.0 / static_cast<double>(temperature);
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* ir = indices.data() + r * k;
        const float* vr = values.data() + r * k;
        double m = -INFINITY, z = 0;
        for (int64_t j = 0; j < k; ++j) {
            if (ir[j] < 0 || ir[j] >= V)
                throw Error("topk_forward_kl", format("token id %d outside the vocabulary of %lld", ir[j], (long long)V));
            m = std::fmax(m, vr[j] * inv_t);
        }
        for (int64_t j = 0; j < k; ++j) z += std::exp(vr[j] * inv_t - m);
        // d/dz = (ps - pt) / T: pt is scattered into the row of ps.
        for (int64_t v = 0; v < V; ++v) gp[r * V + v] = static_cast<float>(std::exp(ls[static_cast<size_t>(r * V + v)]));
        for (int64_t j = 0; j < k; ++j) {
            const double lp = vr[j] * inv_t - m - std::log(z);
            const double p = std::exp(lp);
            total += p * (lp - ls[static_cast<size_t>(r * V + ir[j])]);
            gp[r * V + ir[j]] -= static_cast<float>(p);
        }
    }
    const float scale = static_cast<float>(1.0 / static_cast<double>(temperature) / static_cast<double>(rows));
    for (int64_t i = 0; i < rows * V; ++i) gp[i] *= scale;
    Tensor y = Tensor::empty({1});
    y.data<float>()[0] = static_cast<float>(total / static_cast<double>(rows));
    return nn::make_result(y, {student_logits}, [student_logits, grad, rows, V](const Tensor& gy) {
        float* gs = nn::grad_ptr(student_logits);
        if (!gs) return;
        const float g0 = gy.data<float>()[0];
        const float* g = grad.data<float>();
        for (int64_t i = 0; i < rows * V; ++i) gs[i] += g0 * g[i];
    });
}

}  // namespace tern::distill
