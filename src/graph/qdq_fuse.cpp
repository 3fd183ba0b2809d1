#include "graph/qdq_fuse.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>

namespace tern::graph {

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

class Rewriter {
public:
    explicit Rewriter(Graph& g) : g_(g) { index(); }

    void index() {
        producer_.clear();
        readers_.clear();
        for (size_t i = 0; i < g_.nodes.size(); ++i) {
            if (removed_.count(i)) continue;
            for (const std::string& o : g_.nodes[i].outputs) if (!o.empty()) producer_[o] = i;
            for (const std::string& in : g_.nodes[i].inputs) if (!in.empty()) readers_[in].push_back(i);
        }
        for (const std::string& o : g_.outputs) readers_[o].push_back(kNone);
    }

    // The node producing `value` when it is an `op` (else null).
    const Node* producer(const std::string& value, const char* op) const {
        auto it = producer_.find(value);
        if (it == producer_.end() || g_.nodes[it->second].op_type != op) return nullptr;
        return &g_.nodes[it->second];
    }
    size_t producer_index(const std::string& value) const { return producer_.at(value); }

    // The only reader of `value` when it is a QuantizeLinear and value is no graph output.
    size_t sole_quantize_reader(const std::string& value) const {
        auto it = readers_.find(value);
        if (it == readers_.end() || it->second.size() != 1 || it->second[0] == kNone) return kNone;
        const size_t q = it->second[0];
        return g_.nodes[q].op_type == "QuantizeLinear" && g_.nodes[q].inputs[0] == value ? q : kNone;
    }

    // The QuantizeLinear after `value`, directly or through a Relu the quantization
    // already performs: with the zero point at the codes' minimum, Q(relu(v)) = Q(v)
    // (ONNX Runtime drops such a Relu too). relu is set to the Relu's index or kNone.
    size_t quantize_after(const std::string& value, size_t& relu) const {
        relu = kNone;
        if (size_t q = sole_quantize_reader(value); q != kNone) return q;
        auto it = readers_.find(value);
        if (it == readers_.end() || it->second.size() != 1 || it->second[0] == kNone) return kNone;
        const Node& act = g_.nodes[it->second[0]];
        if (act.op_type != "Relu" || act.outputs.size() != 1) return kNone;
        const size_t q = sole_quantize_reader(act.outputs[0]);
        if (q == kNone) return kNone;
        const Tensor* zp = initializer(g_.nodes[q], 2);
        if (!zp || zp->numel() != 1) return kNone;
        const Tensor z = zp->contiguous();
        const bool at_min = (z.dtype() == DType::u8 && z.data<uint8_t>()[0] == 0) ||
                            (z.dtype() == DType::i8 && z.data<int8_t>()[0] == -128);
        if (!at_min) return kNone;
        relu = it->second[0];
        return q;
    }

    const Tensor* initializer(const Node& n, size_t i) const {
        if (!n.has_input(i)) return nullptr;
        auto it = g_.initializers.find(n.inputs[i]);
        return it == g_.initializers.end() ? nullptr : &it->second;
    }

    // The dtype of a value, from an initializer or a declared / inferred value info.
    std::optional<DType> dtype_of(const std::string& v) const {
        if (auto it = g_.initializers.find(v); it != g_.initializers.end()) return it->second.dtype();
        if (auto it = g_.values.find(v); it != g_.values.end()) return it->second.dtype;
        return std::nullopt;
    }

    // A Q / DQ node's zero point input, or a new zero initializer of the codes' dtype.
    std::optional<std::string> zero_point_of(const Node& qdq, DType codes) {
        if (qdq.has_input(2)) return qdq.inputs[2];
        if (codes != DType::u8 && codes != DType::i8) return std::nullopt;
        const std::string name = qdq.name + "_zero_point";
        g_.initializers[name] = Tensor::zeros({}, codes);
        return name;
    }

    // Per-tensor scale: a one-element initializer.
    bool per_tensor(const Node& qdq) const {
        const Tensor* s = initializer(qdq, 1);
        return s && s->numel() == 1;
    }

    // The scale's (and zero point's) axis, for a per-axis Q / DQ on a rank-r tensor.
    int64_t axis_of(const Node& qdq, int64_t rank) const {
        int64_t a = qdq.attr_int("axis", 1);
        return a < 0 ? a + rank : a;
    }

    void remove(size_t i) { removed_.insert(i); }
    bool removed(size_t i) const { return removed_.count(i) != 0; }

