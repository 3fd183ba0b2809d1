#include "graph/conv_transpose_plan.h"

#include <algorithm>
#include <cstring>

#include "graph/op_util.h"
#include "ops/parallel.h"
#include "ops/sgemm.h"

namespace tern::graph {

ConvTransposeGeometry conv_transpose_geometry(const Node& n, const Shape& x, const Shape& w) {
    const size_t sr = x.size() - 2;
    ConvTransposeGeometry g;
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

int64_t conv_transpose_cols_floats(const ConvTransposeGeometry& g, const ConvTransposeChannels& c) {
    constexpr int64_t kMaxCols = int64_t{1} << 26;
    const int64_t rows = c.out_per_group * g.kernel_plane(), in_plane = g.in_plane();
    if (in_plane <= 0 || c.in_per_group() <= 0 || rows <= 0 || rows > kMaxCols / in_plane) return -1;
    return rows * in_plane;
}

void conv_transpose_gemm(const ConvTransposeGeometry& g, const ConvTransposeChannels& c, const float* px, const float* pw,
                         const float* bias, float* py, float* cols) {
    const int64_t in_plane = g.in_plane(), out_plane = g.out_plane(), k_plane = g.kernel_plane();
    const int64_t m_per_group = c.out_per_group, c_per_group = c.in_per_group(), M = c.out_channels();
    const int64_t rows = m_per_group * k_plane;
    const int64_t s2 = g.stride[2], d2 = g.dil[2], p2 = g.pad_begin[2], K2 = g.kernel[2], O2 = g.out[2], I2 = g.in[2];
    for (int64_t b_i = 0; b_i < c.batch; ++b_i)
        for (int64_t grp = 0; grp < c.group; ++grp) {
            ops::sgemm(true, false, rows, in_plane, c_per_group, 1.0f, pw + grp * c_per_group * rows, rows,
                       px + (b_i * c.in_channels + grp * c_per_group) * in_plane, in_plane, 0.0f, cols, in_plane);
            ops::parallel_items(m_per_group, rows * in_plane / m_per_group, [&](int64_t m0, int64_t m1) {
                for (int64_t mo = m0; mo < m1; ++mo) {
                    const int64_t m = grp * m_per_group + mo;
                    float* yout = py + (b_i * M + m) * out_plane;
                    std::memset(yout, 0, static_cast<size_t>(out_plane) * sizeof(float));
                    for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
                        for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
                            for (int64_t k2 = 0; k2 < K2; ++k2) {
                                const float* crow = cols + (mo * k_plane + (k0 * g.kernel[1] + k1) * K2 + k2) * in_plane;
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
}

}  // namespace tern::graph
