// Pointwise math, float32: Sqrt, Exp, Log, Abs, Neg, Reciprocal, Floor, Ceil,
// Sin, Cos, Erf, HardSwish (Abs and Neg also over signed integers, wrapping as numpy does); and Pow (float or integer base, any numeric
// exponent, numpy broadcasting; the result has the base's type).
#include <cmath>
#include <type_traits>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

template <float (*F)(float)>
void math_unary(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    require_f32(c.node, x, "input");
    Tensor y = Tensor::empty(x.shape(), DType::f32);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const int64_t count = x.numel();
    for (int64_t i = 0; i < count; ++i) py[i] = F(px[i]);
    c.out[0] = std::move(y);
}

float f_sqrt(float v) { return std::sqrt(v); }
float f_exp(float v) { return std::exp(v); }
float f_log(float v) { return std::log(v); }
float f_abs(float v) { return std::fabs(v); }
float f_neg(float v) { return -v; }
float f_reciprocal(float v) { return 1.f / v; }
float f_floor(float v) { return std::floor(v); }
float f_ceil(float v) { return std::ceil(v); }
float f_sin(float v) { return std::sin(v); }
float f_cos(float v) { return std::cos(v); }
float f_erf(float v) { return std::erf(v); }
// x * relu6(x + 3) / 6, as ONNX defines HardSwish (HardSigmoid with alpha 1/6, beta 0.5).
float f_hard_swish(float v) { return v * std::fmax(0.f, std::fmin(1.f, v / 6.f + 0.5f)); }

// Abs and Neg of a signed integer through unsigned arithmetic: -MIN wraps to MIN instead of being undefined.
template <class T, bool Abs>
void signed_int_unary(const Tensor& x, Tensor& y) {
    using U = std::make_unsigned_t<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        const bool negate = !Abs || px[i] < 0;
        py[i] = negate ? static_cast<T>(static_cast<U>(U(0) - static_cast<U>(px[i]))) : px[i];
    }
}

template <float (*F)(float), bool Abs>
void abs_or_neg(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    switch (x.dtype()) {
        case DType::i64: signed_int_unary<int64_t, Abs>(x, y); break;
        case DType::i32: signed_int_unary<int32_t, Abs>(x, y); break;
        case DType::i16: signed_int_unary<int16_t, Abs>(x, y); break;
        case DType::i8: signed_int_unary<int8_t, Abs>(x, y); break;
        default: return math_unary<F>(c);
    }
    c.out[0] = std::move(y);
}

double read_number(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DType::f32: return t.data<float>()[i];
        case DType::f64: return t.data<double>()[i];
        case DType::i32: return t.data<int32_t>()[i];
        default: return static_cast<double>(t.data<int64_t>()[i]);
    }
}

// Integer powers wrap like repeated multiplication (numpy's int pow); a negative exponent gives 0
// except for bases 1 and -1.
int64_t int_pow(int64_t base, double exponent) {
    // Clamped first: the double -> int64 conversion of a huge or NaN exponent would be undefined.
    const int64_t e = std::isnan(exponent) ? 0 : static_cast<int64_t>(std::fmax(-1e18, std::fmin(1e18, exponent)));
    if (e < 0) return base == 1 ? 1 : base == -1 ? (e % 2 ? -1 : 1) : 0;
    uint64_t result = 1, b = static_cast<uint64_t>(base);
    for (uint64_t k = static_cast<uint64_t>(e); k; k >>= 1, b *= b) {
        if (k & 1) result *= b;
    }
    return static_cast<int64_t>(result);
}

void run_pow(OpContext& c) {
    const Node& n = c.node;
    const Tensor a = c.input(0).contiguous();
    const Tensor b = c.input(1).contiguous();
    auto numeric = [](DType d) { return d == DType::f32 || d == DType::f64 || d == DType::i32 || d == DType::i64; };
    if (!numeric(a.dtype()) || !numeric(b.dtype())) {
        throw n.error("base is " + std::string(dtype_name(a.dtype())) + " and exponent " + std::string(dtype_name(b.dtype())) +
                      "; tern's Pow takes float32/64 and int32/64");
    }
    const Shape out_shape = broadcast_shapes(n, a.shape(), b.shape());
    Tensor y = Tensor::empty(out_shape, a.dtype());
    const int64_t total = y.numel();
    if (total == 0) {
        c.out[0] = std::move(y);
        return;
    }
    const auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
    const size_t r = out_shape.size();
    std::vector<int64_t> idx(r, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < total; ++i) {
        const double base = read_number(a, ia), e = read_number(b, ib);
        switch (a.dtype()) {
            // Squares are the common case (variance in LayerNorm); x * x is what runtimes compute for them.
            case DType::f32: {
                const float fb = a.data<float>()[ia];
                y.data<float>()[i] = e == 2.0 ? fb * fb : static_cast<float>(std::pow(base, e));
                break;
            }
            case DType::f64: y.data<double>()[i] = std::pow(base, e); break;
            case DType::i32: y.data<int32_t>()[i] = static_cast<int32_t>(int_pow(a.data<int32_t>()[ia], std::trunc(e))); break;
            default: y.data<int64_t>()[i] = int_pow(a.data<int64_t>()[ia], std::trunc(e)); break;
        }
        for (size_t d = r; d-- > 0;) {
            ia += sa[d];
            ib += sb[d];
            if (++idx[d] < out_shape[d]) break;
            ia -= sa[d] * out_shape[d];
            ib -= sb[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> math_ops() {
    return {
        {"Sqrt", math_unary<f_sqrt>},   {"Exp", math_unary<f_exp>},     {"Log", math_unary<f_log>},
        {"Abs", abs_or_neg<f_abs, true>}, {"Neg", abs_or_neg<f_neg, false>},     {"Reciprocal", math_unary<f_reciprocal>},
        {"Floor", math_unary<f_floor>}, {"Ceil", math_unary<f_ceil>},   {"Sin", math_unary<f_sin>},
        {"Cos", math_unary<f_cos>},     {"Erf", math_unary<f_erf>},     {"HardSwish", math_unary<f_hard_swish>},
        {"Pow", run_pow},
    };
}

}  // namespace tern::graph
