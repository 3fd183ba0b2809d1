// ONNX quantization ops: QuantizeLinear, DequantizeLinear (per tensor and per
// axis, opset 10 / 13), DynamicQuantizeLinear, MatMulInteger, ConvInteger,
// QLinearMatMul, QLinearConv. 8-bit codes, int32 sums (int8_conv.h), then the
// float-scale requantization ONNX Runtime uses on x86 (kernels/requant), so
// outputs are those of ORT, not merely within an LSB of them.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/int8_conv.h"
#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "kernels/requant/requant.h"

namespace tern::graph {

namespace {

bool is_code_dtype(DType t) { return t == DType::i8 || t == DType::u8; }
int32_t code_min(DType t) { return t == DType::i8 ? -128 : 0; }
int32_t code_max(DType t) { return t == DType::i8 ? 127 : 255; }

int32_t int_at(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DType::i8: return t.data<int8_t>()[i];
        case DType::u8: return t.data<uint8_t>()[i];
        default: return t.data<int32_t>()[i];
    }
}

void store_code(Tensor& t, int64_t i, int32_t v) {
    if (t.dtype() == DType::i8) {
        t.data<int8_t>()[i] = static_cast<int8_t>(v);
    } else {
        t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
    }
}

// Scales: f32, finite; `positive` for the ones divided by.
std::vector<float> scale_values(const Node& n, const Tensor& s_in, const char* what, bool positive) {
    const Tensor s = s_in.contiguous();
    if (s.dtype() != DType::f32) throw n.error(std::string(what) + " is " + std::string(dtype_name(s.dtype())) + ", it must be float32");
    if (s.rank() > 1) throw n.error(std::string(what) + " must be a scalar or 1-D, got " + shape_to_string(s.shape()));
    std::vector<float> v(s.data<float>(), s.data<float>() + s.numel());
    if (v.empty()) throw n.error(std::string(what) + " is empty");
    for (float x : v) {
        if (!std::isfinite(x) || (positive && !(x > 0))) {
            throw n.error(format("%s %g is not a %s float", what, x, positive ? "positive finite" : "finite"));
        }
    }
    return v;
}

// Zero points: `count` values of dtype `want` (absent: zeros of `count`).
std::vector<int32_t> zero_values(const Node& n, const Tensor* zp, const char* what, size_t count, DType want) {
    if (!zp) return std::vector<int32_t>(count, 0);
    const Tensor z = zp->contiguous();
    if (z.dtype() != want) {
        throw n.error(format("%s is %s, it must be %s like its data", what, std::string(dtype_name(z.dtype())).c_str(),
                             std::string(dtype_name(want)).c_str()));
    }
    if (z.rank() > 1 || static_cast<size_t>(z.numel()) != count) {
        throw n.error(format("%s has shape %s; it needs %zu value(s)", what, shape_to_string(z.shape()).c_str(), count));
    }
    std::vector<int32_t> v(count);
    for (size_t i = 0; i < count; ++i) v[i] = int_at(z, static_cast<int64_t>(i));
    return v;
}

// A scalar (or one-element) parameter of the QLinear ops.
float one_scale(const Node& n, const Tensor& s, const char* what) {
    const auto v = scale_values(n, s, what, true);
    if (v.size() != 1) throw n.error(format("%s has %zu values; tern's %s needs one (per tensor)", what, v.size(), n.op_type.c_str()));
    return v[0];
}

// Per-tensor or per-axis layout of x for Quantize / DequantizeLinear: element i
// belongs to channel (i / inner) % channels.
struct AxisLayout {
    int64_t channels = 1, inner = 1;
    int64_t channel(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

AxisLayout axis_layout(const Node& n, const Tensor& x, size_t count, const char* what) {
    AxisLayout l;
    if (count == 1) return l;
    const int64_t axis = normalize_axis(n, n.attr_int("axis", 1), std::max(x.rank(), 1));
    if (x.rank() == 0 || x.dim(static_cast<int>(axis)) != static_cast<int64_t>(count)) {
        throw n.error(format("%s has %zu values but the input %s has %lld along axis %lld", what, count,
                             shape_to_string(x.shape()).c_str(), x.rank() ? (long long)x.dim(static_cast<int>(axis)) : 0LL,
                             (long long)axis));
    }
    l.channels = static_cast<int64_t>(count);
    for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) l.inner *= x.dim(d);
    return l;
}

void run_quantize_linear(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    if (x.dtype() != DType::f32 && x.dtype() != DType::i32) {
        throw n.error("input is " + std::string(dtype_name(x.dtype())) + "; QuantizeLinear takes float32 or int32");
    }
    const auto scales = scale_values(n, c.input(1), "y_scale", true);
    const DType out = c.has_input(2) ? c.input(2).dtype() : DType::u8;
    if (!is_code_dtype(out)) throw n.error("y_zero_point is " + std::string(dtype_name(out)) + "; tern quantizes to int8 or uint8");
    const auto zps = zero_values(n, c.has_input(2) ? &c.input(2) : nullptr, "y_zero_point", scales.size(), out);
    const AxisLayout l = axis_layout(n, x, scales.size(), "y_scale");
    Tensor y = Tensor::empty(x.shape(), out);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const float v = x.dtype() == DType::f32 ? x.data<float>()[i] : static_cast<float>(x.data<int32_t>()[i]);
        const int64_t ch = l.channel(i);
        store_code(y, i, quantize_float(v, scales[ch], zps[ch], code_min(out), code_max(out)));
    }
    c.out[0] = std::move(y);
}

void run_dequantize_linear(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    if (!is_code_dtype(x.dtype()) && x.dtype() != DType::i32) {
        throw n.error("input is " + std::string(dtype_name(x.dtype())) + "; DequantizeLinear takes int8, uint8 or int32");
    }
    const auto scales = scale_values(n, c.input(1), "x_scale", false);
    const auto zps = zero_values(n, c.has_input(2) ? &c.input(2) : nullptr, "x_zero_point", scales.size(), x.dtype());
    if (x.dtype() == DType::i32) {
        for (int32_t z : zps) {
            if (z != 0) throw n.error("an int32 input needs zero point 0");
        }
    }
    const AxisLayout l = axis_layout(n, x, scales.size(), "x_scale");
    Tensor y = Tensor::empty(x.shape(), DType::f32);
    float* py = y.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t ch = l.channel(i);
        py[i] = static_cast<float>(int_at(x, i) - zps[ch]) * scales[ch];
    }
    c.out[0] = std::move(y);
}

