// Slice, any plain dtype: opset 1-9 take starts/ends/axes as attributes,
// opset 10+ as inputs (with optional axes and steps). Starts and ends clamp
// into the dim the way Python slices do, so INT64_MAX means "to the end".
#include <algorithm>
#include <cstring>
#include <limits>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

struct AxisRange {
    int64_t start = 0, step = 1, count = 0;
};

// ONNX's clamping: negative values count from the end; a negative step may start at dim-1 and stop before 0.
AxisRange axis_range(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (start < 0) start = start < -dim ? -1 : start + dim;
    if (end < 0) end = end < -dim ? -1 : end + dim;
    AxisRange r;
    r.step = step;
    if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
        r.count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = std::clamp<int64_t>(start, -1, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
        // -step cannot overflow: step == INT64_MIN is rejected by the caller.
        r.count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    r.start = start;
    return r;
}

void run_slice(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    const int64_t rank = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    if (c.opset < 10) {
        if (!n.has("starts") || !n.has("ends")) throw n.error("Slice needs the attributes 'starts' and 'ends'");
        starts = n.attr_ints("starts");
        ends = n.attr_ints("ends");
        axes = n.attr_ints("axes");
    } else {
        starts = int_list(n, c.input(1), "starts");
        ends = int_list(n, c.input(2), "ends");
        if (c.has_input(3)) axes = int_list(n, c.input(3), "axes");
        if (c.has_input(4)) steps = int_list(n, c.input(4), "steps");
    }
    if (ends.size() != starts.size()) throw n.error(format("starts has %zu values, ends %zu", starts.size(), ends.size()));
    if (axes.empty() && (c.opset < 10 ? !n.has("axes") : !c.has_input(3))) {
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) {
        throw n.error(format("starts, ends, axes and steps need one value per sliced axis (%zu, %zu, %zu, %zu)",
                             starts.size(), ends.size(), axes.size(), steps.size()));
    }
    std::vector<AxisRange> range(static_cast<size_t>(rank));
    for (int64_t d = 0; d < rank; ++d) range[d] = {0, 1, x.dim(static_cast<int>(d))};
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t a = normalize_axis(n, axes[i], rank);
        if (seen[a]) throw n.error("axes repeat axis " + std::to_string(a));
        seen[a] = true;
        if (steps[i] == 0 || steps[i] == std::numeric_limits<int64_t>::min()) {
            throw n.error("step " + std::to_string(steps[i]) + " is not allowed");
        }
        range[a] = axis_range(x.dim(static_cast<int>(a)), starts[i], ends[i], steps[i]);
    }
    Shape out_shape(static_cast<size_t>(rank));
    for (int64_t d = 0; d < rank; ++d) out_shape[d] = range[d].count;
    Tensor y = Tensor::empty(out_shape, x.dtype());
    const DTypeInfo& info = dtype_info(x.dtype());
    if (info.block_size != 1) throw n.error("block-quantized tensors cannot be sliced");
    const size_t eb = info.block_bytes;
    const int64_t total = y.numel();
    if (total == 0) {
        c.out[0] = std::move(y);
        return;
    }
    const Shape strides = contiguous_strides(x.shape());
    std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d) src += range[d].start * strides[d];
    for (int64_t o = 0; o < total; ++o) {
        std::memcpy(y.raw_data() + o * eb, x.raw_data() + src * eb, eb);
        for (int64_t d = rank; d-- > 0;) {
            src += range[d].step * strides[d];
            if (++idx[d] < out_shape[d]) break;
            src -= range[d].step * strides[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> slice_ops() { return {{"Slice", run_slice}}; }

}  // namespace tern::graph
