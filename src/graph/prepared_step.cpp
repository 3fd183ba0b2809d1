// Prepared kernels of the graph executor. Each computes exactly the reference
// op's arithmetic (same formulas, same order per element), so a prepared run
// equals a reference run bit for bit; what changes is that weights and
// geometry are prepared once, work is threaded and nothing is allocated.
#include "graph/prepared_step.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "graph/fused_activation.h"
#include "graph/op_util.h"
#include "graph/prepared_linear.h"
#include "graph/prepared_qlinear.h"
#include "graph/prepared_resample.h"
#include "ops/conv2d.h"
#include "ops/parallel.h"
#include "ops/pool.h"

namespace tern::graph {

namespace {

bool all_f32(const std::vector<ValueSlot>& slots, const std::vector<int>& ids) {
    for (int v : ids) {
        if (v < 0 || slots[v].dtype != DType::f32) return false;
    }
    return true;
}

const Tensor* f32_initializer(const std::vector<ValueSlot>& slots, int v) {
    if (v < 0 || slots[v].home != ValueSlot::Home::initializer || slots[v].dtype != DType::f32) return nullptr;
    return slots[v].init->is_contiguous() ? slots[v].init : nullptr;
}

// fn(x, y, n) over chunks of an n-element array, threaded when large.
template <class F>
void chunked(int64_t n, int64_t cost, F fn) {
    ops::parallel_items(n, cost, [&](int64_t i0, int64_t i1) { fn(i0, i1); });
}

std::optional<PreparedStep> prepare_conv(const Graph& g, const Node& n, const std::vector<int>& in,
                                         const std::vector<int>& out, const std::vector<ValueSlot>& slots) {
    (void)g;
    if (in.size() < 2 || out.size() != 1 || !all_f32(slots, {in[0], out[0]})) return std::nullopt;
    const Tensor* w = f32_initializer(slots, in[1]);
    const Tensor* b = in.size() > 2 && in[2] >= 0 ? f32_initializer(slots, in[2]) : nullptr;
    if (!w || (in.size() > 2 && in[2] >= 0 && !b)) return std::nullopt;
    const Shape& xs = slots[in[0]].shape;
    if (xs.size() != 4 || w->rank() != 4) return std::nullopt;
    const int64_t O = w->dim(0), KH = w->dim(2), KW = w->dim(3);
    const std::vector<int64_t> strides = attr_ints_sized(n, "strides", 2, 1), dil = attr_ints_sized(n, "dilations", 2, 1);
    if (strides[0] < 1 || strides[1] < 1 || dil[0] < 1 || dil[1] < 1) return std::nullopt;
    const SpatialPads p = spatial_pads(n, {xs[2], xs[3]}, {(KH - 1) * dil[0] + 1, (KW - 1) * dil[1] + 1}, strides);
    if (p.begin != p.end) return std::nullopt;  // asymmetric: the reference pads a copy
    ops::Conv2dParams cp;
    cp.stride_h = strides[0], cp.stride_w = strides[1];
    cp.dilation_h = dil[0], cp.dilation_w = dil[1];
    cp.pad_h = p.begin[0], cp.pad_w = p.begin[1];
    cp.groups = n.attr_int("group", 1);
    std::shared_ptr<ops::Conv2d> conv;
    try {
        conv = std::make_shared<ops::Conv2d>(xs[1], xs[2], xs[3], O, KH, KW, cp, w->data<float>(),
                                             b ? b->data<float>() : nullptr, ops::Conv2d::Weights::copy);
    } catch (const InputError&) {
        return std::nullopt;  // the reference op reports the problem in its own words
    }
    const FusedActivation act = n.op_type == "FusedConv" ? fused_activation_of(n) : FusedActivation{};
    const int64_t N = xs[0], x = in[0], y = out[0];
    const int64_t plane = conv->out_h() * conv->out_w();
    PreparedStep s;
    s.macs = N * O * plane * (xs[1] / cp.groups) * KH * KW;
    s.run = [conv, act, N, x, y, plane, O](RunFrame& f) {
        const size_t need = static_cast<size_t>(conv->scratch_floats(N));
        if (f.scratch.size() < need) f.scratch.resize(need);
        float* py = f.out(static_cast<int>(y));
        conv->run(f.in(static_cast<int>(x)), py, N, f.scratch.data());
        if (act.kind != FusedActivation::Kind::none)
            chunked(N * O, plane, [&](int64_t p0, int64_t p1) { act.apply(py + p0 * plane, (p1 - p0) * plane); });
    };
    return s;
}

// MaxPool on ops::Pool: 2-D, symmetric pads within the kernel's half, no dilation or ceil_mode, no indices.
std::optional<PreparedStep> prepare_max_pool(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                             const std::vector<ValueSlot>& slots) {
    if (in.empty() || out.size() != 1 || !all_f32(slots, {in[0], out[0]})) return std::nullopt;
    const Shape& xs = slots[in[0]].shape;
    if (xs.size() != 4 || n.attr_int("ceil_mode", 0) != 0 || n.attr_int("storage_order", 0) != 0) return std::nullopt;
    if (n.attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1}) return std::nullopt;
    const std::vector<int64_t> k = n.attr_ints("kernel_shape", {});
    if (k.size() != 2) return std::nullopt;
    const std::vector<int64_t> st = attr_ints_sized(n, "strides", 2, 1);
    const SpatialPads p = spatial_pads(n, {xs[2], xs[3]}, k, st);
    if (p.begin != p.end) return std::nullopt;
    ops::Pool2dParams pp{k[0], k[1], st[0], st[1], p.begin[0], p.begin[1]};
    std::shared_ptr<ops::Pool> pool;
    try {
        pool = std::make_shared<ops::Pool>(ops::PoolKind::max, xs[2], xs[3], pp);
    } catch (const InputError&) {
        return std::nullopt;
    }
    if (slots[out[0]].shape != Shape{xs[0], xs[1], pool->out_h(), pool->out_w()}) return std::nullopt;
    const int64_t planes = xs[0] * xs[1], plane_in = xs[2] * xs[3], plane_out = pool->out_h() * pool->out_w();
    const int x = in[0], y = out[0];
    PreparedStep s;
    s.run = [pool, planes, plane_in, plane_out, x, y](RunFrame& f) {
        chunked(planes, plane_in, [&](int64_t p0, int64_t p1) {
            pool->run(f.in(x) + p0 * plane_in, f.out(y) + p0 * plane_out, p1 - p0);
        });
    };
    return s;
}

std::optional<PreparedStep> prepare_global_average_pool(const std::vector<int>& in, const std::vector<int>& out,
                                                        const std::vector<ValueSlot>& slots) {
    if (in.empty() || out.size() != 1 || !all_f32(slots, {in[0], out[0]})) return std::nullopt;
    const Shape& xs = slots[in[0]].shape;
    if (xs.size() < 3) return std::nullopt;
    const int64_t planes = xs[0] * xs[1], len = planes ? shape_numel(xs) / planes : 0;
    const int x = in[0], y = out[0];
    PreparedStep s;
    s.run = [planes, len, x, y](RunFrame& f) {
        const float* px = f.in(x);
        float* py = f.out(y);
        chunked(planes, len, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) py[p] = ops::plane_mean(px + p * len, len);  // the reference's order
        });
    };
    return s;
}

