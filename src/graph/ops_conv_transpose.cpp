// ConvTranspose, float32, 1 to 3 spatial dims (groups, strides, dilations,
// pads, output_padding, output_shape, auto_pad): the GEMM formulation of
// graph/conv_transpose_plan.h; a plain scatter loop where that GEMM's buffer
// would be too large. Fewer than 3 spatial dims run as 3 with the missing ones
// of size 1.
#include <algorithm>

#include "graph/conv_transpose_plan.h"
#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "ops/parallel.h"

namespace tern::graph {

namespace {

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
    const ConvTransposeGeometry g = conv_transpose_geometry(n, x.shape(), w.shape());
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
    const ConvTransposeChannels ch{N, C, group, m_per_group};
    const int64_t cols_floats = conv_transpose_cols_floats(g, ch);
    if (cols_floats >= 0) {
        Tensor y = Tensor::empty(out_shape, DType::f32);
        std::vector<float> cols(static_cast<size_t>(cols_floats));
        conv_transpose_gemm(g, ch, x.data<float>(), w.data<float>(), bias, y.data<float>(), cols.data());
        c.out[0] = std::move(y);
        return;
    }
    // The plain scatter.
    const int64_t in_plane = g.in[0] * g.in[1] * g.in[2], out_plane = g.out[0] * g.out[1] * g.out[2];
    const int64_t k_plane = g.kernel[0] * g.kernel[1] * g.kernel[2];
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
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
    Tensor y = Tensor::zeros(out_shape, DType::f32);
    float* py = y.data<float>();
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
