// Data-movement ops, any plain dtype: Flatten, Reshape, Transpose, Concat,
// Identity, Constant, Shape, Gather, Unsqueeze, Squeeze.
#include <algorithm>
#include <cstring>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

size_t element_bytes(const Node& n, const Tensor& t) {
    const DTypeInfo& info = dtype_info(t.dtype());
    if (info.block_size != 1) throw n.error("block-quantized tensors cannot be reshaped element-wise");
    return info.block_bytes;
}

Tensor i64_vector(const std::vector<int64_t>& v) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    if (!v.empty()) std::memcpy(t.raw_data(), v.data(), v.size() * 8);
    return t;
}

void run_identity(OpContext& c) { c.out[0] = c.input(0); }

void run_flatten(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    const int64_t r = x.rank();
    int64_t axis = c.node.attr_int("axis", 1);
    if (axis < -r || axis > r) throw c.node.error(format("axis %lld is outside [-%lld, %lld]", (long long)axis, (long long)r, (long long)r));
    if (axis < 0) axis += r;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(static_cast<int>(d));
    c.out[0] = x.reshape({outer, outer ? x.numel() / outer : 0});
}

void run_reshape(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    std::vector<int64_t> shape = int_list(c.node, c.input(1), "shape");
    const bool allow_zero = c.node.attr_int("allowzero", 0) != 0;
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allow_zero) {
            if (static_cast<int64_t>(i) >= x.rank()) throw c.node.error("shape copies dim " + std::to_string(i) + " the input lacks");
            shape[i] = x.dim(static_cast<int>(i));
        }
        if (shape[i] == -1) {
            if (infer_at >= 0) throw c.node.error("shape has more than one -1");
            infer_at = static_cast<int64_t>(i);
        } else if (shape[i] < 0) {
            throw c.node.error("shape has a negative dim " + std::to_string(shape[i]));
        } else {
            known *= shape[i];
        }
    }
    if (infer_at >= 0) {
        if (known == 0 || x.numel() % known != 0) {
            throw c.node.error("cannot infer the -1 dim of " + shape_to_string(shape) + " for input " +
                               shape_to_string(x.shape()));
        }
        shape[infer_at] = x.numel() / known;
    }
    if (shape_numel(shape) != x.numel()) {
        throw c.node.error("input " + shape_to_string(x.shape()) + " cannot be reshaped to " + shape_to_string(shape));
    }
    c.out[0] = x.reshape(shape);
}

void run_transpose(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    const int64_t r = x.rank();
    std::vector<int64_t> perm = c.node.attr_ints("perm", {});
    if (perm.empty()) {
        for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    }
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < r; ++i) {
        if (static_cast<int64_t>(sorted.size()) != r || sorted[i] != i) {
            throw c.node.error("perm is not a permutation of the input's " + std::to_string(r) + " dims");
        }
    }
    Shape out_shape(r);
    for (int64_t i = 0; i < r; ++i) out_shape[i] = x.dim(static_cast<int>(perm[i]));
    Tensor y = Tensor::empty(out_shape, x.dtype());
    const size_t eb = element_bytes(c.node, x);
    const Shape in_strides = contiguous_strides(x.shape());
    const int64_t n = x.numel();
    std::vector<int64_t> idx(r, 0);
    int64_t src = 0;
    for (int64_t o = 0; o < n; ++o) {
        std::memcpy(y.raw_data() + o * eb, x.raw_data() + src * eb, eb);
        for (int64_t d = r; d-- > 0;) {
            src += in_strides[perm[d]];
            if (++idx[d] < out_shape[d]) break;
            src -= in_strides[perm[d]] * out_shape[d];
            idx[d] = 0;
        }
    }
    c.out[0] = std::move(y);
}

