// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceSumSquare, float32,
// accumulating in double. Axes are an attribute before opset 18 (ReduceSum:
// before 13) and an optional input after; no axes reduces every dim unless
// noop_with_empty_axes says to pass the input through.
#include <cmath>
#include <limits>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

enum class ReduceKind { mean, sum, max, min, sum_square };

template <ReduceKind K>
void run_reduce(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    require_f32(n, x, "input");
    const int64_t rank = x.rank();
    const bool axes_as_input = c.opset >= 18 || (K == ReduceKind::sum && c.opset >= 13);
    std::vector<int64_t> axes;
    if (axes_as_input) {
        if (c.has_input(1)) axes = int_list(n, c.input(1), "axes");
    } else {
        axes = n.attr_ints("axes");
    }
    const bool keepdims = n.attr_int("keepdims", 1) != 0;
    if (axes.empty() && n.attr_int("noop_with_empty_axes", 0) != 0) {
        c.out[0] = x;
        return;
    }
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    for (int64_t a : axes) {
        const int64_t d = normalize_axis(n, a, rank);
        if (reduced[d]) throw n.error("axes repeat axis " + std::to_string(d));
        reduced[d] = true;
    }
    // Output index of each input element: strides of the kept dims, 0 along reduced ones.
    Shape kept_shape(static_cast<size_t>(rank)), out_shape;
    for (int64_t d = 0; d < rank; ++d) {
        kept_shape[d] = reduced[d] ? 1 : x.dim(static_cast<int>(d));
        if (!reduced[d] || keepdims) out_shape.push_back(kept_shape[d]);
    }
    const std::vector<int64_t> to_out = broadcast_strides(kept_shape, x.shape());
    const int64_t out_count = shape_numel(kept_shape), total = x.numel();
    if (total == 0 && (K == ReduceKind::max || K == ReduceKind::min) && out_count > 0) {
        throw n.error("cannot take the " + std::string(K == ReduceKind::max ? "max" : "min") + " of an empty input");
    }
    const double init = K == ReduceKind::max ? -std::numeric_limits<double>::infinity()
                        : K == ReduceKind::min ? std::numeric_limits<double>::infinity()
                                               : 0.0;
    std::vector<double> acc(static_cast<size_t>(out_count), init);
    const float* px = x.data<float>();
    std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
    int64_t o = 0;
    for (int64_t i = 0; i < total; ++i) {
        const double v = px[i];
        double& a = acc[o];
        if constexpr (K == ReduceKind::max) a = (v > a || std::isnan(v)) ? v : a;
        else if constexpr (K == ReduceKind::min) a = (v < a || std::isnan(v)) ? v : a;
        else if constexpr (K == ReduceKind::sum_square) a += v * v;
        else a += v;
        for (int64_t d = rank; d-- > 0;) {
            o += to_out[d];
            if (++idx[d] < x.dim(static_cast<int>(d))) break;
            o -= to_out[d] * x.dim(static_cast<int>(d));
            idx[d] = 0;
        }
    }
    const int64_t per_output = out_count ? total / out_count : 0;
    Tensor y = Tensor::empty(out_shape, DType::f32);
    float* py = y.data<float>();
    for (int64_t k = 0; k < out_count; ++k) {
        py[k] = static_cast<float>(K == ReduceKind::mean ? acc[k] / static_cast<double>(per_output) : acc[k]);
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> reduce_ops() {
    return {
        {"ReduceMean", run_reduce<ReduceKind::mean>},
        {"ReduceSum", run_reduce<ReduceKind::sum>},
        {"ReduceMax", run_reduce<ReduceKind::max>},
        {"ReduceMin", run_reduce<ReduceKind::min>},
        {"ReduceSumSquare", run_reduce<ReduceKind::sum_square>},
    };
}

}  // namespace tern::graph
