// Add, Sub, Mul, Div with numpy broadcasting, over float32/64 and int8/16/32/64, uint8
// (integers wrap as numpy's do).
#include <type_traits>

#include "graph/broadcast_loop.h"
#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

enum class BinaryKind { add, sub, mul, div };

template <class T>
T apply(BinaryKind k, T a, T b) {
    if constexpr (std::is_integral_v<T>) {
        // Integers wrap (numpy's behaviour) through unsigned arithmetic, which C++ defines.
        using U = std::conditional_t<sizeof(T) <= 4, uint32_t, uint64_t>;  // no promotion to signed int
        const U ua = static_cast<U>(a), ub = static_cast<U>(b);
        switch (k) {
            case BinaryKind::add: return static_cast<T>(static_cast<U>(ua + ub));
            case BinaryKind::sub: return static_cast<T>(static_cast<U>(ua - ub));
            case BinaryKind::mul: return static_cast<T>(static_cast<U>(ua * ub));
            case BinaryKind::div:
                // A zero divisor and MIN / -1 would trap: a hostile model must not crash the process.
                if (b == 0) return T(0);
                if (std::is_signed_v<T> && b == T(-1)) return static_cast<T>(static_cast<U>(U(0) - ua));
                return static_cast<T>(a / b);
        }
        return a;
    } else {
        switch (k) {
            case BinaryKind::add: return a + b;
            case BinaryKind::sub: return a - b;
            case BinaryKind::mul: return a * b;
            case BinaryKind::div: return a / b;
        }
        return a;
    }
}

template <class T>
void binary_typed(BinaryKind k, const Tensor& a, const Tensor& b, Tensor& out) {
    broadcast_binary<T, T, T>(a, b, out, [k](T x, T y) { return apply(k, x, y); });
}

template <BinaryKind K>
void run_binary(OpContext& c) {
    const Tensor a = c.input(0).contiguous();
    const Tensor b = c.input(1).contiguous();
    if (a.dtype() != b.dtype()) {
        throw c.node.error("inputs are " + std::string(dtype_name(a.dtype())) + " and " +
                           std::string(dtype_name(b.dtype())) + "; " + c.node.op_type + " needs one type");
    }
    Tensor out = Tensor::empty(broadcast_shapes(c.node, a.shape(), b.shape()), a.dtype());
    switch (a.dtype()) {
        case DType::f32: binary_typed<float>(K, a, b, out); break;
        case DType::f64: binary_typed<double>(K, a, b, out); break;
        case DType::i32: binary_typed<int32_t>(K, a, b, out); break;
        case DType::i64: binary_typed<int64_t>(K, a, b, out); break;
        case DType::i16: binary_typed<int16_t>(K, a, b, out); break;
        case DType::i8: binary_typed<int8_t>(K, a, b, out); break;
        case DType::u8: binary_typed<uint8_t>(K, a, b, out); break;
        default:
            throw c.node.error("element type " + std::string(dtype_name(a.dtype())) + " is not supported by tern's " +
                               c.node.op_type);
    }
    c.out[0] = std::move(out);
}

}  // namespace

std::vector<OpEntry> elementwise_ops() {
    return {
        {"Add", run_binary<BinaryKind::add>},
        {"Sub", run_binary<BinaryKind::sub>},
        {"Mul", run_binary<BinaryKind::mul>},
        {"Div", run_binary<BinaryKind::div>},
    };
}

}  // namespace tern::graph
