#include "quant/hessian_factor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"

namespace tern::quant {
namespace {

// In-place Cholesky a = L L^T of a symmetric (n, n) matrix; L in the lower
// triangle. False when a pivot is not positive.
bool cholesky_lower(std::vector<double>& a, int64_t n) {
    for (int64_t j = 0; j < n; ++j) {
        double* aj = a.data() + j * n;
        double s = aj[j];
        for (int64_t k = 0; k < j; ++k) s -= aj[k] * aj[k];
        if (!(s > 0) || !std::isfinite(s)) return false;
        const double ljj = std::sqrt(s);
        aj[j] = ljj;
        const double inv = 1.0 / ljj;
        ThreadPool& pool = default_pool();
        pool.parallel_for(n - j - 1, 64, [&](int64_t b, int64_t e) {
            for (int64_t i = j + 1 + b; i < j + 1 + e; ++i) {
                double* ai = a.data() + i * n;
                double t = ai[j];
                for (int64_t k = 0; k < j; ++k) t -= ai[k] * aj[k];
                ai[j] = t * inv;
            }
        });
    }
    return true;
}

// U, upper triangular with H^-1 = U^T U, from H (n, n) symmetric positive
// definite: the factor the paper's code gets from cholesky(cholesky_inverse(
// cholesky(H)), upper=True). False when H is not positive definite.
bool upper_cholesky_of_inverse(std::vector<double> h, int64_t n, std::vector<double>& u) {
    if (!cholesky_lower(h, n)) return false;
    // Linv = L^-1 (lower), column by column by forward substitution.
    std::vector<double> linv(static_cast<size_t>(n * n), 0.0);
    default_pool().parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            for (int64_t i = c; i < n; ++i) {
                double s = i == c ? 1.0 : 0.0;
                const double* li = h.data() + i * n;
                for (int64_t k = c; k < i; ++k) s -= li[k] * linv[static_cast<size_t>(k * n + c)];
                linv[static_cast<size_t>(i * n + c)] = s / li[i];
            }
        }
    });
    // Hinv = Linv^T Linv.
    std::vector<double> hinv(static_cast<size_t>(n * n), 0.0);
    default_pool().parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            for (int64_t j = i; j < n; ++j) {
                double s = 0;
                for (int64_t k = j; k < n; ++k) s += linv[static_cast<size_t>(k * n + i)] * linv[static_cast<size_t>(k * n + j)];
                hinv[static_cast<size_t>(i * n + j)] = s;
                hinv[static_cast<size_t>(j * n + i)] = s;
            }
    });
    if (!cholesky_lower(hinv, n)) return false;
    u.assign(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i; j < n; ++j) u[static_cast<size_t>(i * n + j)] = hinv[static_cast<size_t>(j * n + i)];
    return true;
}

}  // namespace

void check_hessian(std::span<const double> hessian, int64_t cols, double damp, const char* where) {
    if (static_cast<int64_t>(hessian.size()) != cols * cols)
        throw InputError(where, "Hessian holds " + std::to_string(hessian.size()) + " values, not " +
                                    std::to_string(cols) + "^2");
    if (!(damp >= 0)) throw InputError(where, "damp must be >= 0");
    for (double v : hessian)
        if (!std::isfinite(v)) throw InputError(where, "the Hessian holds a non-finite value");
}

int64_t drop_dead_inputs(std::vector<double>& h, int64_t n, std::vector<double>& wt, int64_t rows) {
    int64_t dead = 0;
    for (int64_t c = 0; c < n; ++c)
        if (h[static_cast<size_t>(c * n + c)] == 0) {
            h[static_cast<size_t>(c * n + c)] = 1;
            std::fill_n(wt.begin() + c * rows, rows, 0.0);
            ++dead;
        }
    return dead;
}

InverseHessianFactor dampened_inverse_factor(const std::vector<double>& h, int64_t n, double damp, const char* where) {
    double mean_diag = 0;
    for (int64_t i = 0; i < n; ++i) mean_diag += h[static_cast<size_t>(i * n + i)];
    mean_diag /= static_cast<double>(n);
    InverseHessianFactor f;
    for (int attempt = 0;; ++attempt) {
        std::vector<double> hd = h;
        for (int64_t i = 0; i < n; ++i) hd[static_cast<size_t>(i * n + i)] += damp * mean_diag;
        if (upper_cholesky_of_inverse(std::move(hd), n, f.u)) break;
        if (attempt == 3)
            throw InputError(where, "the Hessian is not positive definite even dampened by " + std::to_string(damp) +
                                        " of its mean diagonal");
        damp = damp > 0 ? damp * 10 : 0.01;
    }
    f.damp_used = damp;
    return f;
}

void update_block_columns(std::vector<double>& wt, int64_t rows, int64_t n, const std::vector<double>& u,
                          const double* err_i, int64_t i, int64_t i2) {
    for (int64_t j = i + 1; j < i2; ++j) {
        const double uij = u[static_cast<size_t>(i * n + j)];
        double* wj = wt.data() + j * rows;
        for (int64_t row = 0; row < rows; ++row) wj[row] -= err_i[row] * uij;
    }
}

void update_later_columns(std::vector<double>& wt, int64_t rows, int64_t n, const std::vector<double>& u,
                          const std::vector<double>& err, int64_t i1, int64_t i2) {
    default_pool().parallel_for(n - i2, 8, [&](int64_t b, int64_t e) {
        for (int64_t j = i2 + b; j < i2 + e; ++j) {
            double* wj = wt.data() + j * rows;
            for (int64_t i = i1; i < i2; ++i) {
                const double uij = u[static_cast<size_t>(i * n + j)];
                const double* ei = err.data() + (i - i1) * rows;
                for (int64_t row = 0; row < rows; ++row) wj[row] -= ei[row] * uij;
            }
        }
    });
}

bool cholesky_solve(std::vector<double>& a, int64_t n, std::vector<double>& b) {
    for (int64_t j = 0; j < n; ++j) {
        double d = a[j * n + j];
        for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0)) return false;
        d = std::sqrt(d);
        a[j * n + j] = d;
        for (int64_t i = j + 1; i < n; ++i) {
            double s = a[i * n + j];
            for (int64_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
    }
    for (int64_t i = 0; i < n; ++i) {  // L y = b
        double s = b[i];
        for (int64_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
        b[i] = s / a[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = y
        double s = b[i];
        for (int64_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
        b[i] = s / a[i * n + i];
    }
    return true;
}

}  // namespace tern::quant
