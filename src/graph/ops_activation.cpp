// Pointwise activations (Relu, Sigmoid, HardSigmoid, Clip, LeakyRelu, Tanh)
// and Softmax, float32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

template <class F>
void unary(OpContext& c, F f) {
    const Tensor x = c.input(0).contiguous();
    require_f32(c.node, x, "input");
    Tensor y = Tensor::empty(x.shape(), DType::f32);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) py[i] = f(px[i]);
    c.out[0] = std::move(y);
}

void run_relu(OpContext& c) {
    unary(c, [](float v) { return v > 0.f ? v : (v == v ? 0.f : v); });
}
void run_sigmoid(OpContext& c) {
    unary(c, [](float v) { return 1.f / (1.f + std::exp(-v)); });
}
void run_tanh(OpContext& c) {
    unary(c, [](float v) { return std::tanh(v); });
}
void run_leaky_relu(OpContext& c) {
    const float alpha = c.node.attr_float("alpha", 0.01f);
    unary(c, [alpha](float v) { return v >= 0.f ? v : alpha * v; });
}
void run_hard_sigmoid(OpContext& c) {
    const float alpha = c.node.attr_float("alpha", 0.2f), beta = c.node.attr_float("beta", 0.5f);
    unary(c, [alpha, beta](float v) { return std::max(0.f, std::min(1.f, alpha * v + beta)); });
}

float scalar_input(OpContext& c, size_t i, float fallback) {
    if (!c.has_input(i)) return fallback;
    const Tensor t = c.input(i).contiguous();
    require_f32(c.node, t, i == 1 ? "min" : "max");
    if (t.numel() != 1) throw c.node.error("Clip bound must be a scalar, got shape " + shape_to_string(t.shape()));
    return t.data<float>()[0];
}

// Clip of 8-bit codes (opset 12+): bounds of the input's own type, absent ones the type's range.
template <class T>
void clip_codes(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    T bound[2] = {std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max()};
    for (size_t i = 1; i <= 2; ++i) {
        if (!c.has_input(i)) continue;
        const Tensor t = c.input(i).contiguous();
        if (t.dtype() != x.dtype())
            throw c.node.error(format("%s is %s; it must be %s like the input", i == 1 ? "min" : "max",
                                      std::string(dtype_name(t.dtype())).c_str(), std::string(dtype_name(x.dtype())).c_str()));
        if (t.numel() != 1) throw c.node.error("Clip bound must be a scalar, got shape " + shape_to_string(t.shape()));
        bound[i - 1] = t.data<T>()[0];
    }
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) py[i] = std::min(bound[1], std::max(bound[0], px[i]));
    c.out[0] = std::move(y);
}

void run_clip(OpContext& c) {
    if (c.opset >= 12 && c.input(0).dtype() == DType::i8) return clip_codes<int8_t>(c);
    if (c.opset >= 12 && c.input(0).dtype() == DType::u8) return clip_codes<uint8_t>(c);
    // Opset < 11 gives the bounds as attributes, later opsets as optional inputs.
    const float inf = std::numeric_limits<float>::infinity();
    float lo = -inf, hi = inf;
    if (c.opset < 11) {
        lo = c.node.attr_float("min", -inf);
        hi = c.node.attr_float("max", inf);
    } else {
        lo = scalar_input(c, 1, -inf);
        hi = scalar_input(c, 2, inf);
    }
    unary(c, [lo, hi](float v) { return v != v ? v : std::min(hi, std::max(lo, v)); });
}

// Softmax over rows of `inner` elements: before opset 13 the input is read as
// 2-D (dims before axis) x (dims from axis); from 13 on it is one axis.
void run_softmax(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    require_f32(c.node, x, "input");
    const int64_t rank = x.rank();
    const int64_t axis = normalize_axis(c.node, c.node.attr_int("axis", c.opset < 13 ? 1 : -1), std::max<int64_t>(rank, 1));
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
        if (d < axis) {
            outer *= x.shape()[d];
        } else if (c.opset < 13 || d == axis) {
            len *= x.shape()[d];
        } else {
            inner *= x.shape()[d];
        }
    }
    Tensor y = Tensor::empty(x.shape(), DType::f32);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t in = 0; in < inner; ++in) {
            const int64_t base = o * len * inner + in;
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t k = 0; k < len; ++k) m = std::max(m, px[base + k * inner]);
            double sum = 0;
            for (int64_t k = 0; k < len; ++k) sum += py[base + k * inner] = std::exp(px[base + k * inner] - m);
            for (int64_t k = 0; k < len; ++k) py[base + k * inner] = static_cast<float>(py[base + k * inner] / sum);
        }
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> activation_ops() {
    return {
        {"Relu", run_relu},   {"Sigmoid", run_sigmoid}, {"Tanh", run_tanh},       {"LeakyRelu", run_leaky_relu},
        {"HardSigmoid", run_hard_sigmoid}, {"Clip", run_clip}, {"Softmax", run_softmax},
    };
}

}  // namespace tern::graph