template <class F>
PreparedStep unary_step(int x, int y, int64_t count, F fn) {
    PreparedStep s;
    s.in_place_inputs = {0};
    s.run = [x, y, count, fn](RunFrame& f) {
        const float* px = f.in(x);
        float* py = f.out(y);
        chunked(count, 4, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) py[i] = fn(px[i]);
        });
    };
    return s;
}

std::optional<PreparedStep> prepare_unary(const Graph& g, const Node& n, const std::vector<int>& in,
                                          const std::vector<int>& out, const std::vector<ValueSlot>& slots) {
    if (in.empty() || out.size() != 1 || !all_f32(slots, {in[0], out[0]})) return std::nullopt;
    const int64_t count = shape_numel(slots[in[0]].shape);
    const int x = in[0], y = out[0];
    const std::string& op = n.op_type;
    if (op == "Sigmoid") return unary_step(x, y, count, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    if (op == "Tanh") return unary_step(x, y, count, [](float v) { return std::tanh(v); });
    FusedActivation a;
    const float inf = std::numeric_limits<float>::infinity();
    if (op == "Relu") {
        a.kind = FusedActivation::Kind::relu;
    } else if (op == "LeakyRelu") {
        a = {FusedActivation::Kind::leaky_relu, n.attr_float("alpha", 0.01f), 0};
    } else if (op == "HardSigmoid") {
        a = {FusedActivation::Kind::hard_sigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
    } else if (op == "Clip") {
        a = {FusedActivation::Kind::clip, -inf, inf};
        if (g.opset < 11) {
            a.a = n.attr_float("min", -inf), a.b = n.attr_float("max", inf);
        } else {
            for (size_t k = 1; k < 3; ++k) {
                if (in.size() <= k || in[k] < 0) continue;
                const Tensor* t = f32_initializer(slots, in[k]);
                if (!t || t->numel() != 1) return std::nullopt;
                (k == 1 ? a.a : a.b) = t->data<float>()[0];
            }
        }
    } else {
        return std::nullopt;
    }
    PreparedStep s;  // copied (unless in place), then the activation's vectorizable in-place loop
    s.in_place_inputs = {0};
    s.run = [x, y, count, a](RunFrame& f) {
        const float* px = f.in(x);
        float* py = f.out(y);
        chunked(count, 4, [&](int64_t i0, int64_t i1) {
            if (px != py) std::memcpy(py + i0, px + i0, static_cast<size_t>(i1 - i0) * sizeof(float));
            a.apply(py + i0, i1 - i0);
        });
    };
    return s;
}

std::optional<PreparedStep> prepare_batch_norm(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                               const std::vector<ValueSlot>& slots) {
    if (in.size() < 5 || out.empty() || n.attr_int("training_mode", 0) != 0 || !all_f32(slots, {in[0], out[0]})) return std::nullopt;
    for (size_t k = 1; k < out.size(); ++k) {
        if (out[k] >= 0) return std::nullopt;
    }
    const Shape& xs = slots[in[0]].shape;
    if (xs.size() < 2) return std::nullopt;
    const int64_t C = xs[1];
    const Tensor* p[4];
    for (int k = 0; k < 4; ++k) {
        p[k] = f32_initializer(slots, in[1 + k]);
        if (!p[k] || p[k]->numel() != C) return std::nullopt;
    }
    const float eps = n.attr_float("epsilon", 1e-5f);
    std::vector<float> scale(C), shift(C);
    for (int64_t ch = 0; ch < C; ++ch) {  // as the reference op computes them
        scale[ch] = p[0]->data<float>()[ch] / std::sqrt(p[3]->data<float>()[ch] + eps);
        shift[ch] = p[1]->data<float>()[ch] - scale[ch] * p[2]->data<float>()[ch];
    }
    const int64_t planes = xs[0] * C, len = planes ? shape_numel(xs) / planes : 0;
    const int x = in[0], y = out[0];
    PreparedStep s;
    s.in_place_inputs = {0};
    s.run = [scale, shift, planes, len, C, x, y](RunFrame& f) {
        const float* px = f.in(x);
        float* py = f.out(y);
        chunked(planes, len, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p) {
                const float a = scale[p % C], b = shift[p % C];
                for (int64_t i = 0; i < len; ++i) py[p * len + i] = a * px[p * len + i] + b;
            }
        });
    };
    return s;
}

