// Comparisons (Equal, Greater, Less, GreaterOrEqual, LessOrEqual) over numbers
// and booleans, and the boolean ops And, Or, Xor, Not: numpy broadcasting,
// boolean (one byte, 0 or 1) results. Models use them to choose If branches
// and to build masks.
#include <functional>

#include "graph/broadcast_loop.h"
#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

template <class Cmp>
void run_compare(OpContext& c) {
    const Tensor a = c.input(0).contiguous(), b = c.input(1).contiguous();
    if (a.dtype() != b.dtype()) {
        throw c.node.error("inputs are " + std::string(dtype_name(a.dtype())) + " and " + std::string(dtype_name(b.dtype())) +
                           "; " + c.node.op_type + " needs one type");
    }
    Tensor out = Tensor::empty(broadcast_shapes(c.node, a.shape(), b.shape()), DType::boolean);
    const auto cmp = [](auto x, auto y) { return static_cast<uint8_t>(Cmp{}(x, y)); };
    switch (a.dtype()) {
        case DType::f32: broadcast_binary<float, float, uint8_t>(a, b, out, cmp); break;
        case DType::f64: broadcast_binary<double, double, uint8_t>(a, b, out, cmp); break;
        case DType::i64: broadcast_binary<int64_t, int64_t, uint8_t>(a, b, out, cmp); break;
        case DType::i32: broadcast_binary<int32_t, int32_t, uint8_t>(a, b, out, cmp); break;
        case DType::i16: broadcast_binary<int16_t, int16_t, uint8_t>(a, b, out, cmp); break;
        case DType::i8: broadcast_binary<int8_t, int8_t, uint8_t>(a, b, out, cmp); break;
        case DType::u8:
        case DType::boolean: broadcast_binary<uint8_t, uint8_t, uint8_t>(a, b, out, cmp); break;
        default:
            throw c.node.error("element type " + std::string(dtype_name(a.dtype())) + " is not supported by tern's " +
                               c.node.op_type);
    }
    c.out[0] = std::move(out);
}

void require_boolean(const Node& n, const Tensor& t, const char* what) {
    if (t.dtype() != DType::boolean) throw n.error(std::string(what) + " is " + std::string(dtype_name(t.dtype())) + "; " + n.op_type + " needs bool");
}

template <class Op>
void run_logic(OpContext& c) {
    const Tensor a = c.input(0).contiguous(), b = c.input(1).contiguous();
    require_boolean(c.node, a, "A");
    require_boolean(c.node, b, "B");
    Tensor out = Tensor::empty(broadcast_shapes(c.node, a.shape(), b.shape()), DType::boolean);
    broadcast_binary<uint8_t, uint8_t, uint8_t>(a, b, out, [](uint8_t x, uint8_t y) { return static_cast<uint8_t>(Op{}(x != 0, y != 0)); });
    c.out[0] = std::move(out);
}

void run_not(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    require_boolean(c.node, x, "X");
    Tensor y = Tensor::empty(x.shape(), DType::boolean);
    const uint8_t* px = x.data<uint8_t>();
    uint8_t* py = y.data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] == 0;
    c.out[0] = std::move(y);
}

struct LogicalXor {
    bool operator()(bool x, bool y) const { return x != y; }
};

}  // namespace

std::vector<OpEntry> logic_ops() {
    return {
        {"Equal", run_compare<std::equal_to<>>},
        {"Greater", run_compare<std::greater<>>},
        {"Less", run_compare<std::less<>>},
        {"GreaterOrEqual", run_compare<std::greater_equal<>>},
        {"LessOrEqual", run_compare<std::less_equal<>>},
        {"And", run_logic<std::logical_and<>>},
        {"Or", run_logic<std::logical_or<>>},
        {"Xor", run_logic<LogicalXor>},
        {"Not", run_not},
    };
}

}  // namespace tern::graph
