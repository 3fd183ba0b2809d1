#include "quant/awq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/format.h"
#include "ops/sgemm.h"

namespace tern::quant {
namespace {

constexpr const char* kAwqWhere = "awq";

void check_statistics(int64_t cols, std::span<const double> mean_abs, std::span<const double> hessian) {
    if (static_cast<int64_t>(hessian.size()) != cols * cols)
        throw InputError(kAwqWhere, "Hessian holds " + std::to_string(hessian.size()) + " values, not " +
                                     std::to_string(cols) + "^2");
    if (!mean_abs.empty() && static_cast<int64_t>(mean_abs.size()) != cols)
        throw InputError(kAwqWhere, "mean |x| holds " + std::to_string(mean_abs.size()) + " channels, not " +
                                     std::to_string(cols));
    for (double v : hessian)
        if (!std::isfinite(v)) throw InputError(kAwqWhere, "the Hessian holds a non-finite value");
    for (double v : mean_abs)
        if (!std::isfinite(v) || v < 0) throw InputError(kAwqWhere, "mean |x| holds a negative or non-finite value");
}

// sum over rows r of d_r^T H d_r for d = a - b (rows, cols). D·H is one f32
// GEMM (the search compares candidates, it needs ranks, not f64 sums) and the
// final sum is f64; h32 is the Hessian as f32.
double output_error(std::span<const float> a, std::span<const float> b, int64_t rows, int64_t cols,
                    std::span<const float> h32) {
    std::vector<float> d(static_cast<size_t>(rows * cols)), dh(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < d.size(); ++i) d[i] = a[i] - b[i];
    ops::sgemm(false, false, rows, cols, cols, 1.0f, d.data(), cols, h32.data(), cols, 0.0f, dh.data(), cols);
    double total = 0;
    for (size_t i = 0; i < d.size(); ++i) total += double(d[i]) * double(dh[i]);
    return total;
}

// q = the quantizer's reconstruction of w (rows, cols), row by row.
std::vector<float> round_trip_rows(std::span<const float> w, int64_t rows, int64_t cols, const GroupQuantizer& q) {
    std::vector<float> out(w.size());
    default_pool().parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) q.round_trip(w.data() + r * cols, out.data() + r * cols, cols);
    });
    return out;
}

}  // namespace

GroupQuantizer group_quantizer(const IntGroupGrid& grid) {
    return {grid.group, [grid](const float* in, float* out, int64_t n) {
                const GptqResult r = rtn_group_quantize({in, static_cast<size_t>(n)}, 1, n, grid);
                std::copy(r.dequantized.begin(), r.dequantized.end(), out);
            }};
}

GroupQuantizer group_quantizer(const FormatDescriptor& f) {
    return {f.block_size, [&f](const float* in, float* out, int64_t n) {
                std::vector<uint8_t> blocks(f.bytes_for(n));
                f.quantize(in, blocks.data(), n);
                f.dequantize(blocks.data(), out, n);
            }};
}

std::vector<float> scale_columns(const WeightView& w, std::span<const float> s) {
    std::vector<float> out(w.w.begin(), w.w.end());
    for (int64_t r = 0; r < w.rows; ++r)
        for (int64_t c = 0; c < w.cols; ++c) out[static_cast<size_t>(r * w.cols + c)] *= s[static_cast<size_t>(c)];
    return out;
}

std::vector<double> scale_hessian(std::span<const double> hessian, std::span<const float> s) {
    const int64_t n = static_cast<int64_t>(s.size());
    std::vector<double> out(hessian.begin(), hessian.end());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
            out[static_cast<size_t>(i * n + j)] /= double(s[static_cast<size_t>(i)]) * double(s[static_cast<size_t>(j)]);
    return out;
}