// How an operand of a binary op is read over an output seen as `planes`
// planes of `len` elements: every element (full), one value (scalar), one
// value per plane (plane: a channel's (C, 1, 1) or a row's (T, 1)), or the
// same `len` values in every plane (tile: a bias along the last axes).
enum class BinaryRead { full, scalar, plane, tile };

template <int Op>
inline float binary_apply(float u, float v) {
    if constexpr (Op == 0) return u + v;
    else if constexpr (Op == 1) return u - v;
    else if constexpr (Op == 2) return u * v;
    else return u / v;
}

template <BinaryRead R>
inline const float* binary_operand_plane(const float* p, int64_t plane, int64_t len) {
    if constexpr (R == BinaryRead::full) return p + plane * len;
    else if constexpr (R == BinaryRead::plane) return p + plane;
    else return p;  // scalar, tile
}

// Planes [p0, p1) of y = a (op) b, `len` elements a plane. One loop per
// (op, reads) so the inner loop is branch-free and vectorizes.
template <int Op, BinaryRead RA, BinaryRead RB>
void binary_planes(const float* pa, const float* pb, float* py, int64_t p0, int64_t p1, int64_t len) {
    constexpr bool a_varies = RA == BinaryRead::full || RA == BinaryRead::tile;
    constexpr bool b_varies = RB == BinaryRead::full || RB == BinaryRead::tile;
    for (int64_t p = p0; p < p1; ++p) {
        const float* ap = binary_operand_plane<RA>(pa, p, len);
        const float* bp = binary_operand_plane<RB>(pb, p, len);
        float* yp = py + p * len;
        if constexpr (a_varies && b_varies) {
            for (int64_t i = 0; i < len; ++i) yp[i] = binary_apply<Op>(ap[i], bp[i]);
        } else if constexpr (a_varies) {
            const float v = *bp;
            for (int64_t i = 0; i < len; ++i) yp[i] = binary_apply<Op>(ap[i], v);
        } else if constexpr (b_varies) {
            const float u = *ap;
            for (int64_t i = 0; i < len; ++i) yp[i] = binary_apply<Op>(u, bp[i]);
        } else {
            const float w = binary_apply<Op>(*ap, *bp);
            for (int64_t i = 0; i < len; ++i) yp[i] = w;
        }
    }
}