void run_concat(OpContext& c) {
    const Node& n = c.node;
    std::vector<Tensor> xs;
    for (size_t i = 0; i < c.input_count(); ++i) xs.push_back(c.input(i).contiguous());
    if (xs.empty()) throw n.error("Concat needs at least one input");
    const int64_t r = xs[0].rank();
    const int64_t axis = normalize_axis(n, n.attr_int("axis", 0), std::max<int64_t>(r, 1));
    Shape out_shape = xs[0].shape();
    out_shape[axis] = 0;
    for (const Tensor& t : xs) {
        bool fits = t.rank() == r && t.dtype() == xs[0].dtype();
        for (int64_t d = 0; fits && d < r; ++d) fits = d == axis || t.dim(static_cast<int>(d)) == xs[0].dim(static_cast<int>(d));
        if (!fits) {
            throw n.error("inputs " + shape_to_string(xs[0].shape()) + " and " + shape_to_string(t.shape()) +
                          " do not fit together along axis " + std::to_string(axis));
        }
        out_shape[axis] += t.dim(static_cast<int>(axis));
    }
    Tensor y = Tensor::empty(out_shape, xs[0].dtype());
    const size_t eb = element_bytes(n, xs[0]);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
    for (int64_t d = axis + 1; d < r; ++d) inner *= out_shape[d];
    const int64_t out_row = out_shape[axis] * inner;
    int64_t offset = 0;
    for (const Tensor& t : xs) {
        const int64_t row = t.dim(static_cast<int>(axis)) * inner;
        for (int64_t o = 0; o < outer && row > 0; ++o) {
            std::memcpy(y.raw_data() + (o * out_row + offset) * eb, t.raw_data() + o * row * eb, row * eb);
        }
        offset += row;
    }
    c.out[0] = std::move(y);
}

void run_constant(OpContext& c) {
    const Node& n = c.node;
    if (n.has("value")) {
        c.out[0] = n.attr_tensor("value");
    } else if (n.has("value_float")) {
        c.out[0] = Tensor::from_floats({}, std::vector<float>{n.attr_float("value_float", 0)});
    } else if (n.has("value_floats")) {
        const auto v = n.attr_floats("value_floats");
        c.out[0] = Tensor::from_floats({static_cast<int64_t>(v.size())}, v);
    } else if (n.has("value_int")) {
        c.out[0] = i64_vector({n.attr_int("value_int", 0)}).reshape({});
    } else if (n.has("value_ints")) {
        c.out[0] = i64_vector(n.attr_ints("value_ints"));
    } else {
        throw n.error("Constant has no value attribute tern supports (value, value_float(s), value_int(s))");
    }
}

void run_shape(OpContext& c) {
    const Shape& s = c.input(0).shape();
    const int64_t r = static_cast<int64_t>(s.size());
    // Opset 15's start/end clamp into [0, rank] like Python slices.
    auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    const int64_t start = clamp(c.node.attr_int("start", 0)), end = clamp(c.node.attr_int("end", r));
    c.out[0] = i64_vector(std::vector<int64_t>(s.begin() + start, s.begin() + std::max(start, end)));
}

void run_size(OpContext& c) { c.out[0] = i64_vector({c.input(0).numel()}).reshape({}); }

// A tensor of the given shape filled with `value`'s one element (float 0 when absent).
void run_constant_of_shape(OpContext& c) {
    const Node& n = c.node;
    const std::vector<int64_t> dims = int_list(n, c.input(0), "shape");
    int64_t numel = 1;
    for (int64_t d : dims) {
        if (d < 0 || d > kMaxWindowValue) throw n.error(format("shape dim %lld is outside [0, 2^30]", (long long)d));
        if (d != 0 && numel > (int64_t{1} << 34) / d) throw n.error("the shape holds over 2^34 elements");
        numel *= d;
    }
    const Tensor fill = n.has("value") ? n.attr_tensor("value").contiguous() : Tensor::zeros({1}, DType::f32);
    if (fill.numel() != 1) throw n.error("value holds " + std::to_string(fill.numel()) + " elements; ConstantOfShape needs one");
    Tensor y = Tensor::empty(Shape(dims.begin(), dims.end()), fill.dtype());
    const size_t esize = dtype_bytes_for(fill.dtype(), 1);
    uint8_t* dst = y.raw_data();
    const uint8_t* src = fill.raw_data();
    for (int64_t i = 0; i < numel; ++i) std::memcpy(dst + static_cast<size_t>(i) * esize, src, esize);
    c.out[0] = std::move(y);
}

