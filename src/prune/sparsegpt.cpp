#include "prune/sparsegpt.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "quant/hessian_factor.h"

namespace tern::prune {
namespace {
constexpr const char* kSparsegptWhere = "sparsegpt";
}  // namespace

SparseGptResult sparsegpt_prune(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                                const SparseGptOptions& o, const std::string& tensor) {
    if (rows <= 0 || cols <= 0 || static_cast<int64_t>(w.size()) != rows * cols)
        throw InputError(tensor, "weight holds " + std::to_string(w.size()) + " values, not " + std::to_string(rows) +
                                     " x " + std::to_string(cols));
    for (size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i])) throw InputError(tensor, "weight element " + std::to_string(i) + " is not finite");
    quant::check_hessian(hessian, cols, o.damp, kSparsegptWhere);
    if (o.block <= 0) throw InputError(kSparsegptWhere, "block must be > 0");
    if (!o.pattern && !(o.sparsity >= 0 && o.sparsity < 1))
        throw UsageError("--sparsity", "must be in [0, 1), not " + std::to_string(o.sparsity));
    const int m = o.pattern ? o.pattern->m : 1;
    if (o.pattern) {
        check_nm_fits(cols, *o.pattern, tensor);
        if (o.block % m != 0) throw InputError(kSparsegptWhere, "block must be a multiple of M");
    }
    const int64_t n = cols;
    SparseGptResult r;
    // wt: W transposed (cols, rows), so that a column is contiguous.
    std::vector<double> wt(static_cast<size_t>(n * rows));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t c = 0; c < n; ++c) wt[static_cast<size_t>(c * rows + row)] = w[static_cast<size_t>(row * n + c)];
    std::vector<double> h(hessian.begin(), hessian.end());
    r.dead_inputs = quant::drop_dead_inputs(h, n, wt, rows);
    const quant::InverseHessianFactor f = quant::dampened_inverse_factor(h, n, o.damp, kSparsegptWhere);
    const std::vector<double>& u = f.u;  // (n, n) upper, H^-1 = U^T U
    r.damp_used = f.damp_used;
    r.mask.assign(static_cast<size_t>(rows * n), 0);

    std::vector<double> err(static_cast<size_t>(o.block * rows));
    std::vector<float> scores;
    for (int64_t i1 = 0; i1 < n; i1 += o.block) {
        const int64_t i2 = std::min(n, i1 + o.block), count = i2 - i1;
        // mask_t: this block's mask, (count, rows) like wt.
        std::vector<uint8_t> mask_t(static_cast<size_t>(count * rows), 0);
        auto choose = [&](int64_t c0, int64_t width) {
            // Saliency w² / [H^-1]_jj² of columns [c0, c0 + width) as (rows, width).
            scores.assign(static_cast<size_t>(rows * width), 0.0f);
            for (int64_t c = 0; c < width; ++c) {
                const double d = u[static_cast<size_t>((c0 + c) * n + c0 + c)];
                const double* wc = wt.data() + (c0 + c) * rows;
                for (int64_t row = 0; row < rows; ++row)
                    scores[static_cast<size_t>(row * width + c)] = static_cast<float>(wc[row] * wc[row] / (d * d));
            }
            const std::vector<uint8_t> mk = o.pattern ? nm_mask(scores, rows, width, *o.pattern, tensor)
                                                      : unstructured_mask(scores, rows, width, o.sparsity, MaskScope::per_matrix);
            for (int64_t row = 0; row < rows; ++row)
                for (int64_t c = 0; c < width; ++c)
                    mask_t[static_cast<size_t>((c0 + c - i1) * rows + row)] = mk[static_cast<size_t>(row * width + c)];
        };
        if (!o.pattern) choose(i1, count);
        for (int64_t i = i1; i < i2; ++i) {
            if (o.pattern && (i - i1) % m == 0) choose(i, m);
            const double d = u[static_cast<size_t>(i * n + i)];
            double* wi = wt.data() + i * rows;
            double* ei = err.data() + (i - i1) * rows;
            const uint8_t* mi = mask_t.data() + (i - i1) * rows;
            for (int64_t row = 0; row < rows; ++row) {
                const double q = mi[row] ? 0.0 : wi[row];
                ei[row] = (wi[row] - q) / d;
                wi[row] = q;
            }
            quant::update_block_columns(wt, rows, n, u, ei, i, i2);
        }
        for (int64_t c = 0; c < count; ++c)
            for (int64_t row = 0; row < rows; ++row)
                r.mask[static_cast<size_t>(row * n + i1 + c)] = mask_t[static_cast<size_t>(c * rows + row)];
        quant::update_later_columns(wt, rows, n, u, err, i1, i2);
    }
    r.weights.resize(static_cast<size_t>(rows * n));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t c = 0; c < n; ++c)
            r.weights[static_cast<size_t>(row * n + c)] = static_cast<float>(wt[static_cast<size_t>(c * rows + row)]);
    return r;
}

}  // namespace tern::prune