using BinaryPlanesFn = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t);

template <int Op, BinaryRead RA>
BinaryPlanesFn binary_planes_for_b(BinaryRead rb) {
    switch (rb) {
        case BinaryRead::full: return binary_planes<Op, RA, BinaryRead::full>;
        case BinaryRead::scalar: return binary_planes<Op, RA, BinaryRead::scalar>;
        case BinaryRead::plane: return binary_planes<Op, RA, BinaryRead::plane>;
        case BinaryRead::tile: break;
    }
    return binary_planes<Op, RA, BinaryRead::tile>;
}

template <int Op>
BinaryPlanesFn binary_planes_for_op(BinaryRead ra, BinaryRead rb) {
    switch (ra) {
        case BinaryRead::full: return binary_planes_for_b<Op, BinaryRead::full>(rb);
        case BinaryRead::scalar: return binary_planes_for_b<Op, BinaryRead::scalar>(rb);
        case BinaryRead::plane: return binary_planes_for_b<Op, BinaryRead::plane>(rb);
        case BinaryRead::tile: break;
    }
    return binary_planes_for_b<Op, BinaryRead::tile>(rb);
}

BinaryPlanesFn binary_planes_for(int op, BinaryRead ra, BinaryRead rb) {
    switch (op) {
        case 0: return binary_planes_for_op<0>(ra, rb);
        case 1: return binary_planes_for_op<1>(ra, rb);
        case 2: return binary_planes_for_op<2>(ra, rb);
        default: return binary_planes_for_op<3>(ra, rb);
    }
}

// An operand's read, and the output dim where its planes start (-1: any split
// serves, as for full and scalar reads). Shapes align right, numpy-style.
struct BinaryOperandRead {
    BinaryRead read;
    int64_t split = -1;
};

std::optional<BinaryOperandRead> binary_operand_read(const Shape& s, const Shape& ys) {
    if (s == ys) return BinaryOperandRead{BinaryRead::full};
    if (shape_numel(s) == 1) return BinaryOperandRead{BinaryRead::scalar};
    if (s.size() > ys.size()) return std::nullopt;
    const size_t r = ys.size();
    Shape full(r - s.size(), 1);
    full.insert(full.end(), s.begin(), s.end());
    // plane: equal to the output up to `split`, ones after; tile: ones up to `split`, equal after.
    size_t equal_prefix = 0, ones_prefix = 0;
    while (equal_prefix < r && full[equal_prefix] == ys[equal_prefix]) ++equal_prefix;
    while (ones_prefix < r && full[ones_prefix] == 1) ++ones_prefix;
    bool ones_after = true, equal_after = true;
    for (size_t d = equal_prefix; d < r; ++d) ones_after = ones_after && full[d] == 1;
    for (size_t d = ones_prefix; d < r; ++d) equal_after = equal_after && full[d] == ys[d];
    if (ones_after) return BinaryOperandRead{BinaryRead::plane, static_cast<int64_t>(equal_prefix)};
    if (equal_after) return BinaryOperandRead{BinaryRead::tile, static_cast<int64_t>(ones_prefix)};
    return std::nullopt;
}

