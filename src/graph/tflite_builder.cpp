// The TFLite importer's value bookkeeping: names, layouts, initializers and
// the nodes an operator becomes (see tflite_builder.h for the layout scheme).
#include "graph/tflite_builder.h"

#include <cstring>

namespace tern::graph::tflite_detail {

Tensor permute_tensor(const Tensor& t, const std::vector<int64_t>& perm) {
    const Tensor x = t.contiguous();
    const int64_t r = x.rank();
    Shape out_shape(r);
    for (int64_t d = 0; d < r; ++d) out_shape[d] = x.dim(static_cast<int>(perm[d]));
    Tensor y = Tensor::empty(out_shape, x.dtype());
    const size_t eb = dtype_info(x.dtype()).block_bytes;
    const Shape in_strides = contiguous_strides(x.shape());
    std::vector<int64_t> idx(r, 0);
    const int64_t n = y.numel();
    for (int64_t o = 0; o < n; ++o) {
        int64_t src = 0;
        for (int64_t d = 0; d < r; ++d) src += idx[d] * in_strides[perm[d]];
        std::memcpy(y.raw_data() + o * eb, x.raw_data() + src * eb, eb);
        for (int64_t d = r - 1; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) break;
            idx[d] = 0;
        }
    }
    return y;
}

void Builder::begin_operator(int index, const std::string& op_name, const fb::Operator* op) {
    op_index_ = index, op_name_ = op_name, op_ = op;
}

InputError Builder::error(const std::string& what) const {
    if (op_index_ < 0) return InputError(where_, op_name_ + ": " + what);
    return InputError(where_, format("operator %d (%s): %s", op_index_, op_name_.c_str(), what.c_str()));
}

size_t Builder::input_count() const { return op_ && op_->inputs() ? op_->inputs()->size() : 0; }

int Builder::input(size_t i, bool optional) const {
    const int t = i < input_count() ? op_->inputs()->Get(static_cast<flatbuffers::uoffset_t>(i)) : -1;
    if (t == -1 && optional) return -1;
    if (t == -1) throw error(format("input %zu is missing", i));
    if (t < 0 || static_cast<size_t>(t) >= tensors_.size()) {
        throw error(format("input %zu refers to tensor %d, but the subgraph has %zu tensors", i, t, tensors_.size()));
    }
    return t;
}

int Builder::output(size_t i) const {
    const size_t count = op_ && op_->outputs() ? op_->outputs()->size() : 0;
    if (i >= count) throw error(format("output %zu is missing", i));
    const int t = op_->outputs()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (t < 0 || static_cast<size_t>(t) >= tensors_.size()) {
        throw error(format("output %zu refers to tensor %d, but the subgraph has %zu tensors", i, t, tensors_.size()));
    }
    return t;
}

const Tensor* Builder::constant(int t) const {
    const TensorSlot& s = tensors_[static_cast<size_t>(t)];
    return s.constant.defined() ? &s.constant : nullptr;
}

std::vector<int64_t> Builder::constant_ints(int t, const char* what) const {
    const Tensor* c = constant(t);
    if (!c || (c->dtype() != DType::i32 && c->dtype() != DType::i64)) {
        throw error(std::string(what) + " (tensor '" + tensors_[static_cast<size_t>(t)].name +
                    "') must be constant int32 data; tern does not take it at run time");
    }
    std::vector<int64_t> v(static_cast<size_t>(c->numel()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = c->dtype() == DType::i32 ? c->data<int32_t>()[i] : c->data<int64_t>()[i];
    return v;
}

std::string Builder::add_initializer(const Tensor& t, const std::string& hint) {
    std::string name = hint;
    while (g_.values.count(name)) name = hint + "#" + std::to_string(++fresh_);
    g_.initializers[name] = t;
    g_.values[name] = ValueInfo{t.shape(), t.dtype()};
    return name;
}

std::string Builder::scalar(float v) {
    const std::string name = format("#scalar/%g", v);
    if (!g_.initializers.count(name)) add_initializer(Tensor::from_floats({}, std::vector<float>{v}), name);
    return name;
}

std::string Builder::i64_list(const std::vector<int64_t>& v, const std::string& hint) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
    return add_initializer(t, hint);
}

void Builder::add_node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                       std::map<std::string, Attribute> attrs, const std::string& suffix) {
    Node n;
    n.op_type = op_type;
    n.name = format("%s_%d", op_name_.c_str(), op_index_) + (suffix.empty() ? "" : "/" + suffix);
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attributes = std::move(attrs);
    g_.nodes.push_back(std::move(n));
}

