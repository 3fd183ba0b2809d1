// Shape ops: reshape/flatten share storage; transpose, concat, slice copy.
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {

int norm_dim(int d, int rank, const char* op) {
    if (d < 0) d += rank;
    if (d < 0 || d >= rank) throw Error(op, format("dim %d out of range for rank %d", d, rank));
    return d;
}

void accumulate(float* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// Sizes of the dims before `dim` (outer) and after it (inner).
void split_at(const Shape& s, int dim, int64_t& outer, int64_t& inner) {
    outer = 1;
    inner = 1;
    for (int i = 0; i < dim; ++i) outer *= s[i];
    for (size_t i = dim + 1; i < s.size(); ++i) inner *= s[i];
}

}  // namespace

Var reshape(const Var& a, const Shape& shape_in) {
    Shape shape = shape_in;
    int64_t known = 1;
    int infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) throw Error("reshape", "more than one -1 in " + shape_to_string(shape_in));
            infer = static_cast<int>(i);
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) shape[infer] = known == 0 ? 0 : a.numel() / known;
    if (shape_numel(shape) != a.numel())
        throw Error("reshape", "cannot reshape " + shape_to_string(a.shape()) + " to " + shape_to_string(shape_in));
    // The gradient is the same numbers in a's shape: handed over, not copied.
    return make_result(a.value().reshape(shape), {a}, [a](const Tensor& gy) { give_grad(a, gy); });
}

Var flatten(const Var& a, int start_dim) {
    start_dim = norm_dim(start_dim, a.rank(), "flatten");
    Shape s(a.shape().begin(), a.shape().begin() + start_dim);
    int64_t rest = 1;
    for (int i = start_dim; i < a.rank(); ++i) rest *= a.shape()[i];
    s.push_back(rest);
    return reshape(a, s);
}

Var transpose(const Var& a, int d0, int d1) {
    d0 = norm_dim(d0, a.rank(), "transpose");
    d1 = norm_dim(d1, a.rank(), "transpose");
    Tensor y = a.value().transpose(d0, d1).contiguous();
    if (d0 == d1) y = y.clone();
    return make_result(y, {a}, [a, d0, d1](const Tensor& gy) {
        Tensor back = gy.transpose(d0, d1).contiguous();
        accumulate(grad_ptr(a), back.data<float>(), back.numel());
    });
}

Var concat(const std::vector<Var>& parts, int dim) {
    if (parts.empty()) throw Error("concat", "no inputs");
    const int rank = parts[0].rank();
    dim = norm_dim(dim, rank, "concat");
    Shape out_shape = parts[0].shape();
    out_shape[dim] = 0;
    for (const Var& p : parts) {
        Shape s = p.shape();
        if (p.rank() != rank) throw Error("concat", "inputs differ in rank");
        s[dim] = out_shape[dim];
        if (s != out_shape) throw Error("concat", "shape " + shape_to_string(p.shape()) + " does not match");
        out_shape[dim] += p.shape()[dim];
    }
    int64_t outer, inner;
    split_at(out_shape, dim, outer, inner);
    Tensor y = Tensor::empty(out_shape);
    float* py = y.data<float>();
    const int64_t row = out_shape[dim] * inner;  // output floats per outer index
    int64_t off = 0;
    std::vector<int64_t> offsets;
    for (const Var& p : parts) {
        const int64_t w = p.shape()[dim] * inner;
        for (int64_t o = 0; o < outer; ++o) std::memcpy(py + o * row + off, p.data() + o * w, sizeof(float) * w);
        offsets.push_back(off);
        off += w;
    }
    return make_result(y, parts, [parts, offsets, outer, row, dim, inner](const Tensor& gy) {
        const float* g = gy.data<float>();
        for (size_t i = 0; i < parts.size(); ++i) {
            float* gp = grad_ptr(parts[i]);
            if (!gp) continue;
            const int64_t w = parts[i].shape()[dim] * inner;
            for (int64_t o = 0; o < outer; ++o) accumulate(gp + o * w, g + o * row + offsets[i], w);
        }
    });
}

Var slice(const Var& a, int dim, int64_t start, int64_t end) {
    dim = norm_dim(dim, a.rank(), "slice");
    const int64_t n = a.shape()[dim];
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0 || end > n || start > end)
        throw Error("slice", format("range [%lld, %lld) out of dim of size %lld", static_cast<long long>(start),
                                    static_cast<long long>(end), static_cast<long long>(n)));
    Shape out_shape = a.shape();
    out_shape[dim] = end - start;
    int64_t outer, inner;
    split_at(a.shape(), dim, outer, inner);
    Tensor y = Tensor::empty(out_shape);
    const int64_t w = (end - start) * inner, row = n * inner, off = start * inner;
    for (int64_t o = 0; o < outer; ++o)
        std::memcpy(y.data<float>() + o * w, a.data() + o * row + off, sizeof(float) * w);
    return make_result(y, {a}, [a, outer, w, row, off](const Tensor& gy) {
        float* ga = grad_ptr(a);
        for (int64_t o = 0; o < outer; ++o) accumulate(ga + o * row + off, gy.data<float>() + o * w, w);
    });
}

}  // namespace tern::nn