// Add/Sub/Mul/Div of two f32 tensors: each of the output's shape, a scalar,
// constant along the trailing dims (per channel, per row) or repeated over the
// leading ones (a bias), with one split of the output into planes both fit.
std::optional<PreparedStep> prepare_binary(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                           const std::vector<ValueSlot>& slots) {
    if (in.size() != 2 || out.size() != 1 || !all_f32(slots, {in[0], in[1], out[0]})) return std::nullopt;
    const Shape& ys = slots[out[0]].shape;
    const auto ra = binary_operand_read(slots[in[0]].shape, ys), rb = binary_operand_read(slots[in[1]].shape, ys);
    if (!ra || !rb) return std::nullopt;
    if (ra->split >= 0 && rb->split >= 0 && ra->split != rb->split) return std::nullopt;
    const int64_t r = static_cast<int64_t>(ys.size());
    const int64_t split = ra->split >= 0 ? ra->split : rb->split >= 0 ? rb->split : std::min<int64_t>(2, r);
    int64_t planes = 1;
    for (int64_t d = 0; d < split; ++d) planes *= ys[d];
    const int64_t count = shape_numel(ys);
    const int64_t len = planes ? count / planes : 0;
    const int op = n.op_type == "Add" ? 0 : n.op_type == "Sub" ? 1 : n.op_type == "Mul" ? 2 : 3;
    const int a = in[0], b = in[1], y = out[0];
    PreparedStep s;
    if (ra->read == BinaryRead::full) s.in_place_inputs.push_back(0);
    if (rb->read == BinaryRead::full) s.in_place_inputs.push_back(1);
    const BinaryPlanesFn fn = binary_planes_for(op, ra->read, rb->read);
    s.run = [=](RunFrame& f) {
        const float* pa = f.in(a);
        const float* pb = f.in(b);
        float* py = f.out(y);
        chunked(planes, len, [&](int64_t p0, int64_t p1) { fn(pa, pb, py, p0, p1, len); });
    };
    return s;
}

}  // namespace

std::optional<PreparedStep> prepare_step(const Graph& g, const Node& n, const std::vector<int>& in,
                                         const std::vector<int>& out, const std::vector<ValueSlot>& slots) {
    const std::string& op = n.op_type;
    if (op == "Conv" || op == "FusedConv") return prepare_conv(g, n, in, out, slots);
    if (op == "QLinearConv") return prepare_qlinear_conv(n, in, out, slots);
    if (op == "QuantizeLinear") return prepare_quantize_linear(in, out, slots);
    if (op == "DequantizeLinear") return prepare_dequantize_linear(in, out, slots);
    if (op == "MaxPool") {
        std::optional<PreparedStep> f32 = prepare_max_pool(n, in, out, slots);
        return f32 ? f32 : prepare_max_pool_codes(n, in, out, slots);
    }
    if (op == "GlobalAveragePool") return prepare_global_average_pool(in, out, slots);
    if (op == "ConvTranspose") return prepare_conv_transpose(n, in, out, slots);
    if (op == "Resize" || op == "Upsample") return prepare_resize(g, n, in, out, slots);
    if (op == "Concat") return prepare_concat(n, in, out, slots);
    if (op == "Gemm") return prepare_gemm(n, in, out, slots);
    if (op == "MatMul") return prepare_matmul(n, in, out, slots);
    if (op == "BatchNormalization") return prepare_batch_norm(n, in, out, slots);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return prepare_binary(n, in, out, slots);
    if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" ||
        (op == "Dropout" && n.attr_int("training_mode", 0) == 0)) {
        if (in.empty() || in[0] < 0 || out.empty() || out[0] < 0) return std::nullopt;
        for (size_t k = 1; k < out.size(); ++k) {
            if (out[k] >= 0) return std::nullopt;  // Dropout's mask
        }
        if (slots[in[0]].bytes != slots[out[0]].bytes || slots[in[0]].dtype != slots[out[0]].dtype) return std::nullopt;
        PreparedStep s;
        s.alias = true;
        return s;
    }
    return prepare_unary(g, n, in, out, slots);
}

}  // namespace tern::graph
