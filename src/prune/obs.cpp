#include "prune/obs.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/hessian_factor.h"

namespace tern::prune {
namespace {

constexpr const char* kObsWhere = "obs";

// One row's greedy OBS run to the end: the column removed at each step and
// that step's loss increase w_q² / [H^-1]_qq. `hinv`: (n, n) of the dampened H.
void obs_trajectory(const double* w0, const std::vector<double>& hinv, const std::vector<uint8_t>& dead, int64_t n,
                    int64_t* order, double* delta) {
    // The live columns are kept compact (a x a) and re-packed once an eighth
    // of them is gone, so the run costs about n³/3, not n³.
    int64_t a = n;
    std::vector<double> h = hinv, w(w0, w0 + n), col(static_cast<size_t>(n));
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::vector<uint8_t> gone(static_cast<size_t>(n), 0);
    int64_t removed_since_pack = 0;
    for (int64_t t = 0; t < n; ++t) {
        int64_t q = -1;
        double best = std::numeric_limits<double>::infinity();
        for (int64_t p = 0; p < a; ++p) {
            if (gone[p]) continue;
            const double s = dead[idx[p]] ? 0.0 : w[p] * w[p] / h[p * a + p];
            if (s < best) best = s, q = p;
        }
        if (q < 0) return;  // unreachable: a live column remains at every step (n steps, one removed each)
        order[t] = idx[q];
        delta[t] = best;
        const double hqq = h[q * a + q];
        const double f = w[q] / hqq;
        for (int64_t p = 0; p < a; ++p) {
            col[p] = h[p * a + q];
            w[p] -= f * col[p];
        }
        w[q] = 0;
        // H^-1 of the columns still live: H^-1 - H^-1[:, q] H^-1[q, :] / [H^-1]_qq.
        for (int64_t i = 0; i < a; ++i) {
            const double ci = col[i] / hqq;
            if (ci == 0 || gone[i]) continue;
            double* hi = h.data() + i * a;
            for (int64_t j = 0; j < a; ++j) hi[j] -= ci * col[j];
        }
        gone[q] = 1;
        if (++removed_since_pack * 8 >= a && t + 1 < n) {
            int64_t b = 0;
            std::vector<int64_t> live;
            for (int64_t p = 0; p < a; ++p)
                if (!gone[p]) live.push_back(p);
            b = static_cast<int64_t>(live.size());
            std::vector<double> hp(static_cast<size_t>(b * b));
            std::vector<double> wp(static_cast<size_t>(b));
            std::vector<int64_t> ip(static_cast<size_t>(b));
            for (int64_t i = 0; i < b; ++i) {
                for (int64_t j = 0; j < b; ++j) hp[i * b + j] = h[live[i] * a + live[j]];
                wp[i] = w[live[i]];
                ip[i] = idx[live[i]];
            }
            h = std::move(hp);
            w = std::move(wp);
            idx = std::move(ip);
            a = b;
            std::fill(gone.begin(), gone.begin() + a, 0);
            removed_since_pack = 0;
        }
    }
}

}  // namespace

ObsResult obs_prune(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                    const ObsOptions& o, const std::string& tensor) {
    if (rows <= 0 || cols <= 0 || static_cast<int64_t>(w.size()) != rows * cols)
        throw InputError(tensor, "weight holds " + std::to_string(w.size()) + " values, not " + std::to_string(rows) +
                                     " x " + std::to_string(cols));
    for (size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i])) throw InputError(tensor, "weight element " + std::to_string(i) + " is not finite");
    if (!(o.sparsity >= 0 && o.sparsity < 1))
        throw UsageError("--sparsity", "must be in [0, 1), not " + std::to_string(o.sparsity));
    quant::check_hessian(hessian, cols, o.damp, kObsWhere);
    const int64_t n = cols;
    // Dead inputs: H_jj = 1 (as SparseGPT's code), so H stays invertible; their weights are free to prune.
    std::vector<double> h(hessian.begin(), hessian.end());
    std::vector<uint8_t> dead(static_cast<size_t>(n), 0);
    for (int64_t j = 0; j < n; ++j)
        if (h[j * n + j] == 0) dead[j] = 1, h[j * n + j] = 1;
    const quant::InverseHessianFactor f = quant::dampened_inverse_factor(h, n, o.damp, kObsWhere);
    double mean_diag = 0;
    for (int64_t j = 0; j < n; ++j) mean_diag += h[j * n + j];
    mean_diag /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j) h[j * n + j] += f.damp_used * mean_diag;  // the H that f inverts
    // H^-1 = U^T U.
    std::vector<double> hinv(static_cast<size_t>(n * n));
    parallel_for(n, 8, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t k = 0; k <= std::min(i, j); ++k) s += f.u[k * n + i] * f.u[k * n + j];
                hinv[i * n + j] = s;
            }
    });

    std::vector<double> w64(w.begin(), w.end());
    std::vector<int64_t> order(static_cast<size_t>(rows * n));
    std::vector<double> delta(static_cast<size_t>(rows * n));
    parallel_for(rows, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            obs_trajectory(w64.data() + r * n, hinv, dead, n, order.data() + r * n, delta.data() + r * n);
    });
    // Non-decreasing losses per row, then the k cheapest steps of the layer
    // (ties: lower row, then earlier step), which are a prefix of every row.
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t t = 1; t < n; ++t) delta[r * n + t] = std::max(delta[r * n + t], delta[r * n + t - 1]);
    const int64_t total = rows * n;
    const int64_t k = std::clamp<int64_t>(std::llround(o.sparsity * static_cast<double>(total)), 0, total);
    std::vector<int64_t> steps(static_cast<size_t>(total));
    std::iota(steps.begin(), steps.end(), 0);
    auto cheaper = [&](int64_t x, int64_t y) { return delta[x] < delta[y] || (delta[x] == delta[y] && x < y); };
    if (k < total) std::nth_element(steps.begin(), steps.begin() + k, steps.end(), cheaper);
    std::vector<int64_t> count(static_cast<size_t>(rows), 0);
    for (int64_t i = 0; i < k; ++i) ++count[steps[i] / n];

    ObsResult res;
    res.damp_used = f.damp_used;
    res.mask.assign(static_cast<size_t>(total), 0);
    res.weights.assign(static_cast<size_t>(total), 0.0f);
    std::vector<double> row_loss(static_cast<size_t>(rows), 0.0);
    std::atomic<bool> indefinite = false;
    parallel_for(rows, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const double* w0 = w64.data() + r * n;
            std::vector<uint8_t> pruned(static_cast<size_t>(n), 0);
            for (int64_t t = 0; t < count[r]; ++t) pruned[order[r * n + t]] = 1;
            std::vector<int64_t> kept;
            for (int64_t j = 0; j < n; ++j)
                if (!pruned[j]) kept.push_back(j);
            const int64_t nk = static_cast<int64_t>(kept.size());
            // Kept weights: w_K + H_KK^-1 H_KP w_P minimises (w - w0)^T H (w - w0) with w_P = 0.
            std::vector<double> a(static_cast<size_t>(nk * nk)), rhs(static_cast<size_t>(nk), 0.0);
            for (int64_t i = 0; i < nk; ++i) {
                const double* hi = h.data() + kept[i] * n;
                for (int64_t j = 0; j < nk; ++j) a[i * nk + j] = hi[kept[j]];
                if (count[r] > 0)
                    for (int64_t j = 0; j < n; ++j)
                        if (pruned[j]) rhs[i] += hi[j] * w0[j];
            }
            if (count[r] > 0 && nk > 0 && !quant::cholesky_solve(a, nk, rhs)) {
                indefinite = true;
                continue;
            }
            std::vector<double> d(static_cast<size_t>(n));
            for (int64_t j = 0; j < n; ++j) d[j] = pruned[j] ? -w0[j] : 0.0;
            for (int64_t i = 0; i < nk; ++i) {
                d[kept[i]] = count[r] > 0 ? rhs[i] : 0.0;
                res.weights[r * n + kept[i]] = static_cast<float>(w0[kept[i]] + d[kept[i]]);
            }
            for (int64_t j = 0; j < n; ++j) res.mask[r * n + j] = pruned[j];
            double loss = 0;
            for (int64_t i = 0; i < n; ++i) {
                if (d[i] == 0) continue;
                double s = 0;
                for (int64_t j = 0; j < n; ++j) s += h[i * n + j] * d[j];
                loss += d[i] * s;
            }
            row_loss[r] = loss;
        }
    });
    if (indefinite) throw InputError(tensor, "obs: a kept block of the dampened Hessian is not positive definite");
    for (double l : row_loss) res.loss += l;
    return res;
}

}  // namespace tern::prune
