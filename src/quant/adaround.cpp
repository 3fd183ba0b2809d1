#include "quant/adaround.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/gemm_f32/gemm_f32.h"

namespace tern::quant {
namespace {

void check_layer(const AdaroundLayer& l) {
    const std::string where = "adaround";
    if (l.channels < 1 || l.k < 1 || l.groups < 1 || l.channels % l.groups != 0)
        throw InputError(where, format("layer of %lld channels, %lld inputs, %lld groups", static_cast<long long>(l.channels),
                                       static_cast<long long>(l.k), static_cast<long long>(l.groups)));
    if (static_cast<int64_t>(l.weights.size()) != l.channels * l.k || static_cast<int64_t>(l.scales.size()) != l.channels)
        throw InputError(where, "weights / scales do not match the layer's channels x K");
    const size_t gram = static_cast<size_t>(l.groups * l.k * l.k);
    if (l.gram_qq.size() != gram || l.gram_qf.size() != gram || l.gram_ff.size() != gram)
        throw InputError(where, "Gram matrices do not match the layer's groups x K x K");
    if (l.qmax < 1 || l.qmax > 127) throw InputError(where, format("qmax %d is outside 1..127", l.qmax));
    for (float s : l.scales)
        if (!(s > 0) || !std::isfinite(s)) throw InputError(where, "a channel's scale is not a positive finite number");
    for (float w : l.weights)
        if (!std::isfinite(w)) throw InputError(where, "a weight is NaN or infinite");
}

// out (m, K) = a (m, K) x b^T where b is (K, K) row-major (b^T when transpose_b is false: G symmetric or not).
void rows_times(const float* a, const float* b, bool trans_b, int64_t m, int64_t k, float* out) {
    if (k >= 16 && m >= 4) {
        GemmF32Args g;
        g.m = m, g.n = k, g.k = k;
        g.a = a, g.lda = k;
        g.b = b, g.ldb = k, g.trans_b = trans_b;
        g.c = out, g.ldc = k;
        gemm_f32(g);
        return;
    }
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < k; ++j) {
            float acc = 0;
            for (int64_t i = 0; i < k; ++i) acc += a[r * k + i] * (trans_b ? b[j * k + i] : b[i * k + j]);
            out[r * k + j] = acc;
        }
}

struct LayerMatrices {
    std::vector<float> qq, qf;  // f32 copies of the Gram matrices (groups, K, K)
    std::vector<float> target;  // (channels, K): row o = G_qf w_o, the fp32 side of rec's cross term
    std::vector<double> constant;  // (channels): w_o^T G_ff w_o
};

LayerMatrices prepare(const AdaroundLayer& l) {
    LayerMatrices m;
    m.qq.assign(l.gram_qq.begin(), l.gram_qq.end());
    m.qf.assign(l.gram_qf.begin(), l.gram_qf.end());
    m.target.assign(static_cast<size_t>(l.channels * l.k), 0.f);
    m.constant.assign(static_cast<size_t>(l.channels), 0.0);
    const int64_t per = l.channels / l.groups, k = l.k;
    for (int64_t g = 0; g < l.groups; ++g) {
        // target row o: sum_j G_qf[i][j] w_o[j], i.e. w_o times G_qf^T
        rows_times(l.weights.data() + g * per * k, m.qf.data() + g * k * k, true, per, k, m.target.data() + g * per * k);
        const double* ff = l.gram_ff.data() + g * k * k;
        for (int64_t o = g * per; o < (g + 1) * per; ++o) {
            const float* w = l.weights.data() + o * k;
            double c = 0;
            for (int64_t i = 0; i < k; ++i)
                for (int64_t j = 0; j < k; ++j) c += static_cast<double>(w[i]) * ff[i * k + j] * w[j];
            m.constant[static_cast<size_t>(o)] = c;
        }
    }
    return m;
}

// rec of the dequantized weights wq (channels, K); fills grad (d rec / d wq) when given.
double reconstruction(const AdaroundLayer& l, const LayerMatrices& m, const std::vector<float>& wq, std::vector<float>* grad) {
    const int64_t per = l.channels / l.groups, k = l.k;
    std::vector<float> a(static_cast<size_t>(l.channels * k));
    for (int64_t g = 0; g < l.groups; ++g)
        rows_times(wq.data() + g * per * k, m.qq.data() + g * k * k, false, per, k, a.data() + g * per * k);
    double rec = 0;
    for (int64_t o = 0; o < l.channels; ++o) {
        double r = m.constant[static_cast<size_t>(o)];
        for (int64_t i = 0; i < k; ++i) {
            const size_t at = static_cast<size_t>(o * k + i);
            r += static_cast<double>(wq[at]) * (static_cast<double>(a[at]) - 2.0 * m.target[at]);
            if (grad) (*grad)[at] = 2.f * (a[at] - m.target[at]);
        }
        rec += r;
    }
    return rec;
}

std::vector<float> dequantize(const AdaroundLayer& l, const std::vector<int8_t>& codes) {
    std::vector<float> w(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) w[i] = static_cast<float>(codes[i]) * l.scales[i / static_cast<size_t>(l.k)];
    return w;
}

void check_options(const AdaroundOptions& o) {
    if (o.iterations < 1) throw UsageError("--adaround-iters", format("%d: AdaRound needs at least 1 iteration", o.iterations));
    if (!(o.learning_rate > 0) || !(o.lambda >= 0) || !(o.beta_start >= o.beta_end) || !(o.beta_end > 0) ||
        !(o.warmup >= 0 && o.warmup < 1) || !(o.zeta > 1) || !(o.gamma < 0))
        throw UsageError("adaround", "options out of range (learning rate > 0, lambda >= 0, beta start >= end > 0, "
                                     "warm-up in [0, 1), zeta > 1, gamma < 0)");
}

}  // namespace

