#include "nas/proxies.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "nas/build.h"
#include "nas/cost.h"
#include "nn/ops.h"

namespace tern::nas {
namespace {

using nn::Var;

double nan() { return std::numeric_limits<double>::quiet_NaN(); }

// Sum over parameters of f(w, g) for each element.
template <class F>
double sum_over_params(const nn::Module& m, F f) {
    double s = 0;
    for (const Var& p : m.parameters()) {
        if (!p.has_grad()) continue;
        const float* w = p.data();
        const float* g = p.grad().data<float>();
        for (int64_t i = 0; i < p.numel(); ++i) s += f(static_cast<double>(w[i]), static_cast<double>(g[i]));
    }
    return s;
}

std::vector<double> ranks(const std::vector<double>& x) {
    std::vector<size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
    std::vector<double> r(x.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
        const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
        for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
        i = j + 1;
    }
    return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : nan();
}

void check_lengths(const std::vector<double>& x, const std::vector<double>& y, const char* what) {
    if (x.size() != y.size())
        throw InputError(what, format("vectors of different lengths (%zu and %zu)", x.size(), y.size()));
}

}  // namespace

const std::vector<std::string>& proxy_names() {
    static const std::vector<std::string> names = {"params", "macs", "grad_norm", "snip", "synflow", "naswot"};
    return names;
}

double proxy_value(const ProxyScores& p, const std::string& name) {
    if (name == "params") return p.params;
    if (name == "macs") return p.macs;
    if (name == "grad_norm") return p.grad_norm;
    if (name == "snip") return p.snip;
    if (name == "synflow") return p.synflow;
    if (name == "naswot") return p.naswot;
    throw InputError("proxy", "unknown proxy '" + name + "'");
}

ProxyScores compute_proxies(const Arch& a, const Tensor& images, const std::vector<int32_t>& labels, uint64_t seed) {
    ProxyScores s;
    const ArchCost cost = arch_cost(a, images.dim(1));
    s.params = static_cast<double>(cost.params);
    s.macs = static_cast<double>(cost.macs);
    const int64_t n = images.dim(0);
    auto model = build_model(a, seed, images.dim(1));
    const std::vector<int64_t> targets(labels.begin(), labels.end());

    // grad_norm and SNIP: one cross-entropy backward in training mode.
    model->train();
    model->zero_grad();
    nn::cross_entropy(model->forward(Var(images)), targets).backward();
    s.grad_norm = std::sqrt(sum_over_params(*model, [](double, double g) { return g * g; }));
    s.snip = sum_over_params(*model, [](double w, double g) { return std::abs(w * g); });

    // NASWOT: binary activation codes of the batch, no gradients needed.
    {
        nn::NoGradGuard no_grad;
        std::vector<double> k(static_cast<size_t>(n * n), 0.0);
        forward_observed(*model, Var(images), [&](const Var& pre) {
            const int64_t per = pre.numel() / n;
            const float* p = pre.data();
            std::vector<uint8_t> code(static_cast<size_t>(pre.numel()));
            for (int64_t i = 0; i < pre.numel(); ++i) code[static_cast<size_t>(i)] = p[i] > 0;
            for (int64_t i = 0; i < n; ++i)
                for (int64_t j = i; j < n; ++j) {
                    const uint8_t* ci = code.data() + i * per;
                    const uint8_t* cj = code.data() + j * per;
                    int64_t same = 0;
                    for (int64_t u = 0; u < per; ++u) same += ci[u] == cj[u];
                    k[static_cast<size_t>(i * n + j)] += static_cast<double>(same);
                    if (j != i) k[static_cast<size_t>(j * n + i)] += static_cast<double>(same);
                }
        });
        s.naswot = log_abs_det(std::move(k), n);
    }

    // synflow: all-positive weights, an all-ones image, eval-mode batch norm.
    model->eval();
    model->zero_grad();
    std::vector<std::vector<float>> saved;
    for (Var p : model->parameters()) {
        float* w = p.data();
        saved.emplace_back(w, w + p.numel());
        for (int64_t i = 0; i < p.numel(); ++i) w[i] = std::abs(w[i]);
    }
    Tensor ones = Tensor::empty({1, images.dim(1), images.dim(2), images.dim(3)});
    std::fill(ones.data<float>(), ones.data<float>() + ones.numel(), 1.0f);
    nn::sum(model->forward(Var(ones))).backward();
    s.synflow = sum_over_params(*model, [](double w, double g) { return w * g; });
    return s;
}

double log_abs_det(std::vector<double> k, int64_t n) {
    // LU with partial pivoting, in double: K's entries reach ~1e5 and n ~ 64.
    double logdet = 0;
    for (int64_t c = 0; c < n; ++c) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < n; ++r)
            if (std::abs(k[static_cast<size_t>(r * n + c)]) > std::abs(k[static_cast<size_t>(piv * n + c)])) piv = r;
        const double d = k[static_cast<size_t>(piv * n + c)];
        if (d == 0) return -std::numeric_limits<double>::infinity();
        if (piv != c)
            for (int64_t j = 0; j < n; ++j) std::swap(k[static_cast<size_t>(c * n + j)], k[static_cast<size_t>(piv * n + j)]);
        logdet += std::log(std::abs(d));
        for (int64_t r = c + 1; r < n; ++r) {
            const double f = k[static_cast<size_t>(r * n + c)] / d;
            for (int64_t j = c; j < n; ++j) k[static_cast<size_t>(r * n + j)] -= f * k[static_cast<size_t>(c * n + j)];
        }
    }
    return logdet;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    check_lengths(x, y, "spearman");
    if (x.size() < 2) return nan();
    return pearson(ranks(x), ranks(y));
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
    check_lengths(x, y, "kendall");
    if (x.size() < 2) return nan();
    double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
    for (size_t i = 0; i < x.size(); ++i)
        for (size_t j = i + 1; j < x.size(); ++j) {
            const double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0) continue;
            if (dx == 0) ties_x += 1;
            else if (dy == 0) ties_y += 1;
            else if ((dx > 0) == (dy > 0)) concordant += 1;
            else discordant += 1;
        }
    const double denom = std::sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
    return denom > 0 ? (concordant - discordant) / denom : nan();
}

}  // namespace tern::nas
