#include "graph/op_util.h"

namespace tern::graph {

int64_t normalize_axis(const Node& n, int64_t axis, int64_t rank) {
    if (axis < -rank || axis >= rank) {
        throw n.error(format("axis %lld is outside [%lld, %lld)", static_cast<long long>(axis),
                             static_cast<long long>(-rank), static_cast<long long>(rank)));
    }
    return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> int_list(const Node& n, const Tensor& t, const char* what) {
    if (t.rank() > 1) throw n.error(std::string(what) + " must be 1-D, got shape " + shape_to_string(t.shape()));
    const Tensor c = t.contiguous();
    std::vector<int64_t> v(static_cast<size_t>(c.numel()));
    if (c.dtype() == DType::i64) {
        for (size_t i = 0; i < v.size(); ++i) v[i] = c.data<int64_t>()[i];
    } else if (c.dtype() == DType::i32) {
        for (size_t i = 0; i < v.size(); ++i) v[i] = c.data<int32_t>()[i];
    } else {
        throw n.error(std::string(what) + " must be int64 or int32, got " + std::string(dtype_name(t.dtype())));
    }
    return v;
}

void require_f32(const Node& n, const Tensor& t, const char* what) {
    if (t.dtype() != DType::f32) {
        throw n.error(std::string(what) + " is " + std::string(dtype_name(t.dtype())) + "; tern's " + n.op_type +
                      " runs float32 only");
    }
}

Shape broadcast_shapes(const Node& n, const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da != db && da != 1 && db != 1) {
            throw n.error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
    std::vector<int64_t> st(out.size(), 0);
    int64_t stride = 1;
    for (size_t k = 0; k < s.size(); ++k) {
        const size_t i = s.size() - 1 - k;
        const size_t o = out.size() - 1 - k;
        st[o] = s[i] == 1 ? 0 : stride;
        stride *= s[i];
    }
    return st;
}

MatMulShapes matmul_dims(const Node& n, const Shape& a_in, const Shape& b_in) {
    if (a_in.empty() || b_in.empty()) throw n.error(n.op_type + " inputs must have at least 1 dim");
    const bool a_vec = a_in.size() == 1, b_vec = b_in.size() == 1;
    const Shape a = a_vec ? Shape{1, a_in[0]} : a_in, b = b_vec ? Shape{b_in[0], 1} : b_in;
    MatMulShapes m;
    m.M = a[a.size() - 2], m.K = a.back(), m.N = b.back();
    if (b[b.size() - 2] != m.K) {
        throw n.error("A " + shape_to_string(a_in) + " and B " + shape_to_string(b_in) + " disagree on the inner dim");
    }
    m.a_batch.assign(a.begin(), a.end() - 2);
    m.b_batch.assign(b.begin(), b.end() - 2);
    m.batch = broadcast_shapes(n, m.a_batch, m.b_batch);
    m.out_shape = m.batch;
    m.out_shape.push_back(m.M);
    m.out_shape.push_back(m.N);
    m.result = m.out_shape;
    if (a_vec) m.result.erase(m.result.end() - 2);
    if (b_vec) m.result.pop_back();
    return m;
}

MatMulShapes matmul_shapes(const Node& n, const Tensor& a_in, const Tensor& b_in) {
    MatMulShapes m = matmul_dims(n, a_in.shape(), b_in.shape());
    m.a = a_in.contiguous();
    m.b = b_in.contiguous();
    if (m.a.rank() == 1) m.a = m.a.reshape({1, m.a.dim(0)});
    if (m.b.rank() == 1) m.b = m.b.reshape({m.b.dim(0), 1});
    return m;
}

std::pair<int64_t, int64_t> MatMulShapes::operands_of(int64_t i) const {
    const auto sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);
    int64_t ia = 0, ib = 0;
    for (size_t d = batch.size(); d-- > 0;) {
        const int64_t k = i % batch[d];
        i /= batch[d];
        ia += k * sa[d];
        ib += k * sb[d];
    }
    return {ia, ib};
}

}  // namespace tern::graph

namespace tern::graph {

std::vector<int64_t> attr_ints_sized(const Node& n, const char* attr, size_t count, int64_t fallback) {
    std::vector<int64_t> v = n.attr_ints(attr, std::vector<int64_t>(count, fallback));
    if (v.size() != count) {
        throw n.error(format("attribute '%s' has %zu values, the input's %zu spatial dims need %zu", attr, v.size(),
                             count, count));
    }
    for (int64_t x : v) {
        // Bounded so window arithmetic (pads + dims, (kernel - 1) * dilation) cannot overflow.
        if (x < -kMaxWindowValue || x > kMaxWindowValue) throw n.error(format("attribute '%s' value %lld is out of range", attr, static_cast<long long>(x)));
    }
    return v;
}

SpatialPads spatial_pads(const Node& n, const Shape& in, const std::vector<int64_t>& k,
                         const std::vector<int64_t>& strides) {
    const size_t r = in.size();
    SpatialPads p{std::vector<int64_t>(r, 0), std::vector<int64_t>(r, 0)};
    const std::string mode = n.attr_string("auto_pad", "NOTSET");
    if (mode == "NOTSET") {
        const std::vector<int64_t> pads = attr_ints_sized(n, "pads", 2 * r, 0);
        for (size_t i = 0; i < r; ++i) {
            p.begin[i] = pads[i];
            p.end[i] = pads[i + r];
            if (p.begin[i] < 0 || p.end[i] < 0) throw n.error("negative pads are not supported");
        }
    } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
        for (size_t i = 0; i < r; ++i) {
            const int64_t out = (in[i] + strides[i] - 1) / strides[i];
            const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + k[i] - in[i]);
            p.begin[i] = mode == "SAME_UPPER" ? total / 2 : total - total / 2;
            p.end[i] = total - p.begin[i];
        }
    } else if (mode != "VALID") {
        throw n.error("auto_pad '" + mode + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
    return p;
}

}  // namespace tern::graph
