#include "prune/channel_regression.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.h"
#include "prune/channel_prune.h"
#include "prune/layer_hessian.h"
#include "quant/hessian_factor.h"

namespace tern::prune {
namespace {

int64_t nonzeros(const std::vector<double>& v) {
    return std::count_if(v.begin(), v.end(), [](double x) { return x != 0.0; });
}

}  // namespace

std::vector<double> channel_lasso(const std::vector<double>& g, int64_t n, double lambda, int iterations) {
    // f(beta) = beta^T G beta - 2 b^T beta + lambda |beta|_1 with b = G 1 (beta = 1 reproduces Y).
    std::vector<double> b(static_cast<size_t>(n), 0.0), beta(static_cast<size_t>(n), 1.0);
    for (int64_t c = 0; c < n; ++c)
        for (int64_t d = 0; d < n; ++d) b[c] += g[c * n + d];
    for (int it = 0; it < iterations; ++it) {
        double moved = 0, scale = 0;
        for (int64_t c = 0; c < n; ++c) {
            const double gcc = g[c * n + c];
            if (!(gcc > 0)) {
                beta[c] = 0;
                continue;
            }
            double z = b[c];
            for (int64_t d = 0; d < n; ++d)
                if (d != c) z -= g[c * n + d] * beta[d];
            const double t = 0.5 * lambda;
            const double next = z > t ? (z - t) / gcc : z < -t ? (z + t) / gcc : 0.0;
            moved = std::max(moved, std::fabs(next - beta[c]));
            scale = std::max(scale, std::fabs(next));
            beta[c] = next;
        }
        if (moved <= 1e-9 * std::max(scale, 1.0)) break;
    }
    return beta;
}

std::vector<int64_t> lasso_select(const std::vector<double>& g, int64_t n, int64_t keep) {
    if (keep >= n) {
        std::vector<int64_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), 0);
        return all;
    }
    // beta = 0 is optimal once lambda / 2 >= max |b_c|: the bisection's upper end.
    double hi = 0;
    for (int64_t c = 0; c < n; ++c) {
        double bc = 0;
        for (int64_t d = 0; d < n; ++d) bc += g[c * n + d];
        hi = std::max(hi, 2.0 * std::fabs(bc));
    }
    double lo = 0;
    std::vector<double> best = channel_lasso(g, n, 0.0);  // lambda 0: every channel non-zero
    for (int i = 0; i < 40 && hi > 0; ++i) {
        const double mid = 0.5 * (lo + hi);
        std::vector<double> beta = channel_lasso(g, n, mid);
        if (nonzeros(beta) >= keep) {
            lo = mid;
            best = std::move(beta);
            if (nonzeros(best) == keep) break;
        } else {
            hi = mid;
        }
    }
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::fabs(best[a]) > std::fabs(best[b]); });
    order.resize(static_cast<size_t>(std::max<int64_t>(keep, 0)));
    std::sort(order.begin(), order.end());
    return order;
}

std::vector<std::vector<int64_t>> regression_channels(nn::UnaryModule& model, const std::string& model_name,
                                                      const std::vector<int64_t>& widths, const data::ImageDataset& data,
                                                      const std::function<std::shared_ptr<nn::UnaryModule>()>& make_copy,
                                                      const RegressionOptions& o) {
    const std::vector<ChannelGroup> groups = channel_groups(model_name);
    if (widths.size() != groups.size()) throw InputError("regression", "one width per channel group is needed");
    std::map<std::string, nn::Var> params;
    for (auto& [name, v] : model.named_parameters()) params[name] = v;
    std::vector<std::vector<int64_t>> kept_all;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        const ChannelGroup& grp = groups[gi];
        const int64_t n = grp.channels, keep = widths[gi];
        if (keep < 1) throw InputError(grp.name, "pruning every channel of the layer leaves nothing for the next layer to read");
        const std::string consumer = grp.inputs.front();
        auto it = params.find(consumer);
        if (it == params.end() || consumer.size() < 8 || consumer.substr(consumer.size() - 7) != ".weight")
            throw InputError("regression", "the layer reading " + grp.name + " ('" + consumer + "') is not a Conv2d / Linear weight");
        nn::Var cw = it->second;
        const int64_t rows = cw.dim(0), cols = cw.numel() / rows, inner = cols / n;
        const LayerHessian lh = layer_input_hessian(*make_copy(), consumer.substr(0, consumer.size() - 7), data, o.images);
        if (lh.groups != 1 || lh.cols != cols || inner * n != cols)
            throw InputError("regression", "the layer reading " + grp.name + " is grouped or does not read its channels");
        const std::vector<double>& h = lh.h;
        float* w = cw.data();
        // G_cd = sum_o sum_{i in c, j in d} w_oi H_ij w_oj.
        std::vector<double> g(static_cast<size_t>(n * n), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
            const float* wr = w + r * cols;
            for (int64_t d = 0; d < n; ++d)
                for (int64_t i = 0; i < cols; ++i) {
                    double s = 0;
                    for (int64_t j = d * inner; j < (d + 1) * inner; ++j) s += h[i * cols + j] * wr[j];
                    g[(i / inner) * n + d] += wr[i] * s;
                }
        }
        const std::vector<int64_t> kept = lasso_select(g, n, keep);
        // Least squares refit of the consumer on the kept channels' columns.
        std::vector<int64_t> kc;
        for (int64_t c : kept)
            for (int64_t j = c * inner; j < (c + 1) * inner; ++j) kc.push_back(j);
        const int64_t m = static_cast<int64_t>(kc.size());
        double mean_diag = 0;
        for (int64_t j : kc) mean_diag += h[j * cols + j];
        mean_diag = m ? mean_diag / double(m) : 0;
        const double ridge = o.ridge * (mean_diag > 0 ? mean_diag : 1.0);
        for (int64_t r = 0; r < rows; ++r) {
            float* wr = w + r * cols;
            std::vector<double> a(static_cast<size_t>(m * m)), rhs(static_cast<size_t>(m), 0.0);
            for (int64_t p = 0; p < m; ++p) {
                const double* hp = h.data() + kc[p] * cols;
                for (int64_t q = 0; q < m; ++q) a[p * m + q] = hp[kc[q]];
                a[p * m + p] += ridge;
                for (int64_t j = 0; j < cols; ++j) rhs[p] += hp[j] * wr[j];
                rhs[p] += ridge * wr[kc[p]];  // the ridge pulls toward the old weights, not toward 0
            }
            if (!quant::cholesky_solve(a, m, rhs)) throw InputError("regression", "the least-squares refit of " + consumer + " is singular");
            for (int64_t j = 0; j < cols; ++j) wr[j] = 0.0f;
            for (int64_t p = 0; p < m; ++p) wr[kc[p]] = static_cast<float>(rhs[p]);
        }
        if (o.log)
            o.log(format("regression %s: kept %lld of %lld channels (LASSO on %lld input rows of %s)\n", grp.name.c_str(),
                         static_cast<long long>(keep), static_cast<long long>(n), static_cast<long long>(lh.input_rows),
                         consumer.c_str()));
        kept_all.push_back(kept);
    }
    return kept_all;
}

}  // namespace tern::prune
