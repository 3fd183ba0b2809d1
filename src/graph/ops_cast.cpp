// Cast and CastLike between the plain element types tern holds (float32/64,
// float16, bfloat16, int8/16/32/64, uint8, bool). Integers go through int64 and
// floats through double, so int64 <-> int32 stays exact; float -> integer
// truncates toward zero and clamps out-of-range values (NaN -> 0) instead of
// the undefined C++ conversion.
#include <cmath>
#include <limits>

#include "core/half.h"
#include "graph/onnx_tensor.h"
#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

bool is_float_type(DType d) { return d == DType::f32 || d == DType::f64 || d == DType::f16 || d == DType::bf16; }

bool castable(DType d) {
    switch (d) {
        case DType::f32: case DType::f64: case DType::f16: case DType::bf16: case DType::i8: case DType::u8:
        case DType::i16: case DType::i32: case DType::i64: case DType::boolean: return true;
        default: return false;
    }
}

double load_float(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DType::f32: return t.data<float>()[i];
        case DType::f64: return t.data<double>()[i];
        case DType::f16: return fp16_to_fp32(t.data<uint16_t>()[i]);
        default: return bf16_to_fp32(t.data<uint16_t>()[i]);
    }
}

int64_t load_int(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DType::i8: return t.data<int8_t>()[i];
        case DType::u8: return t.data<uint8_t>()[i];
        case DType::boolean: return t.data<uint8_t>()[i] != 0;
        case DType::i16: return t.data<int16_t>()[i];
        case DType::i32: return t.data<int32_t>()[i];
        default: return t.data<int64_t>()[i];
    }
}

void store_float(Tensor& t, int64_t i, double v) {
    switch (t.dtype()) {
        case DType::f32: t.data<float>()[i] = static_cast<float>(v); break;
        case DType::f64: t.data<double>()[i] = v; break;
        case DType::f16: t.data<uint16_t>()[i] = fp32_to_fp16(static_cast<float>(v)); break;
        default: t.data<uint16_t>()[i] = fp32_to_bf16(static_cast<float>(v)); break;
    }
}

// Integers wrap to the narrower type (numpy's astype), through unsigned so C++ defines it.
void store_int(Tensor& t, int64_t i, int64_t v) {
    const uint64_t u = static_cast<uint64_t>(v);
    switch (t.dtype()) {
        case DType::i8: t.data<int8_t>()[i] = static_cast<int8_t>(static_cast<uint8_t>(u)); break;
        case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(u); break;
        case DType::boolean: t.data<uint8_t>()[i] = v != 0; break;
        case DType::i16: t.data<int16_t>()[i] = static_cast<int16_t>(static_cast<uint16_t>(u)); break;
        case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(static_cast<uint32_t>(u)); break;
        default: t.data<int64_t>()[i] = v; break;
    }
}

int64_t float_to_int(double v) {
    if (std::isnan(v)) return 0;
    const double t = std::trunc(v);
    if (t <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
    if (t >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(t);
}

Tensor cast_to(const Node& n, const Tensor& src, DType to) {
    const Tensor x = src.contiguous();
    if (!castable(x.dtype())) throw n.error("input is " + std::string(dtype_name(x.dtype())) + ", which tern's Cast does not read");
    if (!castable(to)) throw n.error("target type " + std::string(dtype_name(to)) + " is not one tern's Cast writes");
    if (x.dtype() == to) return x;
    Tensor y = Tensor::empty(x.shape(), to);
    const int64_t count = x.numel();
    const bool from_float = is_float_type(x.dtype()), to_float = is_float_type(to);
    for (int64_t i = 0; i < count; ++i) {
        if (from_float) {
            const double v = load_float(x, i);
            if (to == DType::boolean) store_int(y, i, v != 0.0);
            else if (to_float) store_float(y, i, v);
            else store_int(y, i, float_to_int(v));
        } else {
            const int64_t v = load_int(x, i);
            if (to_float) store_float(y, i, static_cast<double>(v));
            else store_int(y, i, v);
        }
    }
    return y;
}

void run_cast(OpContext& c) {
    if (!c.node.has("to")) throw c.node.error("Cast needs the attribute 'to'");
    const int64_t to = c.node.attr_int("to", 0);
    const std::optional<DType> d = to < 0 || to > 1000 ? std::nullopt : dtype_from_onnx(static_cast<int32_t>(to));
    if (!d) throw c.node.error(format("Cast target type %lld is not one tern holds", static_cast<long long>(to)));
    c.out[0] = cast_to(c.node, c.input(0), *d);
}

void run_cast_like(OpContext& c) { c.out[0] = cast_to(c.node, c.input(0), c.input(1).dtype()); }

}  // namespace

std::vector<OpEntry> cast_ops() { return {{"Cast", run_cast}, {"CastLike", run_cast_like}}; }

}  // namespace tern::graph