// uint8 with the range [min(x, 0), max(x, 0)] mapped onto 0..255 (ORT's rules: scale 1 for an all-zero input).
void run_dynamic_quantize_linear(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    require_f32(n, x, "input");
    const float* px = x.data<float>();
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < x.numel(); ++i) {
        if (!std::isfinite(px[i])) throw n.error(format("input element %lld is %g; the range must be finite", (long long)i, px[i]));
        lo = std::min(lo, px[i]);
        hi = std::max(hi, px[i]);
    }
    const float scale = hi == lo ? 1.f : (hi - lo) / 255.f;
    const float zp_real = std::clamp(0.f - lo / scale, 0.f, 255.f);
    const int32_t zp = static_cast<int32_t>(std::nearbyint(zp_real));
    Tensor y = Tensor::empty(x.shape(), DType::u8);
    for (int64_t i = 0; i < x.numel(); ++i) y.data<uint8_t>()[i] = static_cast<uint8_t>(quantize_float(px[i], scale, zp, 0, 255));
    Tensor s = Tensor::empty({}, DType::f32), z = Tensor::empty({}, DType::u8);
    s.data<float>()[0] = scale;
    z.data<uint8_t>()[0] = static_cast<uint8_t>(zp);
    c.out[0] = std::move(y);
    if (c.out.size() > 1) c.out[1] = std::move(s);
    if (c.out.size() > 2) c.out[2] = std::move(z);
}

// A zero point of an integer op: scalar / one value, or `per` values (1-D) when allowed.
std::vector<int32_t> op_zero_points(const Node& n, const OpContext& c, size_t i, const char* what, DType data,
                                    int64_t per) {
    if (!c.has_input(i)) return {0};
    const Tensor& z = c.input(i);
    const size_t count = static_cast<size_t>(z.numel());
    if (count != 1 && static_cast<int64_t>(count) != per) {
        throw n.error(format("%s has shape %s; it needs 1 value or %lld", what, shape_to_string(z.shape()).c_str(), (long long)per));
    }
    return zero_values(n, &z, what, count, data);
}

int64_t rows_of(const Tensor& a) { return a.rank() >= 2 ? a.dim(-2) : 1; }
int64_t cols_of(const Tensor& b) { return b.rank() >= 2 ? b.dim(-1) : 1; }

void run_matmul_integer(OpContext& c) {
    const Node& n = c.node;
    const Tensor &a = c.input(0), &b = c.input(1);
    const auto azp = op_zero_points(n, c, 2, "a_zero_point", a.dtype(), rows_of(a));
    const auto bzp = op_zero_points(n, c, 3, "b_zero_point", b.dtype(), cols_of(b));
    c.out[0] = integer_matmul(n, a, azp, b, bzp);
}

void run_conv_integer(OpContext& c) {
    const Node& n = c.node;
    const Tensor &x = c.input(0), &w = c.input(1);
    const auto xzp = op_zero_points(n, c, 2, "x_zero_point", x.dtype(), 1);
    const auto wzp = op_zero_points(n, c, 3, "w_zero_point", w.dtype(), w.rank() ? w.dim(0) : 1);
    c.out[0] = integer_conv(n, x, xzp[0], w, wzp);
}