void add_gram_rows(AdaroundLayer& l, int64_t group, const float* x_q, const float* x_f, int64_t rows) {
    const int64_t k = l.k;
    const size_t gram = static_cast<size_t>(l.groups * k * k);
    if (l.gram_qq.size() != gram) {
        l.gram_qq.assign(gram, 0.0);
        l.gram_qf.assign(gram, 0.0);
        l.gram_ff.assign(gram, 0.0);
    }
    double* qq = l.gram_qq.data() + group * k * k;
    double* qf = l.gram_qf.data() + group * k * k;
    double* ff = l.gram_ff.data() + group * k * k;
    for (int64_t r = 0; r < rows; ++r) {
        const float* q = x_q + r * k;
        const float* f = x_f + r * k;
        for (int64_t i = 0; i < k; ++i) {
            const double qi = q[i], fi = f[i];
            for (int64_t j = 0; j < k; ++j) {
                qq[i * k + j] += qi * q[j];
                qf[i * k + j] += qi * f[j];
                ff[i * k + j] += fi * f[j];
            }
        }
    }
}

void finish_gram(AdaroundLayer& l, int64_t rows_per_group) {
    if (rows_per_group < 1) throw InputError("adaround", "no calibration rows reached the layer");
    const double inv = 1.0 / static_cast<double>(rows_per_group);
    for (auto* g : {&l.gram_qq, &l.gram_qf, &l.gram_ff})
        for (double& v : *g) v *= inv;
}

std::vector<int8_t> nearest_codes(const AdaroundLayer& l) {
    std::vector<int8_t> codes(l.weights.size());
    for (size_t i = 0; i < codes.size(); ++i) {
        const float v = std::nearbyint(l.weights[i] / l.scales[i / static_cast<size_t>(l.k)]);
        codes[i] = static_cast<int8_t>(std::clamp(v, static_cast<float>(-l.qmax), static_cast<float>(l.qmax)));
    }
    return codes;
}

double reconstruction_error(const AdaroundLayer& l, const std::vector<int8_t>& codes) {
    check_layer(l);
    if (codes.size() != l.weights.size()) throw InputError("adaround", "codes do not match the layer's channels x K");
    return reconstruction(l, prepare(l), dequantize(l, codes), nullptr);
}

