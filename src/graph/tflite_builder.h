#pragma once
// Internal to the TFLite importer (tflite_import.cpp reads and checks the
// file, tflite_ops.cpp maps each operator): the state that turns TFLite
// tensors and operators into graph values and nodes.
//
// Layout: TFLite activations are NHWC, tern's IR ops follow ONNX (NCHW).
// Each TFLite tensor may be held in the IR under two names: its own layout
// (the tensor's name) and, for 4-D tensors, NCHW ("<name>#nchw"). Layout-bound
// ops (Conv, pools) read and write NCHW; layout-free ops (elementwise, Pad,
// Concat) follow their inputs, remapping axes; ops that index the NHWC order
// (Reshape, Transpose, Softmax, FullyConnected) read TFLite's layout. A
// Transpose is inserted only where a value is read in the other layout, so a
// conv chain runs with one Transpose at the input and one per output, and
// constant weights are permuted once at import (OHWI -> OIHW, depthwise
// 1HWC -> C1HW with group = C). Graph inputs and outputs keep TFLite's layout,
// so a model is fed and read exactly as TFLite feeds and reads it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/tflite_schema_generated.h"

namespace tern::graph::tflite_detail {

namespace fb = ::tern::tflite_fb;

struct TensorSlot {
    std::string name;  // unique IR name of the tensor in TFLite's layout
    Shape shape;       // as declared (NHWC for 4-D activations)
    fb::TensorType type = fb::TensorType::FLOAT32;
    Tensor constant;   // defined for tensors with data in the file (and DEQUANTIZE results)
    bool has_plain = false, has_nchw = false;  // IR values defined so far
};

inline const std::vector<int64_t> kToNchw{0, 3, 1, 2};  // NHWC -> NCHW (also OHWI -> OIHW)
inline const std::vector<int64_t> kToNhwc{0, 2, 3, 1};  // NCHW -> NHWC

class Builder {
public:
    Builder(Graph& g, std::vector<TensorSlot> tensors, std::string where)
        : g_(g), tensors_(std::move(tensors)), where_(std::move(where)) {}

    // The operator being mapped (names its nodes and errors).
    void begin_operator(int index, const std::string& op_name, const fb::Operator* op);  // index -1: no operator
    InputError error(const std::string& what) const;

    // Operator input i as a tensor index; -1 when omitted (and `optional`), error when missing or out of range.
    int input(size_t i, bool optional = false) const;
    int output(size_t i) const;
    size_t input_count() const;
    const fb::Operator& op() const { return *op_; }

    TensorSlot& slot(int t) { return tensors_[static_cast<size_t>(t)]; }
    size_t tensor_count() const { return tensors_.size(); }
    const Shape& shape(int t) const { return tensors_[static_cast<size_t>(t)].shape; }
    int64_t rank(int t) const { return static_cast<int64_t>(shape(t).size()); }
    const Tensor* constant(int t) const;
    // Values of a constant int tensor; error naming `what` when not constant.
    std::vector<int64_t> constant_ints(int t, const char* what) const;
    // True when tensor t is already held in NCHW (so NCHW consumers need no Transpose).
    bool held_nchw(int t) const { return tensors_[static_cast<size_t>(t)].has_nchw; }

    // IR name of tensor t in TFLite's layout / in NCHW (4-D), adding the
    // initializer or Transpose that makes it on first use.
    std::string plain(int t);
    std::string nchw(int t);
    // A constant of rank <= 4 that broadcasts against NHWC, as one that broadcasts against NCHW.
    std::string nchw_operand(int t);
    // Weights permuted by `perm` (a constant is permuted now, else a Transpose node).
    std::string permuted(int t, const std::vector<int64_t>& perm, const std::string& suffix);

    std::string add_initializer(const Tensor& t, const std::string& hint);
    std::string scalar(float v);
    std::string i64_list(const std::vector<int64_t>& v, const std::string& hint);
    void add_node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                  std::map<std::string, Attribute> attrs = {}, const std::string& suffix = "");
    // The main node of the operator writing tensor t (in NCHW when `nchw`), then its fused activation.
    void emit(const std::string& op_type, std::vector<std::string> inputs, int t, bool nchw, fb::ActivationFunctionType act,
              std::map<std::string, Attribute> attrs = {});
    // Tensor t becomes a constant (DEQUANTIZE of constant data is folded at import).
    void define_constant(int t, Tensor value);

private:
    std::string define(int t, bool nchw);

    Graph& g_;
    std::vector<TensorSlot> tensors_;
    std::string where_;
    const fb::Operator* op_ = nullptr;
    int op_index_ = -1;
    std::string op_name_;
    int fresh_ = 0;
};

// tensor `t` (plain dtype) with its dims permuted: out.dim(i) = t.dim(perm[i]).
Tensor permute_tensor(const Tensor& t, const std::vector<int64_t>& perm);

// Maps one operator (builtin `code`) onto IR nodes; error for an op tern does not run.
void map_operator(Builder& b, int32_t code);
// "CONV_2D" for a builtin code, "BUILTIN_<n>" past the names tern knows.
std::string builtin_op_name(int32_t code);

}  // namespace tern::graph::tflite_detail