// The output's codes from int32 sums laid out (outer, channels, inner), channel ch scaled by scales[ch].
Tensor requantize(const Node& n, const Tensor& acc, const std::vector<float>& scales, int64_t channel_axis,
                  const Tensor& y_zero_point) {
    const DType out = y_zero_point.dtype();
    if (!is_code_dtype(out)) throw n.error("y_zero_point is " + std::string(dtype_name(out)) + ", it must be int8 or uint8");
    if (y_zero_point.numel() != 1) throw n.error("y_zero_point must be one value (per tensor)");
    const int32_t zp = int_at(y_zero_point.contiguous(), 0);
    int64_t channels = 1, inner = 1;
    if (scales.size() > 1) {
        channels = acc.dim(static_cast<int>(channel_axis));
        for (int d = static_cast<int>(channel_axis) + 1; d < acc.rank(); ++d) inner *= acc.dim(d);
    }
    Tensor y = Tensor::empty(acc.shape(), out);
    const int32_t* pa = acc.data<int32_t>();
    const int32_t lo = code_min(out), hi = code_max(out);
    for (int64_t i = 0; i < acc.numel(); ++i) {
        const float s = scales[channels == 1 ? 0 : (i / inner) % channels];
        store_code(y, i, requantize_float(pa[i], s, zp, lo, hi));
    }
    return y;
}

void run_qlinear_matmul(OpContext& c) {
    const Node& n = c.node;
    const Tensor &a = c.input(0), &b = c.input(3);
    const float a_scale = one_scale(n, c.input(1), "a_scale");
    const auto b_scales = scale_values(n, c.input(4), "b_scale", true);
    const float y_scale = one_scale(n, c.input(6), "y_scale");
    const auto azp = zero_values(n, &c.input(2), "a_zero_point", 1, a.dtype());
    const int64_t N = cols_of(b);
    if (b_scales.size() != 1 && static_cast<int64_t>(b_scales.size()) != N) {
        throw n.error(format("b_scale has %zu values; it needs 1 or %lld (one per column)", b_scales.size(), (long long)N));
    }
    const auto bzp = op_zero_points(n, c, 5, "b_zero_point", b.dtype(), N);
    const Tensor acc = integer_matmul(n, a, azp, b, bzp);
    std::vector<float> scales;
    for (float bs : b_scales) scales.push_back(requant_scale(a_scale, bs, y_scale));
    c.out[0] = requantize(n, acc, scales, acc.rank() - 1, c.input(7));
}

void run_qlinear_conv(OpContext& c) {
    const Node& n = c.node;
    const Tensor &x = c.input(0), &w = c.input(3);
    const float x_scale = one_scale(n, c.input(1), "x_scale");
    const auto w_scales = scale_values(n, c.input(4), "w_scale", true);
    const float y_scale = one_scale(n, c.input(6), "y_scale");
    const int64_t O = w.rank() ? w.dim(0) : 0;
    if (w_scales.size() != 1 && static_cast<int64_t>(w_scales.size()) != O) {
        throw n.error(format("w_scale has %zu values; it needs 1 or %lld (one per output channel)", w_scales.size(), (long long)O));
    }
    const auto xzp = zero_values(n, &c.input(2), "x_zero_point", 1, x.dtype());
    const auto wzp = op_zero_points(n, c, 5, "w_zero_point", w.dtype(), O);
    Tensor acc = integer_conv(n, x, xzp[0], w, wzp);
    if (c.has_input(8)) {
        const Tensor bias = c.input(8).contiguous();
        if (bias.dtype() != DType::i32 || bias.rank() != 1 || bias.dim(0) != O) {
            throw n.error(format("bias is %s %s; QLinearConv needs int32 (%lld)", std::string(dtype_name(bias.dtype())).c_str(),
                                 shape_to_string(bias.shape()).c_str(), (long long)O));
        }
        int32_t* pa = acc.data<int32_t>();
        const int64_t inner = acc.numel() / std::max<int64_t>(1, acc.dim(0) * O);
        for (int64_t i = 0; i < acc.numel(); ++i) {
            const int32_t b = bias.data<int32_t>()[(i / inner) % O];
            pa[i] = static_cast<int32_t>(static_cast<uint32_t>(pa[i]) + static_cast<uint32_t>(b));  // wraps like the kernels
        }
    }
    std::vector<float> scales;
    for (float ws : w_scales) scales.push_back(requant_scale(x_scale, ws, y_scale));
    c.out[0] = requantize(n, acc, scales, 1, c.input(7));
}

}  // namespace

std::vector<OpEntry> quant_ops() {
    return {{"QuantizeLinear", run_quantize_linear},   {"DequantizeLinear", run_dequantize_linear},
            {"DynamicQuantizeLinear", run_dynamic_quantize_linear},
            {"MatMulInteger", run_matmul_integer},       {"ConvInteger", run_conv_integer},
            {"QLinearMatMul", run_qlinear_matmul},       {"QLinearConv", run_qlinear_conv}};
}

}  // namespace tern::graph
