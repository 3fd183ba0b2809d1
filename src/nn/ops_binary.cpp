// Binary / ternary ops (ops_binary.h). Plain loops: the binarized layers of the
// zoo models hold at most a few hundred thousand weights, and a fixed order
// keeps runs reproducible whatever the thread count.
#include "nn/ops_binary.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace tern::nn {
namespace {

inline float sign_pm1(float v) { return v >= 0 ? 1.0f : -1.0f; }            // the forward's sign, sign(0) = +1
inline float sgn(float v) { return static_cast<float>((v > 0) - (v < 0)); }  // d|v|/dv, 0 at 0 as autograd

struct Rows {
    int64_t rows, inner;
};

Rows rows_of(const Var& x, const char* op) {
    if (x.rank() < 1 || x.dim(0) < 1 || x.numel() == 0)
        throw Error(op, "needs a non-empty tensor with a leading dimension, got " + shape_to_string(x.shape()));
    return {x.dim(0), x.numel() / x.dim(0)};
}

// y = sign(v) * mean |v| per row, and its backward (the STE passes where |v| <= 1).
void sign_scale_forward(const float* v, Rows r, float* y, float* scale) {
    for (int64_t c = 0; c < r.rows; ++c) {
        const float* p = v + c * r.inner;
        double s = 0;
        for (int64_t i = 0; i < r.inner; ++i) s += std::fabs(p[i]);
        scale[c] = static_cast<float>(s / static_cast<double>(r.inner));
        for (int64_t i = 0; i < r.inner; ++i) y[c * r.inner + i] = sign_pm1(p[i]) * scale[c];
    }
}

void sign_scale_backward(const float* v, const float* gy, Rows r, const std::vector<float>& scale, float* gv) {
    for (int64_t c = 0; c < r.rows; ++c) {
        const float* p = v + c * r.inner;
        const float* g = gy + c * r.inner;
        double dot = 0;  // sum dy * sign(v): alpha's gradient
        for (int64_t i = 0; i < r.inner; ++i) dot += static_cast<double>(g[i]) * sign_pm1(p[i]);
        const float per = static_cast<float>(dot / static_cast<double>(r.inner));
        for (int64_t i = 0; i < r.inner; ++i)
            gv[c * r.inner + i] = (std::fabs(p[i]) <= 1.0f ? g[i] * scale[static_cast<size_t>(c)] : 0.0f) + sgn(p[i]) * per;
    }
}

void check_threshold(float t, float most, const char* op) {
    if (!(t > 0) || !(t < most)) throw Error(op, format("threshold must be in (0, %g), got %g", most, t));
}

}  // namespace

Var binarize_weight(const Var& w) {
    const Rows r = rows_of(w, "binarize_weight");
    Tensor y = Tensor::empty(w.shape());
    std::vector<float> alpha(static_cast<size_t>(r.rows));
    sign_scale_forward(w.data(), r, y.data<float>(), alpha.data());
    return make_result(y, {w}, [w, r, alpha = std::move(alpha)](const Tensor& gy) {
        float* gw = grad_ptr(w);
        if (!gw) return;
        std::vector<float> g(static_cast<size_t>(w.numel()));
        sign_scale_backward(w.data(), gy.data<float>(), r, alpha, g.data());
        for (size_t i = 0; i < g.size(); ++i) gw[i] += g[i];
    });
}

Var binarize_input(const Var& x) {
    const Rows r = rows_of(x, "binarize_input");
    // c = x - mean(x) per sample, (rows, inner)
    std::vector<float> centred(static_cast<size_t>(x.numel()));
    const float* px = x.data();
    for (int64_t s = 0; s < r.rows; ++s) {
        double m = 0;
        for (int64_t i = 0; i < r.inner; ++i) m += px[s * r.inner + i];
        const float mean = static_cast<float>(m / static_cast<double>(r.inner));
        for (int64_t i = 0; i < r.inner; ++i) centred[static_cast<size_t>(s * r.inner + i)] = px[s * r.inner + i] - mean;
    }
    Tensor y = Tensor::empty(x.shape());
    std::vector<float> beta(static_cast<size_t>(r.rows));
    sign_scale_forward(centred.data(), r, y.data<float>(), beta.data());
    return make_result(y, {x}, [x, r, beta = std::move(beta), centred = std::move(centred)](const Tensor& gy) {
        float* gx = grad_ptr(x);
        if (!gx) return;
        std::vector<float> gc(centred.size());
        sign_scale_backward(centred.data(), gy.data<float>(), r, beta, gc.data());
        for (int64_t s = 0; s < r.rows; ++s) {
            double m = 0;
            for (int64_t i = 0; i < r.inner; ++i) m += gc[static_cast<size_t>(s * r.inner + i)];
            const float mean = static_cast<float>(m / static_cast<double>(r.inner));
            for (int64_t i = 0; i < r.inner; ++i) gx[s * r.inner + i] += gc[static_cast<size_t>(s * r.inner + i)] - mean;
        }
    });
}

