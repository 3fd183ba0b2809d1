// Elementwise arithmetic with numpy broadcasting, scalar ops, reductions.
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da != db && da != 1 && db != 1)
            throw Error(op, "cannot broadcast " + shape_to_string(a) + " with " + shape_to_string(b));
        out[i] = da == 1 ? db : da;
    }
    return out;
}

// Strides of `s` viewed in the broadcast shape `out` (0 on stretched dims).
Shape broadcast_strides(const Shape& s, const Shape& out) {
    Shape st(out.size(), 0);
    const Shape cs = contiguous_strides(s);
    const size_t lead = out.size() - s.size();
    for (size_t i = 0; i < s.size(); ++i) st[lead + i] = s[i] == 1 ? 0 : cs[i];
    return st;
}

// Calls fn(out_offset, a_offset, b_offset, a_inner_stride, b_inner_stride, n)
// once per row of the last output dim.
template <class F>
void for_each_row(const Shape& out, const Shape& sa, const Shape& sb, F&& fn) {
    const int r = static_cast<int>(out.size());
    if (r == 0) {
        fn(0, 0, 0, 0, 0, 1);
        return;
    }
    const int64_t inner = out[r - 1];
    const int64_t rows = inner == 0 ? 0 : shape_numel(out) / inner;
    std::vector<int64_t> idx(r, 0);
    for (int64_t row = 0; row < rows; ++row) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < r - 1; ++d) {
            oa += idx[d] * sa[d];
            ob += idx[d] * sb[d];
        }
        fn(row * inner, oa, ob, sa[r - 1], sb[r - 1], inner);
        for (int d = r - 2; d >= 0; --d) {
            if (++idx[d] < out[d]) break;
            idx[d] = 0;
        }
    }
}

enum class BinOp { add, sub, mul };

void add_rows(const float* a, const float* b, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

// a + b on equal shapes (residual connections): vectorised loops, and the
// gradient handed to a and copied into b (or added where either has one).
Var add_same_shape(const Var& a, const Var& b) {
    const int64_t n = a.numel();
    Tensor y = Tensor::empty(a.shape());
    add_rows(a.data(), b.data(), y.data<float>(), n);
    return make_result(y, {a, b}, [a, b, n](const Tensor& gy) {
        const float* g = gy.data<float>();
        // b first: once a adopts gy's buffer, a later add into a writes it.
        if (const GradSink gb = grad_sink(b)) {
            if (gb.fresh) std::memcpy(gb.data, g, sizeof(float) * n);
            else add_rows(gb.data, g, gb.data, n);
        }
        give_grad(a, gy);
    });
}

Var binary(const Var& a, const Var& b, BinOp kind, const char* name) {
    if (kind == BinOp::add && a.shape() == b.shape()) return add_same_shape(a, b);
    const Shape out_shape = broadcast_shape(a.shape(), b.shape(), name);
    const Shape sa = broadcast_strides(a.shape(), out_shape);
    const Shape sb = broadcast_strides(b.shape(), out_shape);
    Tensor y = Tensor::empty(out_shape);
    const float* pa = a.data();
    const float* pb = b.data();
    float* py = y.data<float>();
    for_each_row(out_shape, sa, sb, [&](int64_t o, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t n) {
        for (int64_t j = 0; j < n; ++j) {
            const float x0 = pa[oa + j * ia], x1 = pb[ob + j * ib];
            py[o + j] = kind == BinOp::add ? x0 + x1 : kind == BinOp::sub ? x0 - x1 : x0 * x1;
        }
    });
    return make_result(y, {a, b}, [a, b, kind, out_shape, sa, sb](const Tensor& gy) {
        float* ga = grad_ptr(a);
        float* gb = grad_ptr(b);
        const float* g = gy.data<float>();
        const float* pa = a.data();
        const float* pb = b.data();
        // Serial so the reduction over stretched dims has a fixed order.
        for_each_row(out_shape, sa, sb, [&](int64_t o, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t n) {
            for (int64_t j = 0; j < n; ++j) {
                const float gj = g[o + j];
                if (ga) ga[oa + j * ia] += kind == BinOp::mul ? gj * pb[ob + j * ib] : gj;
                if (gb) gb[ob + j * ib] += kind == BinOp::mul ? gj * pa[oa + j * ia] : kind == BinOp::sub ? -gj : gj;
            }
        });
    });
}

}  // namespace

Var add(const Var& a, const Var& b) { return binary(a, b, BinOp::add, "add"); }
Var sub(const Var& a, const Var& b) { return binary(a, b, BinOp::sub, "sub"); }
Var mul(const Var& a, const Var& b) { return binary(a, b, BinOp::mul, "mul"); }

Var add_scalar(const Var& a, float s) {
    Tensor y = Tensor::empty(a.shape());
    const float* x = a.data();
    float* py = y.data<float>();
    for (int64_t i = 0; i < a.numel(); ++i) py[i] = x[i] + s;
    return make_result(y, {a}, [a](const Tensor& gy) {
        float* ga = grad_ptr(a);
        const float* g = gy.data<float>();
        for (int64_t i = 0; i < gy.numel(); ++i) ga[i] += g[i];
    });
}

Var mul_scalar(const Var& a, float s) {
    Tensor y = Tensor::empty(a.shape());
    const float* x = a.data();
    float* py = y.data<float>();
    for (int64_t i = 0; i < a.numel(); ++i) py[i] = x[i] * s;
    return make_result(y, {a}, [a, s](const Tensor& gy) {
        float* ga = grad_ptr(a);
        const float* g = gy.data<float>();
        for (int64_t i = 0; i < gy.numel(); ++i) ga[i] += g[i] * s;
    });
}

namespace {
Var reduce_all(const Var& a, float factor) {
    double s = 0;  // double: sums of many fp32 terms stay accurate
    const float* x = a.data();
    for (int64_t i = 0; i < a.numel(); ++i) s += x[i];
    Tensor y = Tensor::empty({1});
    y.data<float>()[0] = static_cast<float>(s * factor);
    return make_result(y, {a}, [a, factor](const Tensor& gy) {
        float* ga = grad_ptr(a);
        const float g = gy.data<float>()[0] * factor;
        for (int64_t i = 0; i < a.numel(); ++i) ga[i] += g;
    });
}
}  // namespace

Var sum(const Var& a) { return reduce_all(a, 1.0f); }
Var mean(const Var& a) {
    if (a.numel() == 0) throw Error("mean", "mean of an empty tensor");
    return reduce_all(a, 1.0f / static_cast<float>(a.numel()));
}

}  // namespace tern::nn
