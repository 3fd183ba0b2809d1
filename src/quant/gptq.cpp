#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/gguf_block_codes.h"
#include "formats/gguf_blocks.h"
#include "formats/minifloat.h"
#include "quant/hessian_factor.h"

namespace tern::quant {
namespace {

constexpr const char* kGptqWhere = "gptq";

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

void check_weights(std::span<const float> w, int64_t rows, int64_t cols, int64_t group, const std::string& group_name) {
    if (rows <= 0 || cols <= 0) throw InputError(kGptqWhere, "empty weight");
    if (static_cast<int64_t>(w.size()) != rows * cols)
        throw InputError(kGptqWhere, "weight holds " + std::to_string(w.size()) + " values, not " +
                                     std::to_string(rows) + " x " + std::to_string(cols));
    if (group <= 0 || cols % group != 0)
        throw InputError(kGptqWhere, "input features " + std::to_string(cols) + " are not a multiple of " + group_name +
                                     std::to_string(group));
    for (size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i]))
            throw InputError(kGptqWhere, "weight element " + std::to_string(i) + " is not finite");
}

void check_shapes(std::span<const float> w, int64_t rows, int64_t cols, const IntGroupGrid& grid) {
    if (grid.bits < 2 || grid.bits > 8) throw InputError(kGptqWhere, "bits must be 2..8, not " + std::to_string(grid.bits));
    check_weights(w, rows, cols, grid.group, "the group ");
}

GptqResult empty_result(int64_t rows, int64_t cols, int64_t params_per_row) {
    GptqResult r;
    r.rows = rows;
    r.cols = cols;
    r.codes.assign(static_cast<size_t>(rows * cols), 0);
    r.scales.assign(static_cast<size_t>(rows * params_per_row), 0);
    r.zeros.assign(static_cast<size_t>(rows * params_per_row), 0);
    r.dequantized.assign(static_cast<size_t>(rows * cols), 0.0f);
    return r;
}

void store_params(GptqResult& r, int64_t row, int64_t group_index, const GroupParams& p) {
    const int64_t groups = static_cast<int64_t>(r.scales.size()) / r.rows;
    r.scales[static_cast<size_t>(row * groups + group_index)] = p.d_bits;
    r.zeros[static_cast<size_t>(row * groups + group_index)] = static_cast<uint8_t>(p.z);
}

// The grids GPTQ rounds onto. Each fits one row's group from its current
// values, rounds one weight of it (its code and the value it decodes to) and
// stores the fitted parameters in the result.
struct IntGrid {
    using Params = GroupParams;
    // The paper's code fits a group from the columns as they stood at the start
    // of the lazy block; kept, so tern agrees with it (tests/ref/gptq_ref.py).
    static constexpr bool kFitFromBlockStart = true;
    int levels;
    int64_t group;

    explicit IntGrid(const IntGroupGrid& g) : levels((1 << g.bits) - 1), group(g.group) {}
    GptqResult empty(int64_t rows, int64_t cols) const { return empty_result(rows, cols, cols / group); }
    void fit(const double* x, Params& p) const { p = fit_group(x, group, 1, levels); }
    int round(double x, const Params& p, int64_t, double& value) const {
        const int q = quantize_code(x, p, levels);
        value = dequantize_code(q, p);
        return q;
    }
    void store(GptqResult& r, int64_t row, int64_t g, const Params& p) const { store_params(r, row, g, p); }
    void finish(GptqResult&) const {}
};

// A GGUF block type: ggml's quantizer fits the block, the value table of each
// sub-block (every code through the format's own dequantizer) is the grid.
struct BlockParams {
    std::vector<uint8_t> block;  // the fitted block (its codes are replaced at the end)
    std::vector<float> table;    // (sub-blocks, max_code + 1) decoded values
};

struct GgufGrid {
    using Params = BlockParams;
    // Fit from the columns as they are now: within a lazy block they carry
    // every update so far (a 32-column block never spans two lazy blocks, a
    // 256 one starts one), so the scales fit what is actually rounded.
    static constexpr bool kFitFromBlockStart = false;
    const GgufBlockCodec& c;
    int64_t group;