    // Drops removed nodes and, repeatedly, nodes none of whose outputs is read.
    int finish() {
        int dropped = 0;
        for (bool changed = true; changed;) {
            changed = false;
            index();
            for (size_t i = 0; i < g_.nodes.size(); ++i) {
                if (removed_.count(i)) continue;
                bool read = false;
                for (const std::string& o : g_.nodes[i].outputs) read |= !o.empty() && readers_.count(o);
                if (!read && g_.nodes[i].op_type == "DequantizeLinear") {
                    removed_.insert(i);
                    ++dropped;
                    changed = true;
                }
            }
        }
        std::vector<Node> kept;
        for (size_t i = 0; i < g_.nodes.size(); ++i) {
            if (!removed_.count(i)) kept.push_back(std::move(g_.nodes[i]));
        }
        g_.nodes = std::move(kept);
        // Initializers nothing reads any more (the float views' scales stay if read).
        std::set<std::string> read;
        for (const Node& n : g_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
        for (auto it = g_.initializers.begin(); it != g_.initializers.end();) {
            const bool output = std::find(g_.outputs.begin(), g_.outputs.end(), it->first) != g_.outputs.end();
            it = read.count(it->first) || output ? std::next(it) : g_.initializers.erase(it);
        }
        return dropped;
    }

private:
    Graph& g_;
    std::unordered_map<std::string, size_t> producer_;
    std::unordered_map<std::string, std::vector<size_t>> readers_;
    std::set<size_t> removed_;
};

bool is_codes(const Tensor* t) { return t && (t->dtype() == DType::i8 || t->dtype() == DType::u8); }

bool same_tensor(const Tensor* a, const Tensor* b) {
    if (!a || !b) return a == b;
    if (a->dtype() != b->dtype() || a->numel() != b->numel()) return false;
    const Tensor ca = a->contiguous(), cb = b->contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

// The weight's DequantizeLinear (int8/uint8 initializer codes), per tensor or per `channel_axis`.
const Node* weight_dq(const Rewriter& r, const std::string& value, int64_t channel_axis) {
    const Node* dq = r.producer(value, "DequantizeLinear");
    if (!dq) return nullptr;
    const Tensor* w = r.initializer(*dq, 0);
    const Tensor* s = r.initializer(*dq, 1);
    if (!is_codes(w) || !s) return nullptr;
    if (dq->has_input(2) && !r.initializer(*dq, 2)) return nullptr;
    if (s->numel() == 1) return dq;
    return s->rank() == 1 && r.axis_of(*dq, w->rank()) == channel_axis && w->rank() > channel_axis &&
                   s->numel() == w->dim(static_cast<int>(channel_axis))
               ? dq
               : nullptr;
}

// Inputs common to QLinearConv and QLinearMatMul: x codes, scale, zero point.
bool activation_inputs(Rewriter& r, const Node& dq, std::vector<std::string>& in) {
    if (!r.per_tensor(dq)) return false;
    const auto dt = r.dtype_of(dq.inputs[0]);
    const std::optional<std::string> zp =
        dq.has_input(2) ? std::optional<std::string>(dq.inputs[2]) : dt ? r.zero_point_of(dq, *dt) : std::nullopt;
    if (!zp) return false;
    in.insert(in.end(), {dq.inputs[0], dq.inputs[1], *zp});
    return true;
}

bool weight_inputs(Rewriter& r, const Node& dq, std::vector<std::string>& in) {
    const Tensor* w = r.initializer(dq, 0);
    const auto zp = r.zero_point_of(dq, w->dtype());
    if (!zp) return false;
    in.insert(in.end(), {dq.inputs[0], dq.inputs[1], *zp});
    return true;
}

bool output_inputs(Rewriter& r, const Node& q, std::vector<std::string>& in) {
    if (!r.per_tensor(q)) return false;
    const auto zp = r.zero_point_of(q, DType::u8);  // absent: ONNX's default output type, uint8 with zero point 0
    if (!zp) return false;
    in.insert(in.end(), {q.inputs[1], *zp});
    return true;
}

// The int32 bias behind a DequantizeLinear whose scale is x_scale * w_scale per
// output channel (as quantizers write it): only then is the int32 the integer op's bias.
bool int32_bias(const Rewriter& r, const std::string& value, const Node& x_dq, const Node& w_dq, std::string& bias) {
    const Node* b_dq = r.producer(value, "DequantizeLinear");
    const Tensor* b = b_dq ? r.initializer(*b_dq, 0) : nullptr;
    if (!b || b->dtype() != DType::i32 || b->rank() != 1) return false;
    const Tensor* bs = r.initializer(*b_dq, 1);
    const Tensor* bz = r.initializer(*b_dq, 2);
    const Tensor* xs = r.initializer(x_dq, 1);
    const Tensor* ws = r.initializer(w_dq, 1);
    if (!bs || !xs || !ws || bs->dtype() != DType::f32 || xs->dtype() != DType::f32 || ws->dtype() != DType::f32) return false;
    if (b_dq->has_input(2)) {
        if (!bz) return false;
        const Tensor z = bz->contiguous();
        for (int64_t i = 0; i < z.numel(); ++i) {
            if (z.dtype() != DType::i32 || z.data<int32_t>()[i] != 0) return false;
        }
    }
    const Tensor bsc = bs->contiguous(), xsc = xs->contiguous(), wsc = ws->contiguous();
    const int64_t n = b->dim(0);
    if ((bsc.numel() != 1 && bsc.numel() != n) || (wsc.numel() != 1 && wsc.numel() != n)) return false;
    for (int64_t i = 0; i < n; ++i) {
        const double want = static_cast<double>(xsc.data<float>()[0]) * wsc.data<float>()[wsc.numel() == 1 ? 0 : i];
        const double have = bsc.data<float>()[bsc.numel() == 1 ? 0 : i];
        if (!(std::fabs(have - want) <= 1e-6 * std::fabs(want))) return false;
    }
    bias = b_dq->inputs[0];
    return true;
}

Tensor int64_list(std::initializer_list<int64_t> v) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    int64_t* p = t.data<int64_t>();
    for (int64_t x : v) *p++ = x;
    return t;
}

// Conv / MatMul between DQs and a Q -> QLinearConv / QLinearMatMul.
bool fuse_linear(Rewriter& r, Graph& g, size_t idx) {
    const Node& op = g.nodes[idx];
    const bool conv = op.op_type == "Conv";
    if (!conv && op.op_type != "MatMul") return false;
    if (op.outputs.size() != 1 || op.inputs.size() < 2) return false;
    size_t relu = kNone;
    const size_t q = r.quantize_after(op.outputs[0], relu);
    if (q == kNone) return false;
    const Node* x_dq = r.producer(op.inputs[0], "DequantizeLinear");
    const Node* w_dq = weight_dq(r, op.inputs[1], conv ? 0 : 1);
    if (!x_dq || !w_dq) return false;
    if (!conv && r.initializer(*w_dq, 0)->rank() != 2) return false;  // QLinearMatMul's per-column scales need 2-D B
    std::string bias;
    if (conv && op.has_input(2)) {
        if (!int32_bias(r, op.inputs[2], *x_dq, *w_dq, bias)) return false;
    }
    const Node& qn = g.nodes[q];
    std::vector<std::string> in;
    if (!activation_inputs(r, *x_dq, in) || !weight_inputs(r, *w_dq, in) || !output_inputs(r, qn, in)) return false;
    if (!bias.empty()) in.push_back(bias);
    Node fused;
    fused.op_type = conv ? "QLinearConv" : "QLinearMatMul";
    fused.name = op.name;
    fused.inputs = std::move(in);
    fused.outputs = {qn.outputs[0]};
    if (conv) fused.attributes = op.attributes;
    r.remove(q);
    if (relu != kNone) r.remove(relu);
    g.nodes[idx] = std::move(fused);
    return true;
}

// DQ(a) -> Gemm(DQ(w), [DQ(bias int32)]) -> Q with alpha = beta = 1 and no transA:
// a 1x1 QLinearConv on (M, K, 1, 1) between two Reshapes of the codes, so the
// per-output-channel scales and the int32 bias stay standard ONNX.
bool fuse_gemm(Rewriter& r, Graph& g, size_t idx) {
    const Node op = g.nodes[idx];
    if (op.op_type != "Gemm" || op.outputs.size() != 1 || op.inputs.size() < 2) return false;
    if (op.attr_int("transA", 0) != 0 || op.attr_float("alpha", 1.f) != 1.f || op.attr_float("beta", 1.f) != 1.f) return false;
    const bool tb = op.attr_int("transB", 0) != 0;
    size_t relu = kNone;
    const size_t q = r.quantize_after(op.outputs[0], relu);
    if (q == kNone) return false;
    const Node* x_dq = r.producer(op.inputs[0], "DequantizeLinear");
    const Node* w_dq = weight_dq(r, op.inputs[1], tb ? 0 : 1);
    if (!x_dq || !w_dq || r.initializer(*w_dq, 0)->rank() != 2) return false;
    const Tensor w = r.initializer(*w_dq, 0)->contiguous();
    const int64_t N = tb ? w.dim(0) : w.dim(1), K = tb ? w.dim(1) : w.dim(0);
    std::string bias;
    if (op.has_input(2) && (!int32_bias(r, op.inputs[2], *x_dq, *w_dq, bias) || g.initializers.at(bias).dim(0) != N)) return false;
    const Node qn = g.nodes[q];
    std::vector<std::string> in;
    if (!activation_inputs(r, *x_dq, in) || !weight_inputs(r, *w_dq, in) || !output_inputs(r, qn, in)) return false;
    if (!bias.empty()) in.push_back(bias);
    Tensor w4 = Tensor::empty({N, K, 1, 1}, w.dtype());
    for (int64_t j = 0; j < N; ++j) {
        for (int64_t k = 0; k < K; ++k) w4.data<uint8_t>()[j * K + k] = w.data<uint8_t>()[tb ? j * K + k : k * N + j];
    }
    const std::string base = op.name + "_as_conv";
    g.initializers[base + "_weight"] = w4;
    g.initializers[base + "_nchw"] = int64_list({0, 0, 1, 1});
    g.initializers[base + "_mn"] = int64_list({0, 0});
    in[3] = base + "_weight";
    Node to_nchw{"Reshape", base + "_in", {in[0], base + "_nchw"}, {base + "_x"}, {}};
    in[0] = base + "_x";
    Node conv{"QLinearConv", op.name, in, {base + "_y"}, {}};
    Node to_mn{"Reshape", base + "_out", {base + "_y", base + "_mn"}, {qn.outputs[0]}, {}};
    r.remove(q);
    if (relu != kNone) r.remove(relu);
    g.nodes[idx] = std::move(to_nchw);
    g.nodes.push_back(std::move(conv));
    g.nodes.push_back(std::move(to_mn));
    return true;
}

// DQ -> data movement (or MaxPool: a max of codes is the max of their values,
// the scale being positive) -> Q with the same parameters: the op runs on the codes.
bool fuse_data_movement(Rewriter& r, Graph& g, size_t idx) {
    static const std::set<std::string> kOps = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool"};
    Node& op = g.nodes[idx];
    if (!kOps.count(op.op_type) || op.outputs.size() != 1 || op.inputs.empty()) return false;
    const size_t q = r.sole_quantize_reader(op.outputs[0]);
    const Node* dq = r.producer(op.inputs[0], "DequantizeLinear");
    if (q == kNone || !dq || !r.per_tensor(*dq) || !r.per_tensor(g.nodes[q])) return false;
    const Node& qn = g.nodes[q];
    if (!same_tensor(r.initializer(*dq, 1), r.initializer(qn, 1))) return false;
    // Both zero points given and equal (their dtype is the codes' dtype on both sides).
    if (!dq->has_input(2) || !qn.has_input(2) || !same_tensor(r.initializer(*dq, 2), r.initializer(qn, 2))) return false;
    if (!r.initializer(*dq, 2)) return false;
    op.inputs[0] = dq->inputs[0];
    op.outputs[0] = qn.outputs[0];
    r.remove(q);
    return true;
}

}  // namespace

Graph fuse_qdq(const Graph& in, QdqFuseStats* stats) {
    Graph g = in;
    QdqFuseStats s;
    Rewriter r(g);
    const std::vector<size_t> order = g.topological_order();  // nodes appended by fuse_gemm are already fused
    for (size_t i : order) {
        if (r.removed(i)) continue;
        const bool conv = g.nodes[i].op_type == "Conv";
        if (fuse_linear(r, g, i)) {
            ++(conv ? s.convs : s.matmuls);
            r.index();
        } else if (fuse_gemm(r, g, i)) {
            ++s.gemms;
            r.index();
        } else if (fuse_data_movement(r, g, i)) {
            ++s.data_movement;
            r.index();
        }
    }
    s.dropped_nodes = r.finish();
    if (stats) *stats = s;
    return g;
}

}  // namespace tern::graph
