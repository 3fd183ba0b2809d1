#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/minifloat.h"

namespace tern::quant {
namespace {

constexpr const char* kWhere = "gptq";

// The per-row, per-group parameters of IntGroupGrid, fitted exactly as the
// int<bits>_asym_g<group> formats fit them (so a stored file decodes to the
// values GPTQ optimised against).
struct GroupParams {
    uint16_t d_bits = 0;
    double d = 0, inv_d = 0;
    int z = 0;
};

GroupParams fit_group(const double* x, int64_t n, int64_t stride, int levels) {
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double v = x[i * stride];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    GroupParams p;
    p.d_bits = fp32_to_fp16(static_cast<float>(std::min<double>((hi - lo) / levels, 65504.0)));
    p.d = fp16_to_fp32(p.d_bits);
    p.inv_d = p.d > 0 ? 1.0 / p.d : 0.0;
    p.z = static_cast<int>(std::clamp(round_half_even(-lo * p.inv_d), 0.0, double(levels)));
    return p;
}

int quantize_code(double x, const GroupParams& p, int levels) {
    const double t = round_half_even(x * p.inv_d);
    return static_cast<int>(std::clamp(t, double(-p.z), double(levels - p.z))) + p.z;
}

double dequantize_code(int q, const GroupParams& p) { return static_cast<double>(q - p.z) * p.d; }

void check_shapes(std::span<const float> w, int64_t rows, int64_t cols, const IntGroupGrid& grid) {
    if (rows <= 0 || cols <= 0) throw InputError(kWhere, "empty weight");
    if (static_cast<int64_t>(w.size()) != rows * cols)
        throw InputError(kWhere, "weight holds " + std::to_string(w.size()) + " values, not " +
                                     std::to_string(rows) + " x " + std::to_string(cols));
    if (grid.bits < 2 || grid.bits > 8) throw InputError(kWhere, "bits must be 2..8, not " + std::to_string(grid.bits));
    if (grid.group <= 0 || cols % grid.group != 0)
        throw InputError(kWhere, "input features " + std::to_string(cols) + " are not a multiple of the group " +
                                     std::to_string(grid.group));
    for (size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i]))
            throw InputError(kWhere, "weight element " + std::to_string(i) + " is not finite");
}

GptqResult empty_result(int64_t rows, int64_t cols, const IntGroupGrid& grid) {
    GptqResult r;
    r.rows = rows;
    r.cols = cols;
    r.codes.assign(static_cast<size_t>(rows * cols), 0);
    r.scales.assign(static_cast<size_t>(rows * (cols / grid.group)), 0);
    r.zeros.assign(static_cast<size_t>(rows * (cols / grid.group)), 0);
    r.dequantized.assign(static_cast<size_t>(rows * cols), 0.0f);
    return r;
}

void store_params(GptqResult& r, int64_t row, int64_t group_index, const GroupParams& p) {
    const int64_t groups = static_cast<int64_t>(r.scales.size()) / r.rows;
    r.scales[static_cast<size_t>(row * groups + group_index)] = p.d_bits;
    r.zeros[static_cast<size_t>(row * groups + group_index)] = static_cast<uint8_t>(p.z);
}

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

GptqResult rtn_group_quantize(std::span<const float> w, int64_t rows, int64_t cols, const IntGroupGrid& grid) {
    check_shapes(w, rows, cols, grid);
    const int levels = (1 << grid.bits) - 1;
    GptqResult r = empty_result(rows, cols, grid);
    std::vector<double> x(static_cast<size_t>(grid.group));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t g = 0; g < cols / grid.group; ++g) {
            for (int64_t i = 0; i < grid.group; ++i) x[static_cast<size_t>(i)] = w[static_cast<size_t>(row * cols + g * grid.group + i)];
            const GroupParams p = fit_group(x.data(), grid.group, 1, levels);
            store_params(r, row, g, p);
            for (int64_t i = 0; i < grid.group; ++i) {
                const int q = quantize_code(x[static_cast<size_t>(i)], p, levels);
                const size_t at = static_cast<size_t>(row * cols + g * grid.group + i);
                r.codes[at] = static_cast<uint8_t>(q);
                r.dequantized[at] = static_cast<float>(dequantize_code(q, p));
            }
        }
    return r;
}