    explicit GgufGrid(const GgufBlockCodec& codec) : c(codec), group(codec.block) {}
    GptqResult empty(int64_t rows, int64_t cols) const {
        GptqResult r = empty_result(rows, cols, 0);
        r.blocks.assign(static_cast<size_t>(rows * (cols / group)) * c.block_bytes, 0);
        return r;
    }
    void fit(const double* x, Params& p) const {
        float xf[kQK_K];
        for (int64_t k = 0; k < group; ++k) xf[k] = static_cast<float>(x[k]);
        p.block.assign(c.block_bytes, 0);
        c.quantize(xf, p.block.data());
        const int n_codes = c.max_code + 1, subs = c.block / c.sub_block;
        p.table.assign(static_cast<size_t>(subs * n_codes), 0.0f);
        std::vector<uint8_t> probe = p.block;
        uint8_t codes[kQK_K];
        float y[kQK_K];
        for (int q = 0; q < n_codes; ++q) {
            std::fill_n(codes, c.block, static_cast<uint8_t>(q));
            c.set_codes(probe.data(), codes);
            c.dequantize(probe.data(), y);
            for (int s = 0; s < subs; ++s) p.table[static_cast<size_t>(s * n_codes + q)] = y[s * c.sub_block];
        }
    }
    // The nearest entry of the sub-block's table (increasing, decreasing for
    // a negative scale, or constant).
    int round(double x, const Params& p, int64_t k, double& value) const {
        const int top = c.max_code;
        const float* t = p.table.data() + (k / c.sub_block) * (top + 1);
        int q = 0;
        if (t[top] != t[0]) {
            const double at = (x - t[0]) / (double(t[top]) - t[0]) * top;
            q = static_cast<int>(round_half_even(std::clamp(at, 0.0, double(top))));
            if (q > 0 && std::fabs(x - t[q - 1]) < std::fabs(x - t[q])) --q;
            else if (q < top && std::fabs(x - t[q + 1]) < std::fabs(x - t[q])) ++q;
        }
        value = t[q];
        return q;
    }
    void store(GptqResult& r, int64_t row, int64_t g, const Params& p) const {
        std::copy(p.block.begin(), p.block.end(), r.blocks.begin() + (row * (r.cols / group) + g) * c.block_bytes);
    }
    // The chosen codes under the fitted scales: the tensor's final bytes.
    void finish(GptqResult& r) const {
        const int64_t n = r.rows * (r.cols / group);
        for (int64_t b = 0; b < n; ++b)
            c.set_codes(r.blocks.data() + b * c.block_bytes, r.codes.data() + b * group);
    }
};

const GgufBlockCodec& codec_of(const GgufBlockGrid& grid) {
    const GgufBlockCodec* c = gguf_block_codec(grid.type);
    if (!c)
        throw InputError(kGptqWhere, std::string(dtype_name(grid.type)) +
                                     " is not a GGUF block grid GPTQ rounds onto (q4_0, q4_1, q2_k, q3_k, q4_k, q5_k, q6_k)");
    return *c;
}

template <class Grid>
GptqResult gptq_run(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                    const Grid& grid, const GptqOptions& o) {
    check_hessian(hessian, cols, o.damp, kGptqWhere);
    if (o.block <= 0) throw InputError(kGptqWhere, "block must be > 0");
    const int64_t n = cols;
    const int64_t group_size = grid.group;
    GptqResult r = grid.empty(rows, cols);

    // wt: W transposed (cols, rows), so that a column is contiguous.
    std::vector<double> wt(static_cast<size_t>(n * rows));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t c = 0; c < n; ++c) wt[static_cast<size_t>(c * rows + row)] = w[static_cast<size_t>(row * n + c)];
    std::vector<double> h(hessian.begin(), hessian.end());
    r.dead_inputs = drop_dead_inputs(h, n, wt, rows);

    // Static groups (act_order): fitted once from the weights before any update.
    const int64_t n_groups = n / group_size;
    std::vector<typename Grid::Params> static_params;
    std::vector<double> group_x(static_cast<size_t>(group_size));
    if (o.act_order) {
        static_params.resize(static_cast<size_t>(rows * n_groups));
        for (int64_t g = 0; g < n_groups; ++g)
            for (int64_t row = 0; row < rows; ++row) {
                for (int64_t k = 0; k < group_size; ++k)
                    group_x[static_cast<size_t>(k)] = wt[static_cast<size_t>((g * group_size + k) * rows + row)];
                grid.fit(group_x.data(), static_params[static_cast<size_t>(row * n_groups + g)]);
            }
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

    InverseHessianFactor f = dampened_inverse_factor(hp, n, o.damp, kGptqWhere);
    const std::vector<double> u = std::move(f.u);
    r.damp_used = f.damp_used;

    std::vector<typename Grid::Params> current(static_cast<size_t>(rows));
    std::vector<double> err(static_cast<size_t>(o.block * rows));
    std::vector<double> snapshot;
    for (int64_t i1 = 0; i1 < n; i1 += o.block) {
        const int64_t i2 = std::min(n, i1 + o.block);
        if (!o.act_order) snapshot.assign(wp.begin() + i1 * rows, wp.begin() + i2 * rows);
        for (int64_t i = i1; i < i2; ++i) {
            const int64_t col = perm[static_cast<size_t>(i)];
            const int64_t group = col / group_size;
            double* wi = wp.data() + i * rows;
            if (!o.act_order && col % group_size == 0) {
                default_pool().parallel_for(rows, 16, [&](int64_t b, int64_t e) {
                    std::vector<double> x(static_cast<size_t>(group_size));
                    for (int64_t row = b; row < e; ++row) {
                        for (int64_t k = 0; k < group_size; ++k)
                            x[static_cast<size_t>(k)] = Grid::kFitFromBlockStart && i + k < i2
                                                            ? snapshot[static_cast<size_t>((i + k - i1) * rows + row)]
                                                            : wp[static_cast<size_t>((i + k) * rows + row)];
                        grid.fit(x.data(), current[static_cast<size_t>(row)]);
                        grid.store(r, row, group, current[static_cast<size_t>(row)]);
                    }
                });
            }
            const double d = u[static_cast<size_t>(i * n + i)];
            double* ei = err.data() + (i - i1) * rows;
            for (int64_t row = 0; row < rows; ++row) {
                const typename Grid::Params& p = o.act_order ? static_params[static_cast<size_t>(row * n_groups + group)]
                                                             : current[static_cast<size_t>(row)];
                double deq = 0;
                const int q = grid.round(wi[row], p, col % group_size, deq);
                const size_t at = static_cast<size_t>(row * n + col);
                r.codes[at] = static_cast<uint8_t>(q);
                r.dequantized[at] = static_cast<float>(deq);
                r.proxy_loss += (wi[row] - deq) * (wi[row] - deq) / (d * d) / 2;
                ei[row] = (wi[row] - deq) / d;
            }
            update_block_columns(wp, rows, n, u, ei, i, i2);
        }
        update_later_columns(wp, rows, n, u, err, i1, i2);
    }
    if (o.act_order)
        for (int64_t row = 0; row < rows; ++row)
            for (int64_t g = 0; g < n_groups; ++g) grid.store(r, row, g, static_params[static_cast<size_t>(row * n_groups + g)]);
    grid.finish(r);
    return r;
}