void run_gather(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    const Tensor ind = c.input(1).contiguous();
    const int64_t r = x.rank();
    if (r == 0) throw n.error("Gather needs data with at least 1 dim");
    const int64_t axis = normalize_axis(n, n.attr_int("axis", 0), r);
    std::vector<int64_t> indices = int_list(n, ind.reshape({ind.numel()}), "indices");
    const int64_t len = x.dim(static_cast<int>(axis));
    for (int64_t& i : indices) {
        if (i < -len || i >= len) throw n.error(format("index %lld is outside [%lld, %lld)", (long long)i, (long long)-len, (long long)len));
        if (i < 0) i += len;
    }
    Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
    out_shape.insert(out_shape.end(), ind.shape().begin(), ind.shape().end());
    out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
    Tensor y = Tensor::empty(out_shape, x.dtype());
    const size_t eb = element_bytes(n, x);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(static_cast<int>(d));
    for (int64_t d = axis + 1; d < r; ++d) inner *= x.dim(static_cast<int>(d));
    const size_t chunk = static_cast<size_t>(inner) * eb;
    uint8_t* dst = y.raw_data();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i : indices) {
            std::memcpy(dst, x.raw_data() + ((o * len + i) * inner) * eb, chunk);
            dst += chunk;
        }
    }
    c.out[0] = std::move(y);
}

// Opset 13 moved Squeeze/Unsqueeze axes from an attribute to an input.
std::vector<int64_t> axes_of(OpContext& c, bool& given) {
    given = true;
    if (c.opset >= 13) {
        if (c.has_input(1)) return int_list(c.node, c.input(1), "axes");
    } else if (c.node.has("axes")) {
        return c.node.attr_ints("axes");
    }
    given = false;
    return {};
}

void run_unsqueeze(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    bool given = false;
    std::vector<int64_t> axes = axes_of(c, given);
    if (!given) throw c.node.error("Unsqueeze needs axes");
    const int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
    for (int64_t& a : axes) a = normalize_axis(c.node, a, out_rank);
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) throw c.node.error("axes repeat an axis");
    Shape s;
    size_t next_in = 0, next_axis = 0;
    for (int64_t d = 0; d < out_rank; ++d) {
        if (next_axis < axes.size() && axes[next_axis] == d) {
            s.push_back(1);
            ++next_axis;
        } else {
            s.push_back(x.dim(static_cast<int>(next_in++)));
        }
    }
    c.out[0] = x.reshape(s);
}

void run_squeeze(OpContext& c) {
    const Tensor x = c.input(0).contiguous();
    bool given = false;
    std::vector<int64_t> axes = axes_of(c, given);
    std::vector<bool> drop(x.rank(), false);
    for (int64_t a : axes) {
        const int64_t d = normalize_axis(c.node, a, x.rank());
        if (x.dim(static_cast<int>(d)) != 1) {
            throw c.node.error("cannot squeeze dim " + std::to_string(d) + " of " + shape_to_string(x.shape()) + ": it is not 1");
        }
        drop[d] = true;
    }
    Shape s;
    for (int64_t d = 0; d < x.rank(); ++d) {
        const bool gone = given ? drop[d] : x.dim(static_cast<int>(d)) == 1;
        if (!gone) s.push_back(x.dim(static_cast<int>(d)));
    }
    c.out[0] = x.reshape(s);
}

}  // namespace

std::vector<OpEntry> shape_ops() {
    return {
        {"Identity", run_identity}, {"Flatten", run_flatten},   {"Reshape", run_reshape},     {"Transpose", run_transpose},
        {"Concat", run_concat},     {"Constant", run_constant}, {"Shape", run_shape},         {"Gather", run_gather},
        {"Unsqueeze", run_unsqueeze}, {"Squeeze", run_squeeze}, {"Size", run_size}, {"ConstantOfShape", run_constant_of_shape},
    };
}

}  // namespace tern::graph
