#include "graph/shape_inference.h"

#include <set>

#include "graph/op_util.h"

namespace tern::graph {

namespace {

using MaybeShape = std::optional<Shape>;
constexpr int64_t kMaxDeclaredDim = int64_t{1} << 40;

// One windowed output dim; -1 stays unknown.
int64_t window_out(const Node& n, int64_t in, int64_t pb, int64_t pe, int64_t ext, int64_t stride, bool ceil_mode) {
    if (in < 0) return -1;
    const int64_t span = in + pb + pe - ext;
    if (span < 0) throw n.error(format("the window (%lld) is larger than the padded input (%lld)",
                                       static_cast<long long>(ext), static_cast<long long>(in + pb + pe)));
    int64_t o = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (o - 1) * stride >= in + pb) --o;
    return o;
}

// Conv and pools: spatial dims from kernel, strides, dilations, pads / auto_pad.
MaybeShape windowed(const Node& n, const Shape& x, const std::vector<int64_t>& kernel, int64_t channels) {
    const size_t sr = x.size() - 2;
    if (kernel.size() != sr) {
        throw n.error(format("kernel has %zu spatial dims, the input %zu", kernel.size(), sr));
    }
    const auto strides = attr_ints_sized(n, "strides", sr, 1);
    const auto dil = attr_ints_sized(n, "dilations", sr, 1);
    std::vector<int64_t> ext(sr);
    for (size_t i = 0; i < sr; ++i) {
        if (kernel[i] < 1 || kernel[i] > kMaxWindowValue) throw n.error("kernel dims must be in 1..2^30");
        ext[i] = (kernel[i] - 1) * dil[i] + 1;
    }
    const Shape spatial(x.begin() + 2, x.end());
    for (int64_t d : spatial) {
        if (d < 0 && n.attr_string("auto_pad", "NOTSET").rfind("SAME", 0) == 0) return Shape{};  // pads unknown
    }
    for (size_t i = 0; i < sr; ++i) {
        if (strides[i] < 1 || dil[i] < 1 || kernel[i] < 1) throw n.error("kernel, strides and dilations must be >= 1");
    }
    const SpatialPads p = spatial_pads(n, spatial, ext, strides);
    Shape out{x[0], channels};
    const bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
    for (size_t i = 0; i < sr; ++i) out.push_back(window_out(n, spatial[i], p.begin[i], p.end[i], ext[i], strides[i], ceil_mode));
    return out;
}

MaybeShape conv_shape(const Node& n, const MaybeShape& x, const MaybeShape& w) {
    if (!x || !w) return std::nullopt;
    if (x->size() < 3) throw n.error(format("input has %zu dims, Conv needs at least 3", x->size()));
    if (w->size() != x->size()) throw n.error(format("weight has %zu dims, Conv needs %zu", w->size(), x->size()));
    const int64_t groups = n.attr_int("group", 1);
    if (groups < 1) throw n.error("group must be >= 1");
    if ((*x)[1] >= 0 && (*w)[1] >= 0 && (*x)[1] != (*w)[1] * groups) {
        throw n.error(format("input has %lld channels, weight expects %lld x group %lld", static_cast<long long>((*x)[1]),
                             static_cast<long long>((*w)[1]), static_cast<long long>(groups)));
    }
    const std::vector<int64_t> kernel(w->begin() + 2, w->end());
    for (int64_t k : kernel) {
        if (k < 0) return std::nullopt;
    }
    MaybeShape out = windowed(n, *x, kernel, (*w)[0]);
    return out && out->empty() ? std::nullopt : out;
}

MaybeShape pool_shape(const Node& n, const MaybeShape& x) {
    if (!x) return std::nullopt;
    if (x->size() < 3) throw n.error(format("input has %zu dims, %s needs at least 3", x->size(), n.op_type.c_str()));
    MaybeShape out = windowed(n, *x, n.attr_ints("kernel_shape", {}), (*x)[1]);
    return out && out->empty() ? std::nullopt : out;
}

int64_t merge_dim(const Node& n, int64_t a, int64_t b, const char* what) {
    if (a >= 0 && b >= 0 && a != b) {
        throw n.error(format("%s: %lld vs %lld", what, static_cast<long long>(a), static_cast<long long>(b)));
    }
    return a >= 0 ? a : b;
}

// numpy broadcasting where a dim may be unknown (-1): 1 and -1 give -1.
Shape broadcast_maybe(const Node& n, const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da == 1) out[i] = db;
        else if (db == 1) out[i] = da;
        else if (da < 0 || db < 0) out[i] = da < 0 ? db : da;
        else if (da != db) throw n.error("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
        else out[i] = da;
    }
    return out;
}

MaybeShape matmul_shape(const Node& n, MaybeShape a, MaybeShape b) {
    if (!a || !b || a->empty() || b->empty()) return std::nullopt;
    const bool av = a->size() == 1, bv = b->size() == 1;
    if (av) a->insert(a->begin(), 1);
    if (bv) b->push_back(1);
    merge_dim(n, a->back(), (*b)[b->size() - 2], "A and B disagree on the inner dim");
    Shape out = broadcast_maybe(n, Shape(a->begin(), a->end() - 2), Shape(b->begin(), b->end() - 2));
    if (!av) out.push_back((*a)[a->size() - 2]);
    if (!bv) out.push_back(b->back());
    return out;
}