AwqScaleSearch awq_search_scales(std::span<const WeightView> linears, std::span<const double> mean_abs,
                                 std::span<const double> hessian, const GroupQuantizer& quantizer, int n_grid) {
    if (linears.empty()) throw InputError(kAwqWhere, "no Linear to scale");
    if (n_grid < 1) throw InputError(kAwqWhere, "n_grid must be >= 1");
    const int64_t cols = linears[0].cols;
    for (const auto& l : linears)
        if (l.cols != cols) throw InputError(kAwqWhere, "Linears sharing an input differ in input features");
    if (static_cast<int64_t>(mean_abs.size()) != cols) throw InputError(kAwqWhere, "mean |x| is missing");
    check_statistics(cols, mean_abs, hessian);
    const std::vector<float> h32(hessian.begin(), hessian.end());

    AwqScaleSearch best;
    double best_loss = std::numeric_limits<double>::infinity();
    std::vector<float> s(static_cast<size_t>(cols));
    for (int i = 0; i < n_grid; ++i) {
        const double alpha = double(i) / n_grid;
        double smax = 0, smin = std::numeric_limits<double>::infinity();
        std::vector<double> sd(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c) {
            sd[static_cast<size_t>(c)] = std::max(std::pow(mean_abs[static_cast<size_t>(c)], alpha), 1e-4);
            smax = std::max(smax, sd[static_cast<size_t>(c)]);
            smin = std::min(smin, sd[static_cast<size_t>(c)]);
        }
        const double norm = std::sqrt(smax * smin);
        for (int64_t c = 0; c < cols; ++c) s[static_cast<size_t>(c)] = static_cast<float>(sd[static_cast<size_t>(c)] / norm);
        double loss = 0;
        for (const auto& l : linears) {
            const std::vector<float> scaled = scale_columns(l, s);
            if (cols % quantizer.group != 0)
                throw InputError(kAwqWhere, "input features " + std::to_string(cols) + " are not a multiple of the block " +
                                             std::to_string(quantizer.group));
            std::vector<float> q = round_trip_rows(scaled, l.rows, l.cols, quantizer);
            for (int64_t r = 0; r < l.rows; ++r)
                for (int64_t c = 0; c < cols; ++c) q[static_cast<size_t>(r * cols + c)] /= s[static_cast<size_t>(c)];
            loss += output_error(l.w, q, l.rows, cols, h32);
        }
        best.losses.push_back(loss);
        if (loss < best_loss) {
            best_loss = loss;
            best.alpha = alpha;
            best.scales = s;
        }
    }
    return best;
}

AwqClip awq_search_clip(const WeightView& w, std::span<const double> hessian, const GroupQuantizer& quantizer,
                        int n_grid, double max_shrink) {
    const int64_t rows = w.rows, cols = w.cols, g = quantizer.group;
    check_statistics(cols, {}, hessian);
    if (g <= 0 || cols % g != 0) throw InputError(kAwqWhere, "input features are not a multiple of the group");
    const int64_t groups = cols / g;
    AwqClip out;
    out.clipped.assign(w.w.begin(), w.w.end());
    out.ratios.assign(static_cast<size_t>(rows * groups), 1.0f);
    const int steps = static_cast<int>(max_shrink * n_grid);
    default_pool().parallel_for(rows, 4, [&](int64_t r0, int64_t r1) {
        std::vector<float> wg(static_cast<size_t>(g)), cur(static_cast<size_t>(g)), q(static_cast<size_t>(g));
        std::vector<double> d(static_cast<size_t>(g));
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t gi = 0; gi < groups; ++gi) {
                const float* src = w.w.data() + r * cols + gi * g;
                std::copy_n(src, g, wg.begin());
                float org_max = 0;
                for (float v : wg) org_max = std::max(org_max, std::abs(v));
                double best_err = std::numeric_limits<double>::infinity();
                float best_max = org_max;
                double best_ratio = 1;
                for (int i = 0; i < steps; ++i) {
                    const double ratio = 1.0 - double(i) / n_grid;
                    const float max_val = static_cast<float>(double(org_max) * ratio);
                    for (int64_t k = 0; k < g; ++k)
                        cur[static_cast<size_t>(k)] = std::clamp(wg[static_cast<size_t>(k)], -max_val, max_val);
                    quantizer.round_trip(cur.data(), q.data(), g);
                    for (int64_t k = 0; k < g; ++k) d[static_cast<size_t>(k)] = double(q[static_cast<size_t>(k)]) - double(wg[static_cast<size_t>(k)]);
                    double err = 0;
                    for (int64_t a = 0; a < g; ++a) {
                        const double* ha = hessian.data() + (gi * g + a) * cols + gi * g;
                        double t = 0;
                        for (int64_t b = 0; b < g; ++b) t += ha[b] * d[static_cast<size_t>(b)];
                        err += d[static_cast<size_t>(a)] * t;
                    }
                    if (err < best_err) {
                        best_err = err;
                        best_max = max_val;
                        best_ratio = ratio;
                    }
                }
                float* dst = out.clipped.data() + r * cols + gi * g;
                for (int64_t k = 0; k < g; ++k) dst[k] = std::clamp(wg[static_cast<size_t>(k)], -best_max, best_max);
                out.ratios[static_cast<size_t>(r * groups + gi)] = static_cast<float>(best_ratio);
            }
    });
    return out;
}

}  // namespace tern::quant