template <class Grid>
GptqResult rtn_run(std::span<const float> w, int64_t rows, int64_t cols, const Grid& grid) {
    GptqResult r = grid.empty(rows, cols);
    const int64_t group = grid.group;
    std::vector<double> x(static_cast<size_t>(group));
    typename Grid::Params p;
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t g = 0; g < cols / group; ++g) {
            for (int64_t i = 0; i < group; ++i) x[static_cast<size_t>(i)] = w[static_cast<size_t>(row * cols + g * group + i)];
            grid.fit(x.data(), p);
            grid.store(r, row, g, p);
            for (int64_t i = 0; i < group; ++i) {
                double value = 0;
                const int q = grid.round(x[static_cast<size_t>(i)], p, i, value);
                const size_t at = static_cast<size_t>(row * cols + g * group + i);
                r.codes[at] = static_cast<uint8_t>(q);
                r.dequantized[at] = static_cast<float>(value);
            }
        }
    grid.finish(r);
    return r;
}

}  // namespace

GptqResult rtn_group_quantize(std::span<const float> w, int64_t rows, int64_t cols, const IntGroupGrid& grid) {
    check_shapes(w, rows, cols, grid);
    return rtn_run(w, rows, cols, IntGrid(grid));
}

// The format's own quantizer, block by block: its codes, not a re-rounding on its scales.
GptqResult rtn_group_quantize(std::span<const float> w, int64_t rows, int64_t cols, const GgufBlockGrid& grid) {
    const GgufBlockCodec& c = codec_of(grid);
    check_weights(w, rows, cols, c.block, std::string(dtype_name(grid.type)) + "'s block of ");
    const GgufGrid g(c);
    GptqResult r = g.empty(rows, cols);
    const int64_t n = rows * (cols / c.block);
    for (int64_t b = 0; b < n; ++b) {
        uint8_t* blk = r.blocks.data() + b * c.block_bytes;
        c.quantize(w.data() + b * c.block, blk);
        c.get_codes(blk, r.codes.data() + b * c.block);
        c.dequantize(blk, r.dequantized.data() + b * c.block);
    }
    return r;
}

GptqResult gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                         const IntGroupGrid& grid, const GptqOptions& o) {
    check_shapes(w, rows, cols, grid);
    return gptq_run(w, rows, cols, hessian, IntGrid(grid), o);
}

GptqResult gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                         const GgufBlockGrid& grid, const GptqOptions& o) {
    const GgufBlockCodec& c = codec_of(grid);
    check_weights(w, rows, cols, c.block, std::string(dtype_name(grid.type)) + "'s block of ");
    return gptq_run(w, rows, cols, hessian, GgufGrid(c), o);
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
