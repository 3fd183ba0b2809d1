// MaxPool (with the optional Indices output), AveragePool and
// GlobalAveragePool over 1-3 spatial dims, float32 (MaxPool also int8 / uint8):
// reference loops with ONNX's pads, strides, dilations, ceil_mode and count_include_pad.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "ops/pool.h"

namespace tern::graph {

namespace {

// Geometry padded to 3 spatial dims (leading unit dims) so one loop nest serves 1-D to 3-D.
struct PoolGeom {
    int64_t planes = 0;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};

PoolGeom pool_geometry(const Node& n, const Tensor& x, Shape& out_shape) {
    const int64_t sr = x.rank() - 2;
    if (sr < 1 || sr > 3) throw n.error("input has " + std::to_string(x.rank()) + " dims; pools need 3 to 5");
    const std::vector<int64_t> kernel = n.attr_ints("kernel_shape", {});
    if (static_cast<int64_t>(kernel.size()) != sr) {
        throw n.error(format("kernel_shape has %zu values, the input has %lld spatial dims", kernel.size(),
                             static_cast<long long>(sr)));
    }
    const std::vector<int64_t> strides = attr_ints_sized(n, "strides", sr, 1);
    const std::vector<int64_t> dil = attr_ints_sized(n, "dilations", sr, 1);
    std::vector<int64_t> ext(sr);
    Shape spatial(x.shape().begin() + 2, x.shape().end());
    for (int64_t i = 0; i < sr; ++i) {
        if (kernel[i] < 1 || kernel[i] > kMaxWindowValue || strides[i] < 1 || dil[i] < 1) throw n.error("kernel, strides and dilations must be >= 1");
        ext[i] = (kernel[i] - 1) * dil[i] + 1;
    }
    const SpatialPads p = spatial_pads(n, spatial, ext, strides);
    const bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
    PoolGeom g;
    g.planes = x.dim(0) * x.dim(1);
    out_shape = {x.dim(0), x.dim(1)};
    const int64_t lead = 3 - sr;
    for (int64_t i = 0; i < 3; ++i) {
        const int64_t j = i - lead;
        if (j < 0) {
            g.in[i] = g.out[i] = g.k[i] = g.s[i] = g.d[i] = 1;
            g.pb[i] = g.pe[i] = 0;
            continue;
        }
        g.in[i] = spatial[j], g.k[i] = kernel[j], g.s[i] = strides[j], g.d[i] = dil[j];
        g.pb[i] = p.begin[j], g.pe[i] = p.end[j];
        const int64_t span = g.in[i] + g.pb[i] + g.pe[i] - ext[j];
        if (span < 0) throw n.error("the pooling window is larger than the padded input " + shape_to_string(x.shape()));
        int64_t o = (ceil_mode ? (span + g.s[i] - 1) / g.s[i] : span / g.s[i]) + 1;
        // A last window that would start in the end padding is dropped (as PyTorch and ONNX Runtime do).
        if (ceil_mode && (o - 1) * g.s[i] >= g.in[i] + g.pb[i]) --o;
        g.out[i] = o;
        out_shape.push_back(o);
    }
    return g;
}

// T: float, or for MaxPool 8-bit codes (ONNX allows them since opset 12; a
// max of codes is the max of their values, so QDQ graphs pool on the codes).
template <bool Max, class T = float>
void pool(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    if constexpr (std::is_same_v<T, float>) require_f32(n, x, "input");
    Shape out_shape;
    const PoolGeom g = pool_geometry(n, x, out_shape);
    const bool include_pad = n.attr_int("count_include_pad", 0) != 0;
    const bool want_indices = Max && n.outputs.size() > 1 && !n.outputs[1].empty();
    if (want_indices && n.attr_int("storage_order", 0) != 0) throw n.error("column-major Indices are not supported");
    Tensor y = Tensor::empty(out_shape, x.dtype());
    Tensor idx = want_indices ? Tensor::empty(out_shape, DType::i64) : Tensor();
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    int64_t o = 0;
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = px + p * in_plane;
        for (int64_t a = 0; a < g.out[0]; ++a)
            for (int64_t b = 0; b < g.out[1]; ++b)
                for (int64_t e = 0; e < g.out[2]; ++e, ++o) {
                    float best = -std::numeric_limits<float>::infinity();
                    int64_t best_at = -1;
                    double sum = 0;
                    int64_t count = 0, padded_count = 0;
                    for (int64_t i = 0; i < g.k[0]; ++i) {
                        const int64_t z = a * g.s[0] - g.pb[0] + i * g.d[0];
                        for (int64_t j = 0; j < g.k[1]; ++j) {
                            const int64_t h = b * g.s[1] - g.pb[1] + j * g.d[1];
                            for (int64_t l = 0; l < g.k[2]; ++l) {
                                const int64_t w = e * g.s[2] - g.pb[2] + l * g.d[2];
                                // Taps in the declared padding count for count_include_pad; ceil_mode's overhang does not.
                                if (z < g.in[0] + g.pe[0] && h < g.in[1] + g.pe[1] && w < g.in[2] + g.pe[2])
                                    ++padded_count;
                                if (z < 0 || z >= g.in[0] || h < 0 || h >= g.in[1] || w < 0 || w >= g.in[2]) continue;
                                const int64_t at = (z * g.in[1] + h) * g.in[2] + w;
                                const float v = static_cast<float>(plane[at]);
                                if constexpr (Max) {
                                    if (v > best || best_at < 0) best = v, best_at = at;
                                } else {
                                    sum += v;
                                    ++count;
                                }
                            }
                        }
                    }
                    if constexpr (Max) {
                        if constexpr (std::is_same_v<T, float>) {
                            py[o] = best;
                        } else {  // a window wholly in the padding has no code to keep
                            py[o] = best_at < 0 ? std::numeric_limits<T>::lowest() : static_cast<T>(best);
                        }
                        if (want_indices) idx.data<int64_t>()[o] = best_at < 0 ? 0 : p * in_plane + best_at;
                    } else {
                        const int64_t div = include_pad ? padded_count : count;
                        py[o] = static_cast<T>(div > 0 ? static_cast<float>(sum / div) : 0.f);
                    }
                }
    }
    c.out[0] = std::move(y);
    if (want_indices) c.out[1] = std::move(idx);
}

void run_max_pool(OpContext& c) {
    switch (c.input(0).dtype()) {
        case DType::u8: return pool<true, uint8_t>(c);
        case DType::i8: return pool<true, int8_t>(c);
        default: return pool<true>(c);  // says what it needs for anything else
    }
}

void run_global_average_pool(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    require_f32(c.node, x, "input");
    if (x.rank() < 3) throw c.node.error("input has " + std::to_string(x.rank()) + " dims; GlobalAveragePool needs >= 3");
    Shape out_shape{x.dim(0), x.dim(1)};
    out_shape.resize(x.rank(), 1);
    const int64_t planes = x.dim(0) * x.dim(1), len = planes ? x.numel() / planes : 0;
    Tensor y = Tensor::empty(out_shape, DType::f32);
    for (int64_t p = 0; p < planes; ++p) y.data<float>()[p] = ops::plane_mean(x.data<float>() + p * len, len);
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> pool_ops() {
    return {{"MaxPool", run_max_pool}, {"AveragePool", pool<false>}, {"GlobalAveragePool", run_global_average_pool}};
}

}  // namespace tern::graph