MaybeShape gemm_shape(const Node& n, const MaybeShape& a, const MaybeShape& b) {
    if (!a || !b) return std::nullopt;
    if (a->size() != 2 || b->size() != 2) {
        throw n.error("A " + shape_to_string(*a) + " and B " + shape_to_string(*b) + " must both be 2-D for Gemm");
    }
    const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
    merge_dim(n, (*a)[ta ? 0 : 1], (*b)[tb ? 1 : 0], "A and B disagree on K");
    return Shape{(*a)[ta ? 1 : 0], (*b)[tb ? 0 : 1]};
}

const std::set<std::string> kSameShape = {"Relu",      "Sigmoid", "Tanh",     "LeakyRelu", "HardSigmoid",
                                          "Clip",      "Softmax", "Identity", "BatchNormalization",
                                          "Sqrt",      "Exp",     "Log",      "Abs",       "Neg",
                                          "Reciprocal", "Floor",  "Ceil",     "Sin",       "Cos",
                                          "Erf",       "HardSwish"};
const std::set<std::string> kBroadcast = {"Add", "Sub", "Mul", "Div", "Pow"};

}  // namespace

void infer_shapes(Graph& g) {
    auto shape_of = [&](const Node& n, size_t i) -> MaybeShape {
        if (!n.has_input(i)) return std::nullopt;
        auto it = g.values.find(n.inputs[i]);
        return it == g.values.end() ? std::nullopt : it->second.shape;
    };
    auto dtype_of = [&](const Node& n, size_t i) -> std::optional<DType> {
        if (!n.has_input(i)) return std::nullopt;
        auto it = g.values.find(n.inputs[i]);
        return it == g.values.end() ? std::nullopt : it->second.dtype;
    };
    for (size_t idx : g.topological_order()) {
        const Node& n = g.nodes[idx];
        if (n.outputs.empty() || n.outputs[0].empty()) continue;
        MaybeShape out;
        std::optional<DType> dtype = dtype_of(n, 0);
        const std::string& op = n.op_type;
        if (kSameShape.count(op)) {
            out = shape_of(n, 0);
        } else if (kBroadcast.count(op)) {
            const MaybeShape a = shape_of(n, 0), b = shape_of(n, 1);
            if (a && b) out = broadcast_maybe(n, *a, *b);
        } else if (op == "Conv") {
            out = conv_shape(n, shape_of(n, 0), shape_of(n, 1));
        } else if (op == "MaxPool" || op == "AveragePool") {
            out = pool_shape(n, shape_of(n, 0));
        } else if (op == "GlobalAveragePool") {
            if (auto x = shape_of(n, 0)) {
                out = x;
                for (size_t i = 2; i < out->size(); ++i) (*out)[i] = 1;
            }
        } else if (op == "MatMul") {
            out = matmul_shape(n, shape_of(n, 0), shape_of(n, 1));
        } else if (op == "Gemm") {
            out = gemm_shape(n, shape_of(n, 0), shape_of(n, 1));
        } else if (op == "Flatten") {
            if (auto x = shape_of(n, 0)) {
                const int64_t r = static_cast<int64_t>(x->size());
                int64_t axis = n.attr_int("axis", 1);
                if (axis < -r || axis > r) throw n.error(format("axis %lld is outside [-%lld, %lld]", (long long)axis, (long long)r, (long long)r));
                if (axis < 0) axis += r;
                int64_t outer = 1, inner = 1;
                for (int64_t d = 0; d < r; ++d) {
                    int64_t& acc = d < axis ? outer : inner;
                    acc = (acc < 0 || (*x)[d] < 0) ? -1 : acc * (*x)[d];
                    if (acc > (int64_t{1} << 62) / kMaxDeclaredDim) acc = -1;  // too large to know statically
                }
                out = Shape{outer, inner};
            }
        } else if (op == "Transpose") {
            if (auto x = shape_of(n, 0)) {
                std::vector<int64_t> perm = n.attr_ints("perm", {});
                if (perm.empty()) for (int64_t i = static_cast<int64_t>(x->size()) - 1; i >= 0; --i) perm.push_back(i);
                if (perm.size() != x->size()) throw n.error("perm is not a permutation of the input's dims");
                out = Shape{};
                for (int64_t p : perm) out->push_back((*x)[normalize_axis(n, p, static_cast<int64_t>(x->size()))]);
            }
        } else if (op == "Shape") {
            if (auto x = shape_of(n, 0); x && !n.has("start") && !n.has("end")) out = Shape{static_cast<int64_t>(x->size())};
            dtype = DType::i64;
        } else if (op == "Constant" && n.has("value")) {
            out = n.attr_tensor("value").shape();
            dtype = n.attr_tensor("value").dtype();
        } else {
            dtype = std::nullopt;  // value-dependent shapes (Reshape, Gather, ...) stay unknown
        }
        ValueInfo& v = g.values[n.outputs[0]];
        if (out && !v.shape) v.shape = out;
        if (dtype && !v.dtype) v.dtype = dtype;
    }
}

}  // namespace tern::graph