std::string Builder::define(int t, bool nchw_layout) {
    TensorSlot& s = slot(t);
    if (s.has_plain || s.has_nchw || s.constant.defined()) {
        throw error("writes tensor '" + s.name + "', which is already a graph input, a constant or another operator's output");
    }
    if (nchw_layout && s.shape.size() != 4) {
        throw error("output tensor '" + s.name + "' declares shape " + shape_to_string(s.shape) + ", a 4-D NHWC tensor expected");
    }
    (nchw_layout ? s.has_nchw : s.has_plain) = true;
    return nchw_layout ? s.name + "#nchw" : s.name;
}

void Builder::define_constant(int t, Tensor value) {
    TensorSlot& s = slot(t);
    if (s.has_plain || s.has_nchw || s.constant.defined()) throw error("writes tensor '" + s.name + "' twice");
    s.constant = std::move(value);
}

std::string Builder::plain(int t) {
    TensorSlot& s = slot(t);
    if (s.has_plain) return s.name;
    if (s.constant.defined()) {
        add_initializer(s.constant, s.name);
        s.has_plain = true;
        return s.name;
    }
    if (!s.has_nchw) throw error("reads tensor '" + s.name + "' before any operator writes it");
    s.has_plain = true;
    add_node("Transpose", {s.name + "#nchw"}, {s.name}, {{"perm", ints_attr(kToNhwc)}}, "to_nhwc/" + s.name);
    return s.name;
}

std::string Builder::nchw(int t) {
    TensorSlot& s = slot(t);
    const std::string name = s.name + "#nchw";
    if (s.has_nchw) return name;
    if (s.shape.size() != 4) {
        throw error("tensor '" + s.name + "' has shape " + shape_to_string(s.shape) + "; a 4-D NHWC tensor is needed here");
    }
    if (s.constant.defined()) {
        add_initializer(permute_tensor(s.constant, kToNchw), name);
    } else {
        const std::string src = plain(t);
        add_node("Transpose", {src}, {name}, {{"perm", ints_attr(kToNchw)}}, "to_nchw/" + s.name);
    }
    s.has_nchw = true;
    return name;
}

std::string Builder::nchw_operand(int t) {
    const Tensor* c = constant(t);
    if (!c || rank(t) == 4) return nchw(t);
    if (rank(t) > 4) throw error("constant '" + slot(t).name + "' has more dims than the 4-D tensor it meets");
    Shape four(4 - static_cast<size_t>(rank(t)), 1);
    four.insert(four.end(), c->shape().begin(), c->shape().end());
    return add_initializer(permute_tensor(c->contiguous().reshape(four), kToNchw), slot(t).name + "#nchw");
}

std::string Builder::permuted(int t, const std::vector<int64_t>& perm, const std::string& suffix) {
    TensorSlot& s = slot(t);
    if (static_cast<size_t>(rank(t)) != perm.size()) {
        throw error(format("weight '%s' has shape %s, %zu dims expected", s.name.c_str(), shape_to_string(s.shape).c_str(),
                           perm.size()));
    }
    const std::string name = s.name + "#" + suffix;
    if (g_.values.count(name)) return name;
    if (s.constant.defined()) return add_initializer(permute_tensor(s.constant, perm), name);
    add_node("Transpose", {plain(t)}, {name}, {{"perm", ints_attr(perm)}}, suffix + "/" + s.name);
    return name;
}

void Builder::emit(const std::string& op_type, std::vector<std::string> inputs, int t, bool nchw_layout,
                   fb::ActivationFunctionType act, std::map<std::string, Attribute> attrs) {
    const std::string out = define(t, nchw_layout);
    if (act == fb::ActivationFunctionType::NONE) {
        add_node(op_type, std::move(inputs), {out}, std::move(attrs));
        return;
    }
    const std::string pre = out + "#pre_activation";
    add_node(op_type, std::move(inputs), {pre}, std::move(attrs));
    switch (act) {
        case fb::ActivationFunctionType::RELU: add_node("Relu", {pre}, {out}, {}, "relu"); break;
        case fb::ActivationFunctionType::RELU6: add_node("Clip", {pre, scalar(0), scalar(6)}, {out}, {}, "relu6"); break;
        case fb::ActivationFunctionType::RELU_N1_TO_1:
            add_node("Clip", {pre, scalar(-1), scalar(1)}, {out}, {}, "relu_n1_to_1");
            break;
        case fb::ActivationFunctionType::TANH: add_node("Tanh", {pre}, {out}, {}, "tanh"); break;
        default: throw error(format("fused activation %d is not supported by tern", static_cast<int>(act)));
    }
}

}  // namespace tern::graph::tflite_detail
