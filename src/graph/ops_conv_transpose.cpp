// ConvTranspose, float32, 1 to 3 spatial dims (groups, strides, dilations,
// pads, output_padding, output_shape, auto_pad): a GEMM of the weights and
// the input, then each input pixel's kernel-weighted footprint added to the
// output; a plain scatter loop where that GEMM's buffer would be too large. Fewer
// than 3 spatial dims run as 3 with the missing ones of size 1.
#include <algorithm>

#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "ops/parallel.h"
#include "ops/sgemm.h"

namespace tern::graph {

namespace {

struct Geometry {
    std::vector<int64_t> in, kernel, stride, dil, pad_begin, out;  // per spatial dim
};

// Output size and leading pads per spatial dim, as the ONNX spec defines them.
Geometry geometry(const Node& n, const Shape& x, const Shape& w) {
    const size_t sr = x.size() - 2;
    Geometry g;
    g.in.assign(x.begin() + 2, x.end());
    g.kernel.assign(w.begin() + 2, w.end());
    if (n.has("kernel_shape") && n.attr_ints("kernel_shape") != g.kernel) {
        throw n.error("kernel_shape " + shape_to_string(n.attr_ints("kernel_shape")) + " disagrees with the weight " +
                      shape_to_string(w));
    }
    g.stride = attr_ints_sized(n, "strides", sr, 1);
    g.dil = attr_ints_sized(n, "dilations", sr, 1);
    const auto out_pad = attr_ints_sized(n, "output_padding", sr, 0);
    const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
    std::vector<int64_t> pads = attr_ints_sized(n, "pads", 2 * sr, 0);
    std::vector<int64_t> wanted;
    if (n.has("output_shape")) {
        wanted = n.attr_ints("output_shape");
        if (wanted.size() == sr + 2) wanted.erase(wanted.begin(), wanted.begin() + 2);  // (N, C, ...) also appears
        if (wanted.size() != sr) throw n.error(format("output_shape has %zu values for %zu spatial dims", wanted.size(), sr));
    }
    for (size_t i = 0; i < sr; ++i) {
        if (g.kernel[i] < 1 || g.stride[i] < 1 || g.dil[i] < 1) throw n.error("kernel, strides and dilations must be >= 1");
        if (out_pad[i] < 0 || pads[i] < 0 || pads[i + sr] < 0) throw n.error("pads and output_padding must be >= 0");
        if (!wanted.empty() && (wanted[i] < 1 || wanted[i] > kMaxWindowValue)) throw n.error("output_shape values must be in 1..2^30");
        const int64_t full = g.stride[i] * (g.in[i] - 1) + out_pad[i] + (g.kernel[i] - 1) * g.dil[i] + 1;
        const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
        if (!wanted.empty() || same) {
            const int64_t target = wanted.empty() ? g.in[i] * g.stride[i] : wanted[i];
            // Negative when output_shape asks for more than the full footprint: the extra rows go at the end.
            const int64_t total = full - target;
            const int64_t begin = total <= 0 ? 0 : auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
            pads[i] = begin;
            pads[i + sr] = total - begin;
        } else if (auto_pad != "NOTSET" && auto_pad != "VALID") {
            throw n.error("auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
        }
        const int64_t out = full - pads[i] - pads[i + sr];
        if (out < 1) throw n.error(format("spatial dim %zu of the output would be %lld", i, static_cast<long long>(out)));
        g.pad_begin.push_back(pads[i]);
        g.out.push_back(out);
    }
    while (g.in.size() < 3) {  // pad to 3 spatial dims
        for (auto* v : {&g.in, &g.kernel, &g.stride, &g.dil, &g.out}) v->insert(v->begin(), 1);
        g.pad_begin.insert(g.pad_begin.begin(), 0);
    }
    return g;
}

void run_conv_transpose(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    const Tensor w = c.input(1).contiguous();
    require_f32(n, x, "input");
    require_f32(n, w, "weight");
    if (x.rank() < 3 || x.rank() > 5) throw n.error(format("input has %d dims; ConvTranspose needs 3 to 5", x.rank()));
    if (w.rank() != x.rank()) throw n.error(format("weight has %d dims, the input %d", w.rank(), x.rank()));
    const int64_t group = n.attr_int("group", 1);
    const int64_t N = x.dim(0), C = x.dim(1);
    if (group < 1 || C % group != 0) throw n.error(format("group %lld does not divide the %lld input channels", (long long)group, (long long)C));
    if (w.dim(0) != C) throw n.error(format("weight has %lld input channels, the input %lld", (long long)w.dim(0), (long long)C));
    const int64_t m_per_group = w.dim(1), M = m_per_group * group, c_per_group = C / group;
    const Geometry g = geometry(n, x.shape(), w.shape());
    const float* bias = nullptr;
    Tensor b;
    if (c.has_input(2)) {
        b = c.input(2).contiguous();
        require_f32(n, b, "bias");
        if (b.rank() != 1 || b.dim(0) != M) throw n.error("bias " + shape_to_string(b.shape()) + " needs " + std::to_string(M) + " values");
        bias = b.data<float>();
    }
    Shape out_shape{N, M};
    out_shape.insert(out_shape.end(), g.out.end() - (x.rank() - 2), g.out.end());
    // Strides up to 2^30 are legal, so a tiny hostile model can ask for an output no machine holds.
    double elements = 1;
    for (int64_t d : out_shape) elements *= static_cast<double>(d);
    if (elements > static_cast<double>(int64_t{1} << 32)) throw n.error("output " + shape_to_string(out_shape) + " is too large");
    Tensor y = Tensor::zeros(out_shape, DType::f32);
    const int64_t in_plane = g.in[0] * g.in[1] * g.in[2], out_plane = g.out[0] * g.out[1] * g.out[2];
    const int64_t k_plane = g.kernel[0] * g.kernel[1] * g.kernel[2];
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    float* py = y.data<float>();
    // One task per output plane (image, output channel). Within a plane the
    // loops run (ci, i0, k0, i1, k1, i2, k2): two contributions to one output
    // element share k0 when they share i0 (and k1 when they share i1), so each
    // element still receives its terms in the scatter's (ci, i0, i1, i2, k0,
    // k1, k2) order, and the bits are the plain scatter loop's.
    const int64_t s2 = g.stride[2], d2 = g.dil[2], p2 = g.pad_begin[2], K2 = g.kernel[2], O2 = g.out[2], I2 = g.in[2];
    // Input columns whose every tap lands inside the output row: no bounds checks there.
    const int64_t i2_lo = std::min(I2, (p2 + s2 - 1) / s2);
    const int64_t i2_hi = std::max(i2_lo, std::min(I2, O2 - 1 - (K2 - 1) * d2 + p2 < 0 ? 0 : (O2 - 1 - (K2 - 1) * d2 + p2) / s2 + 1));
    auto scatter_row = [&](const float* xr, const float* wr, float* yr) {
        auto checked = [&](int64_t i2) {
            const float v = xr[i2];
            for (int64_t k2 = 0; k2 < K2; ++k2) {
                const int64_t o2 = i2 * s2 + k2 * d2 - p2;
                if (o2 >= 0 && o2 < O2) yr[o2] += v * wr[k2];
            }
        };
        for (int64_t i2 = 0; i2 < i2_lo; ++i2) checked(i2);
        for (int64_t i2 = i2_lo; i2 < i2_hi; ++i2) {
            const float v = xr[i2];
            float* yo = yr + i2 * s2 - p2;
            for (int64_t k2 = 0; k2 < K2; ++k2) yo[k2 * d2] += v * wr[k2];
        }
        for (int64_t i2 = i2_hi; i2 < I2; ++i2) checked(i2);
    };
    // The usual case: one GEMM per image and group gives every (output
    // channel, tap) row of contributions, cols = W_g^T X_g, which are then
    // added into the output planes tap by tap, the bias last. Past kMaxCols
    // floats of cols (a hostile kernel size) the plain scatter runs instead.
    constexpr int64_t kMaxCols = int64_t{1} << 26;
    const int64_t rows = m_per_group * k_plane;
    if (in_plane > 0 && c_per_group > 0 && rows > 0 && rows * in_plane <= kMaxCols) {
        std::vector<float> cols(static_cast<size_t>(rows * in_plane));
        for (int64_t b_i = 0; b_i < N; ++b_i)
            for (int64_t grp = 0; grp < group; ++grp) {
                ops::sgemm(true, false, rows, in_plane, c_per_group, 1.0f, pw + grp * c_per_group * rows, rows,
                           px + (b_i * C + grp * c_per_group) * in_plane, in_plane, 0.0f, cols.data(), in_plane);
                ops::parallel_items(m_per_group, rows * in_plane / m_per_group, [&](int64_t m0, int64_t m1) {
                    for (int64_t mo = m0; mo < m1; ++mo) {
                        const int64_t m = grp * m_per_group + mo;
                        float* yout = py + (b_i * M + m) * out_plane;
                        for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
                            for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
                                for (int64_t k2 = 0; k2 < K2; ++k2) {
                                    const float* crow = cols.data() + (mo * k_plane + (k0 * g.kernel[1] + k1) * K2 + k2) * in_plane;
                                    // Input columns whose output column is inside the row.
                                    const int64_t off = k2 * d2 - p2;  // o2 = i2 * s2 + off
                                    const int64_t lo = off >= 0 ? 0 : (-off + s2 - 1) / s2;
                                    const int64_t hi = O2 - 1 - off < 0 ? 0 : std::min(I2, (O2 - 1 - off) / s2 + 1);
                                    for (int64_t i0 = 0; i0 < g.in[0]; ++i0) {
                                        const int64_t o0 = i0 * g.stride[0] + k0 * g.dil[0] - g.pad_begin[0];
                                        if (o0 < 0 || o0 >= g.out[0]) continue;
                                        for (int64_t i1 = 0; i1 < g.in[1]; ++i1) {
                                            const int64_t o1 = i1 * g.stride[1] + k1 * g.dil[1] - g.pad_begin[1];
                                            if (o1 < 0 || o1 >= g.out[1]) continue;
                                            const float* cr = crow + (i0 * g.in[1] + i1) * I2;
                                            float* yr = yout + (o0 * g.out[1] + o1) * O2;
                                            for (int64_t i2 = lo; i2 < hi; ++i2) yr[i2 * s2 + off] += cr[i2];
                                        }
                                    }
                                }
                        if (bias)
                            for (int64_t k = 0; k < out_plane; ++k) yout[k] += bias[m];
                    }
                });
            }
        c.out[0] = std::move(y);
        return;
    }
    ops::parallel_items(N * M, c_per_group * in_plane * k_plane, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            const int64_t b_i = p / M, m = p % M, grp = m / m_per_group, mo = m % m_per_group;
            float* yout = py + p * out_plane;
            for (int64_t ci = grp * c_per_group; ci < (grp + 1) * c_per_group; ++ci) {
                const float* xin = px + (b_i * C + ci) * in_plane;
                const float* wk = pw + (ci * m_per_group + mo) * k_plane;
                for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
                    for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
                        const int64_t o0 = i0 * g.stride[0] + k0 * g.dil[0] - g.pad_begin[0];
                        if (o0 < 0 || o0 >= g.out[0]) continue;
                        for (int64_t i1 = 0; i1 < g.in[1]; ++i1) {
                            const float* xr = xin + (i0 * g.in[1] + i1) * I2;
                            for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
                                const int64_t o1 = i1 * g.stride[1] + k1 * g.dil[1] - g.pad_begin[1];
                                if (o1 < 0 || o1 >= g.out[1]) continue;
                                scatter_row(xr, wk + (k0 * g.kernel[1] + k1) * K2, yout + (o0 * g.out[1] + o1) * O2);
                            }
                        }
                    }
            }
            if (bias)
                for (int64_t k = 0; k < out_plane; ++k) yout[k] += bias[m];
        }
    });
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> conv_transpose_ops() { return {{"ConvTranspose", run_conv_transpose}}; }

}  // namespace tern::graph