GptqResult gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                         const IntGroupGrid& grid, const GptqOptions& o) {
    check_shapes(w, rows, cols, grid);
    if (static_cast<int64_t>(hessian.size()) != cols * cols)
        throw InputError(kWhere, "Hessian holds " + std::to_string(hessian.size()) + " values, not " +
                                     std::to_string(cols) + "^2");
    if (!(o.damp >= 0) || o.block <= 0) throw InputError(kWhere, "damp must be >= 0 and block > 0");
    for (double v : hessian)
        if (!std::isfinite(v)) throw InputError(kWhere, "the Hessian holds a non-finite value");
    const int levels = (1 << grid.bits) - 1;
    const int64_t n = cols;
    GptqResult r = empty_result(rows, cols, grid);

    // wt: W transposed (cols, rows), so that a column is contiguous.
    std::vector<double> wt(static_cast<size_t>(n * rows));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t c = 0; c < n; ++c) wt[static_cast<size_t>(c * rows + row)] = w[static_cast<size_t>(row * n + c)];
    std::vector<double> h(hessian.begin(), hessian.end());
    for (int64_t c = 0; c < n; ++c)
        if (h[static_cast<size_t>(c * n + c)] == 0) {
            h[static_cast<size_t>(c * n + c)] = 1;
            std::fill_n(wt.begin() + c * rows, rows, 0.0);
            ++r.dead_inputs;
        }

    // Static groups (act_order): fitted once from the weights before any update.
    const int64_t n_groups = n / grid.group;
    std::vector<GroupParams> static_params;
    if (o.act_order) {
        static_params.resize(static_cast<size_t>(rows * n_groups));
        for (int64_t g = 0; g < n_groups; ++g)
            for (int64_t row = 0; row < rows; ++row)
                static_params[static_cast<size_t>(row * n_groups + g)] =
                    fit_group(wt.data() + g * grid.group * rows + row, grid.group, rows, levels);
    }

    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    if (o.act_order)
        std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
            return h[static_cast<size_t>(a * n + a)] > h[static_cast<size_t>(b * n + b)];
        });
    std::vector<double> hp(static_cast<size_t>(n * n));
    std::vector<double> wp(static_cast<size_t>(n * rows));
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j)
            hp[static_cast<size_t>(i * n + j)] = h[static_cast<size_t>(perm[static_cast<size_t>(i)] * n + perm[static_cast<size_t>(j)])];
        std::copy_n(wt.begin() + perm[static_cast<size_t>(i)] * rows, rows, wp.begin() + i * rows);
    }

    double mean_diag = 0;
    for (int64_t i = 0; i < n; ++i) mean_diag += hp[static_cast<size_t>(i * n + i)];
    mean_diag /= static_cast<double>(n);
    std::vector<double> u;
    double damp = o.damp;
    for (int attempt = 0;; ++attempt) {
        std::vector<double> hd = hp;
        for (int64_t i = 0; i < n; ++i) hd[static_cast<size_t>(i * n + i)] += damp * mean_diag;
        if (upper_cholesky_of_inverse(std::move(hd), n, u)) break;
        if (attempt == 3)
            throw InputError(kWhere, "the Hessian is not positive definite even dampened by " + std::to_string(damp) +
                                         " of its mean diagonal");
        damp = damp > 0 ? damp * 10 : 0.01;
    }
    r.damp_used = damp;

    std::vector<GroupParams> current(static_cast<size_t>(rows));
    std::vector<double> err(static_cast<size_t>(o.block * rows));
    std::vector<double> snapshot, group_x(static_cast<size_t>(grid.group));
    for (int64_t i1 = 0; i1 < n; i1 += o.block) {
        const int64_t i2 = std::min(n, i1 + o.block);
        if (!o.act_order) snapshot.assign(wp.begin() + i1 * rows, wp.begin() + i2 * rows);
        for (int64_t i = i1; i < i2; ++i) {
            const int64_t col = perm[static_cast<size_t>(i)];
            const int64_t group = col / grid.group;
            double* wi = wp.data() + i * rows;
            if (!o.act_order && col % grid.group == 0) {
                // As the paper's code does: the group's columns as they stood at
                // the start of this block (earlier blocks' updates, not this one's).
                for (int64_t row = 0; row < rows; ++row) {
                    for (int64_t k = 0; k < grid.group; ++k)
                        group_x[static_cast<size_t>(k)] = i + k < i2 ? snapshot[static_cast<size_t>((i + k - i1) * rows + row)]
                                                                     : wp[static_cast<size_t>((i + k) * rows + row)];
                    current[static_cast<size_t>(row)] = fit_group(group_x.data(), grid.group, 1, levels);
                    store_params(r, row, group, current[static_cast<size_t>(row)]);
                }
            }
            const double d = u[static_cast<size_t>(i * n + i)];
            double* ei = err.data() + (i - i1) * rows;
            for (int64_t row = 0; row < rows; ++row) {
                const GroupParams& p = o.act_order ? static_params[static_cast<size_t>(row * n_groups + group)]
                                                   : current[static_cast<size_t>(row)];
                const int q = quantize_code(wi[row], p, levels);
                const double deq = dequantize_code(q, p);
                const size_t at = static_cast<size_t>(row * n + col);
                r.codes[at] = static_cast<uint8_t>(q);
                r.dequantized[at] = static_cast<float>(deq);
                r.proxy_loss += (wi[row] - deq) * (wi[row] - deq) / (d * d) / 2;
                ei[row] = (wi[row] - deq) / d;
            }
            // Within the block: update the columns after i at once.
            for (int64_t j = i + 1; j < i2; ++j) {
                const double uij = u[static_cast<size_t>(i * n + j)];
                double* wj = wp.data() + j * rows;
                for (int64_t row = 0; row < rows; ++row) wj[row] -= ei[row] * uij;
            }
        }
        // The lazy update of every later column from this block's errors.
        default_pool().parallel_for(n - i2, 8, [&](int64_t b, int64_t e) {
            for (int64_t j = i2 + b; j < i2 + e; ++j) {
                double* wj = wp.data() + j * rows;
                for (int64_t i = i1; i < i2; ++i) {
                    const double uij = u[static_cast<size_t>(i * n + j)];
                    const double* ei = err.data() + (i - i1) * rows;
                    for (int64_t row = 0; row < rows; ++row) wj[row] -= ei[row] * uij;
                }
            }
        });
    }
    if (o.act_order)
        for (int64_t row = 0; row < rows; ++row)
            for (int64_t g = 0; g < n_groups; ++g) store_params(r, row, g, static_params[static_cast<size_t>(row * n_groups + g)]);
    return r;
}

double relative_output_error(std::span<const float> w, std::span<const float> q, int64_t rows, int64_t cols,
                             std::span<const double> hessian) {
    double num = 0, den = 0;
    std::vector<double> dw(static_cast<size_t>(cols)), wr(static_cast<size_t>(cols));
    for (int64_t row = 0; row < rows; ++row) {
        for (int64_t c = 0; c < cols; ++c) {
            wr[static_cast<size_t>(c)] = w[static_cast<size_t>(row * cols + c)];
            dw[static_cast<size_t>(c)] = wr[static_cast<size_t>(c)] - q[static_cast<size_t>(row * cols + c)];
        }
        for (int64_t i = 0; i < cols; ++i) {
            const double* hi = hessian.data() + i * cols;
            double sd = 0, sw = 0;
            for (int64_t j = 0; j < cols; ++j) {
                sd += hi[j] * dw[static_cast<size_t>(j)];
                sw += hi[j] * wr[static_cast<size_t>(j)];
            }
            num += dw[static_cast<size_t>(i)] * sd;
            den += wr[static_cast<size_t>(i)] * sw;
        }
    }
    return den > 0 ? num / den : 0;
}

}  // namespace tern::quant