void twn_codes(const float* w, int64_t channels, int64_t inner, float threshold, int8_t* codes, float* alpha) {
    for (int64_t c = 0; c < channels; ++c) {
        const float* p = w + c * inner;
        double s = 0;
        for (int64_t i = 0; i < inner; ++i) s += std::fabs(p[i]);
        const float delta = threshold * static_cast<float>(s / static_cast<double>(inner));
        double kept = 0;
        int64_t count = 0;
        for (int64_t i = 0; i < inner; ++i) {
            const float a = std::fabs(p[i]);
            const int8_t code = a > delta ? (p[i] > 0 ? 1 : -1) : 0;
            codes[c * inner + i] = code;
            if (code != 0) {
                kept += a;
                ++count;
            }
        }
        alpha[c] = count > 0 ? static_cast<float>(kept / static_cast<double>(count)) : 0.0f;
    }
}

void ttq_codes(const float* w, int64_t n, float threshold, int8_t* codes) {
    float amax = 0;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(w[i]));
    const float delta = threshold * amax;
    for (int64_t i = 0; i < n; ++i) codes[i] = w[i] > delta ? 1 : w[i] < -delta ? -1 : 0;
}

Var ternarize_twn(const Var& w, float threshold) {
    check_threshold(threshold, 1.5f, "ternarize_twn");
    const Rows r = rows_of(w, "ternarize_twn");
    std::vector<int8_t> codes(static_cast<size_t>(w.numel()));
    std::vector<float> alpha(static_cast<size_t>(r.rows));
    twn_codes(w.data(), r.rows, r.inner, threshold, codes.data(), alpha.data());
    Tensor y = Tensor::empty(w.shape());
    float* py = y.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) py[i] = alpha[static_cast<size_t>(i / r.inner)] * codes[static_cast<size_t>(i)];
    return make_result(y, {w}, [w](const Tensor& gy) {
        float* gw = grad_ptr(w);
        if (!gw) return;
        const float* g = gy.data<float>();
        for (int64_t i = 0; i < w.numel(); ++i) gw[i] += g[i];
    });
}

Var ternarize_ttq(const Var& w, const Var& wp, const Var& wn, float threshold) {
    check_threshold(threshold, 1.0f, "ternarize_ttq");
    rows_of(w, "ternarize_ttq");
    if (wp.numel() != 1 || wn.numel() != 1) throw Error("ternarize_ttq", "wp and wn must have one element each");
    const float p = wp.item(), n = wn.item();
    if (!(p > 0) || !(n > 0) || !std::isfinite(p) || !std::isfinite(n))
        throw Error("ternarize_ttq", format("scales wp %g and wn %g must be finite and > 0", p, n));
    std::vector<int8_t> codes(static_cast<size_t>(w.numel()));
    ttq_codes(w.data(), w.numel(), threshold, codes.data());
    Tensor y = Tensor::empty(w.shape());
    float* py = y.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) {
        const int8_t c = codes[static_cast<size_t>(i)];
        py[i] = c > 0 ? p : c < 0 ? -n : 0.0f;
    }
    return make_result(y, {w, wp, wn}, [w, wp, wn, p, n, codes = std::move(codes)](const Tensor& gy) {
        const float* g = gy.data<float>();
        double sum_pos = 0, sum_neg = 0;
        float* gw = grad_ptr(w);
        for (int64_t i = 0; i < w.numel(); ++i) {
            const int8_t c = codes[static_cast<size_t>(i)];
            if (c > 0) sum_pos += g[i];
            if (c < 0) sum_neg += g[i];
            if (gw) gw[i] += c > 0 ? p * g[i] : c < 0 ? n * g[i] : g[i];
        }
        if (float* gp = grad_ptr(wp)) gp[0] += static_cast<float>(sum_pos);
        if (float* gn = grad_ptr(wn)) gn[0] -= static_cast<float>(sum_neg);
    });
}

}  // namespace tern::nn