AdaroundResult adaround(const AdaroundLayer& l, const AdaroundOptions& o) {
    check_layer(l);
    check_options(o);
    const LayerMatrices m = prepare(l);
    const size_t n = l.weights.size();
    const float span = o.zeta - o.gamma, lo = static_cast<float>(-l.qmax), hi = static_cast<float>(l.qmax);
    std::vector<float> floor_code(n), v(n), adam_m(n, 0.f), adam_v(n, 0.f), wq(n), grad(n), h(n);
    for (size_t i = 0; i < n; ++i) {
        const float x = l.weights[i] / l.scales[i / static_cast<size_t>(l.k)];
        floor_code[i] = std::floor(x);
        // h(V) = rest: sigmoid(V) = (rest - gamma) / span
        const float rest = x - floor_code[i];
        v[i] = -std::log(span / (rest - o.gamma) - 1.f);
    }
    AdaroundResult r;
    r.loss.reserve(static_cast<size_t>(o.iterations));
    const int warm = static_cast<int>(o.warmup * static_cast<float>(o.iterations));
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int t = 0; t < o.iterations; ++t) {
        // Regularizer and its beta: off during warm-up, then beta falls linearly from beta_start to beta_end.
        const bool reg_on = t >= warm;
        const float rel = o.iterations > warm ? static_cast<float>(t - warm) / static_cast<float>(o.iterations - warm) : 1.f;
        const float beta = o.beta_end + (o.beta_start - o.beta_end) * std::max(0.f, 1.f - rel);
        for (size_t i = 0; i < n; ++i) {
            const float sig = 1.f / (1.f + std::exp(-v[i]));
            h[i] = std::clamp(sig * span + o.gamma, 0.f, 1.f);
            wq[i] = std::clamp(floor_code[i] + h[i], lo, hi) * l.scales[i / static_cast<size_t>(l.k)];
        }
        double loss = reconstruction(l, m, wq, &grad);
        double reg = 0;
        const float b1t = 1.f - std::pow(b1, static_cast<float>(t + 1)), b2t = 1.f - std::pow(b2, static_cast<float>(t + 1));
        for (size_t i = 0; i < n; ++i) {
            const float s = l.scales[i / static_cast<size_t>(l.k)];
            const float code = floor_code[i] + h[i];
            float dh = (code > lo && code < hi) ? grad[i] * s : 0.f;
            if (reg_on) {
                const float d = 2.f * h[i] - 1.f, ad = std::fabs(d);
                reg += 1.0 - std::pow(static_cast<double>(ad), static_cast<double>(beta));
                // d/dh (1 - |2h - 1|^beta) = -2 beta |2h - 1|^(beta - 1) sign(2h - 1)
                if (ad > 0) dh += o.lambda * (-2.f * beta * std::pow(ad, beta - 1.f) * (d > 0 ? 1.f : -1.f));
            }
            const float sig = 1.f / (1.f + std::exp(-v[i]));
            const float raw = sig * span + o.gamma;
            const float g = (raw > 0.f && raw < 1.f) ? dh * sig * (1.f - sig) * span : 0.f;
            adam_m[i] = b1 * adam_m[i] + (1 - b1) * g;
            adam_v[i] = b2 * adam_v[i] + (1 - b2) * g * g;
            v[i] -= o.learning_rate * (adam_m[i] / b1t) / (std::sqrt(adam_v[i] / b2t) + eps);
        }
        loss += static_cast<double>(o.lambda) * reg;
        r.loss.push_back(static_cast<float>(loss));
    }
    r.codes.resize(n);
    r.soft.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const float sig = 1.f / (1.f + std::exp(-v[i]));
        r.soft[i] = std::clamp(sig * span + o.gamma, 0.f, 1.f);
        r.codes[i] = static_cast<int8_t>(std::clamp(floor_code[i] + (v[i] >= 0 ? 1.f : 0.f), lo, hi));
    }
    r.rec_nearest = reconstruction(l, m, dequantize(l, nearest_codes(l)), nullptr);
    r.rec_adaround = reconstruction(l, m, dequantize(l, r.codes), nullptr);
    return r;
}

}  // namespace tern::quant
