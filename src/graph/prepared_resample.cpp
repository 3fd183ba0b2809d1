#include "graph/prepared_resample.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "graph/conv_transpose_plan.h"
#include "graph/resize_plan.h"
#include "ops/parallel.h"

namespace tern::graph {

namespace {

// A contiguous f32 initializer, or nullptr.
const Tensor* resample_f32_initializer(const std::vector<ValueSlot>& slots, int v) {
    if (v < 0 || slots[v].home != ValueSlot::Home::initializer || slots[v].dtype != DType::f32) return nullptr;
    return slots[v].init->is_contiguous() ? slots[v].init : nullptr;
}

bool resample_is_f32(const std::vector<ValueSlot>& slots, int v) { return v >= 0 && slots[v].dtype == DType::f32; }

}  // namespace

std::optional<PreparedStep> prepare_conv_transpose(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                   const std::vector<ValueSlot>& slots) {
    if (in.size() < 2 || out.size() != 1 || !resample_is_f32(slots, in[0]) || !resample_is_f32(slots, out[0])) return std::nullopt;
    const Tensor* w = resample_f32_initializer(slots, in[1]);
    const bool has_bias = in.size() > 2 && in[2] >= 0;
    const Tensor* b = has_bias ? resample_f32_initializer(slots, in[2]) : nullptr;
    if (!w || (has_bias && !b)) return std::nullopt;
    const Shape& xs = slots[in[0]].shape;
    if (xs.size() < 3 || xs.size() > 5 || w->rank() != static_cast<int>(xs.size())) return std::nullopt;
    const int64_t group = n.attr_int("group", 1);
    if (group < 1 || xs[1] % group != 0 || w->dim(0) != xs[1]) return std::nullopt;
    const ConvTransposeChannels ch{xs[0], xs[1], group, w->dim(1)};
    if (b && b->numel() != ch.out_channels()) return std::nullopt;
    ConvTransposeGeometry geo;
    try {
        geo = conv_transpose_geometry(n, xs, w->shape());
    } catch (const Error&) {
        return std::nullopt;  // the reference op reports the problem in its own words
    }
    Shape ys{ch.batch, ch.out_channels()};
    ys.insert(ys.end(), geo.out.end() - static_cast<int64_t>(xs.size() - 2), geo.out.end());
    const int64_t cols = conv_transpose_cols_floats(geo, ch);
    if (ys != slots[out[0]].shape || cols < 0) return std::nullopt;
    const float* pw = w->data<float>();
    const float* pb = b ? b->data<float>() : nullptr;
    const int x = in[0], y = out[0];
    PreparedStep s;
    s.macs = ch.batch * ch.in_channels * ch.out_per_group * geo.kernel_plane() * geo.in_plane();
    s.run = [geo, ch, cols, pw, pb, x, y](RunFrame& f) {
        if (f.scratch.size() < static_cast<size_t>(cols)) f.scratch.resize(static_cast<size_t>(cols));
        conv_transpose_gemm(geo, ch, f.in(x), pw, pb, f.out(y), f.scratch.data());
    };
    return s;
}

std::optional<PreparedStep> prepare_resize(const Graph& g, const Node& n, const std::vector<int>& in,
                                           const std::vector<int>& out, const std::vector<ValueSlot>& slots) {
    if (in.empty() || out.size() != 1 || !resample_is_f32(slots, in[0]) || !resample_is_f32(slots, out[0])) return std::nullopt;
    // roi / scales / sizes must be constants: their values shape the plan.
    std::vector<const Tensor*> inputs(in.size(), nullptr);
    for (size_t k = 1; k < in.size(); ++k) {
        if (in[k] < 0) continue;
        if (slots[in[k]].home != ValueSlot::Home::initializer) return std::nullopt;
        inputs[k] = slots[in[k]].init;
    }
    std::shared_ptr<const ResizePlan> plan;
    try {
        plan = std::make_shared<const ResizePlan>(plan_resize(n, g.opset, n.op_type == "Upsample", slots[in[0]].shape, inputs));
    } catch (const Error&) {
        return std::nullopt;
    }
    if (plan->out_shape != slots[out[0]].shape) return std::nullopt;
    const int x = in[0], y = out[0];
    const size_t scratch = static_cast<size_t>(2 * plan->scratch_floats());
    PreparedStep s;
    s.run = [plan, scratch, x, y](RunFrame& f) {
        if (f.scratch.size() < scratch) f.scratch.resize(scratch);
        run_resize_plan(*plan, f.in(x), f.out(y), f.scratch.data());
    };
    return s;
}

std::optional<PreparedStep> prepare_concat(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                           const std::vector<ValueSlot>& slots) {
    if (in.empty() || out.size() != 1 || out[0] < 0) return std::nullopt;
    const ValueSlot& ys = slots[out[0]];
    if (dtype_info(ys.dtype).is_block_quantized || ys.shape.empty()) return std::nullopt;
    const int64_t r = static_cast<int64_t>(ys.shape.size());
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return std::nullopt;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= ys.shape[d];
    for (int64_t d = axis + 1; d < r; ++d) inner *= ys.shape[d];
    const int64_t eb = static_cast<int64_t>(dtype_bytes_for(ys.dtype, 1));
    int64_t along = 0;
    for (int v : in) {
        if (v < 0 || slots[v].dtype != ys.dtype || slots[v].shape.size() != ys.shape.size()) return std::nullopt;
        for (int64_t d = 0; d < r; ++d) {
            if (d != axis && slots[v].shape[d] != ys.shape[d]) return std::nullopt;
        }
        along += slots[v].shape[axis];
    }
    if (along != ys.shape[axis] || outer > (int64_t{1} << 20) / static_cast<int64_t>(in.size())) return std::nullopt;
    // Every (outer row, input) piece as copies of at most kConcatChunk bytes,
    // so a channel concat of one image (one outer row) still spreads over threads.
    constexpr int64_t kConcatChunk = int64_t{1} << 16;
    struct Copy {
        int v;
        int64_t from, to, bytes;
    };
    std::vector<Copy> copies;
    const int64_t row = along * inner * eb;
    for (int64_t o = 0; o < outer; ++o) {
        int64_t offset = 0;
        for (int v : in) {
            const int64_t bytes = slots[v].shape[axis] * inner * eb;
            for (int64_t c = 0; c < bytes; c += kConcatChunk)
                copies.push_back({v, o * bytes + c, o * row + offset + c, std::min(kConcatChunk, bytes - c)});
            offset += bytes;
        }
    }
    const int y = out[0];
    PreparedStep s;
    s.run = [copies = std::move(copies), y](RunFrame& f) {
        uint8_t* py = f.write[y];
        ops::parallel_items(static_cast<int64_t>(copies.size()), kConcatChunk / 4, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                const Copy& k = copies[c];
                std::memcpy(py + k.to, f.read[k.v] + k.from, static_cast<size_t>(k.bytes));
            }
        });
    };
    return s;
}

}  // namespace tern::graph
